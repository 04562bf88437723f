// SPDX-License-Identifier: GPL-2.0
/*
 * The guest agent: /init of the rig's initramfs.
 *
 * It mounts the pseudo filesystems, opens its own virtio-serial port (named
 * "rig.agent", never the kernel console), says READY and then executes one
 * command per line, answering each with exactly one line that starts with
 * "OK" or "ERR <errno name>".  The protocol is described in docs/agent.md.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define fallthrough	__attribute__((__fallthrough__))

#define PORT_NAME	"rig.agent"
#define MEMDIR		"/sys/devices/system/memory"
#define LINE_MAX_LEN	4096
#define REPLY_MAX_LEN	65536

#define MAX_LOOPS	8
#define MAX_SAMPLES	8192	/* write latencies kept per loop */
#define LOOP_ERRNOS	4	/* distinct errnos counted per loop */

/*
 * Background write loops (CPU hotplug, lru_gen toggling, ...) run in child
 * processes; their counters live in memory shared with the agent.
 */
struct loop {
	char id[32];
	pid_t pid;
	volatile int stop;
	volatile long iterations;	/* cycles in which every write succeeded */
	volatile long failed;		/* cycles with at least one failed write */
	volatile long writes;
	volatile long errors;		/* failed writes */
	volatile int last_errno;
	/*
	 * The failed writes by errno, so that a scenario can name the
	 * failures it allows; other_errors counts those of a fifth errno.
	 */
	volatile int err_no[LOOP_ERRNOS];
	volatile long err_count[LOOP_ERRNOS];
	volatile long other_errors;
	/*
	 * How long each of the first MAX_SAMPLES writes took, and which
	 * value it wrote (its index among V1, V2, ...): what a bench reads.
	 */
	volatile long nsamples;
	unsigned int sample_us[MAX_SAMPLES];
	unsigned char sample_value[MAX_SAMPLES];
};

static struct loop *loops;
static FILE *port;
static char reply[REPLY_MAX_LEN];
static size_t reply_len;

static void add(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (reply_len >= sizeof(reply))
		return;
	va_start(ap, fmt);
	n = vsnprintf(reply + reply_len, sizeof(reply) - reply_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		reply_len += n;
}

static void send_reply(void)
{
	if (reply_len >= sizeof(reply))
		reply_len = sizeof(reply) - 1;
	reply[reply_len] = '\0';
	fprintf(port, "%s\n", reply);
	fflush(port);
	reply_len = 0;
}

static int fail(int err, const char *what)
{
	reply_len = 0;
	add("ERR %s %s", strerrorname_np(err) ?: "EUNKNOWN", what);
	return -1;
}

/*
 * Decode \n, \t, \0, \s (space), \\ and \xHH so that any byte sequence
 * can be written, and \{N}: the byte before, N times in all (overlong input).
 */
static size_t unescape(const char *in, char *out, size_t max)
{
	size_t n = 0;

	while (*in && n < max) {
		if (*in != '\\' || !in[1]) {
			out[n++] = *in++;
			continue;
		}
		in++;
		switch (*in) {
		case 'n':
			out[n++] = '\n';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case '0':
			out[n++] = '\0';
			break;
		case 's':
			out[n++] = ' ';
			break;
		case '{':
			if (n && isdigit(in[1])) {
				char *end;
				long k = strtol(in + 1, &end, 10);

				if (*end == '}') {
					for (; k > 1 && n < max; k--, n++)
						out[n] = out[n - 1];
					in = end;
					break;
				}
			}
			out[n++] = *in;
			break;
		case 'x':
			if (isxdigit(in[1]) && isxdigit(in[2])) {
				char hex[3] = { in[1], in[2], 0 };

				out[n++] = (char)strtol(hex, NULL, 16);
				in += 2;
				break;
			}
			fallthrough;
		default:
			out[n++] = *in;
		}
		in++;
	}
	return n;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

static int write_file(const char *path, const char *buf, size_t len)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/*
 * failnth N PATH VALUE: one write(2) of VALUE to PATH during which the
 * N-th fault injection site this task reaches fails (the kernel's
 * /proc/thread-self/fail-nth, armed after the open, read back and
 * disarmed before the close).  "left=" is what remained of N: 0 when the
 * fault was injected, more when the write was done before the N-th site.
 * With "task", the write also runs with this thread's make-it-fail set, so
 * that fault attributes with a task filter (set up by the scenario) apply
 * to it too: after the N-th site, they can fail a second one.
 */
static int cmd_failnth(char **argv, int argc)
{
	static char buf[LINE_MAX_LEN];
	char nth[16], left[16] = "";
	int fd, ctl, mif = -1, err = 0, werr;
	size_t len;
	ssize_t n;

	if ((argc != 4 && argc != 5) || atoi(argv[1]) < 1 ||
	    (argc == 5 && strcmp(argv[4], "task")))
		return fail(EINVAL, "usage: failnth N PATH VALUE [task]");
	len = unescape(argv[3], buf, sizeof(buf));
	if (argc == 5) {
		mif = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
		if (mif < 0)
			return fail(errno, "/proc/thread-self/make-it-fail");
	}
	ctl = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		err = errno;
		if (mif >= 0)
			close(mif);
		return fail(err, "/proc/thread-self/fail-nth");
	}
	fd = open(argv[2], O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		close(ctl);
		if (mif >= 0)
			close(mif);
		return fail(err, argv[2]);
	}
	snprintf(nth, sizeof(nth), "%d", atoi(argv[1]));
	if (write(ctl, nth, strlen(nth)) < 0)
		err = errno;
	if (!err && mif >= 0 && pwrite(mif, "1", 1, 0) < 0)
		err = errno;
	n = err ? 0 : write(fd, buf, len);
	werr = n < 0 ? errno : (size_t)n != len ? EIO : 0;
	if (!err && pread(ctl, left, sizeof(left) - 1, 0) <= 0)
		err = errno ? errno : EIO;
	if (write(ctl, "0", 1) < 0 && !err)
		err = errno;
	if (mif >= 0) {
		if (pwrite(mif, "0", 1, 0) < 0 && !err)
			err = errno;
		close(mif);
	}
	close(fd);
	close(ctl);
	if (err)
		return fail(err, argc == 5 ? "fail-nth or make-it-fail" :
			    "/proc/thread-self/fail-nth");
	chomp(left);
	if (werr) {
		reply_len = 0;
		add("ERR %s %s left=%s", strerrorname_np(werr) ?: "EUNKNOWN", argv[2], left);
		return -1;
	}
	add("OK left=%s", left);
	return 0;
}

/* write PATH VALUE: one write(2) of the unescaped VALUE; errno reported. */
static int cmd_write(char **argv, int argc)
{
	static char buf[4 * LINE_MAX_LEN];
	size_t len = 0;
	int err;

	if (argc < 2 || argc > 3)
		return fail(EINVAL, "usage: write PATH [VALUE]");
	if (argc == 3)
		len = unescape(argv[2], buf, sizeof(buf));
	err = write_file(argv[1], buf, len);
	if (err)
		return fail(-err, argv[1]);
	add("OK");
	return 0;
}

/*
 * bgwrite PATH VALUE [DELAY_MS]: the write happens in a child process, so
 * that a write that crashes or blocks its task (provoked reports) leaves
 * the agent alive; with a delay, the child waits that long first, so the
 * write can land in the middle of what the host does next.
 */
static int cmd_bgwrite(char **argv, int argc)
{
	static char buf[LINE_MAX_LEN];
	long delay = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
	size_t len;
	pid_t pid;

	if ((argc != 3 && argc != 4) || delay < 0)
		return fail(EINVAL, "usage: bgwrite PATH VALUE [DELAY_MS]");
	len = unescape(argv[2], buf, sizeof(buf));
	pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (!pid) {
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000 };

		while (delay && nanosleep(&ts, &ts) && errno == EINTR)
			;
		_exit(write_file(argv[1], buf, len) ? 1 : 0);
	}
	add("OK pid=%d", pid);
	return 0;
}

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static struct loop *find_loop(const char *id)
{
	int i;

	for (i = 0; i < MAX_LOOPS; i++)
		if (loops[i].pid && !strcmp(loops[i].id, id))
			return &loops[i];
	return NULL;
}

/* A failed write of a loop, counted under its errno. */
static void count_errno(struct loop *l, int err)
{
	int i;

	l->errors++;
	l->last_errno = err;
	for (i = 0; i < LOOP_ERRNOS; i++) {
		if (!l->err_no[i])
			l->err_no[i] = err;
		if (l->err_no[i] == err) {
			l->err_count[i]++;
			return;
		}
	}
	l->other_errors++;
}

/*
 * loop [for=SECONDS] ID PATH V1 [V2 ...]: a child writes V1, V2, ... to
 * PATH over and over until "stop ID", or for SECONDS, starting half a
 * second after this reply (the loop may suspend the system, which resets
 * the channel the reply goes out on).  A cycle counts only if all of its
 * writes succeeded; failed writes and cycles are counted apart, and the
 * host judges them.
 */
static int cmd_loop(char **argv, int argc)
{
	static char buf[LINE_MAX_LEN];
	struct loop *l = NULL;
	long until = 0, secs;
	size_t len;
	pid_t pid;
	int i;

	if (argc > 1 && !strncmp(argv[1], "for=", 4)) {
		char *end;

		secs = strtol(argv[1] + 4, &end, 10);
		if (end == argv[1] + 4 || *end || secs < 1 || secs > 3600)
			return fail(EINVAL, "loop: for=SECONDS, 1 to 3600");
		until = now_us() + 500000 + secs * 1000000;
		argv++;
		argc--;
	}
	if (argc < 4)
		return fail(EINVAL, "usage: loop [for=SECONDS] ID PATH V1 [V2 ...]");
	if (find_loop(argv[1]))
		return fail(EEXIST, argv[1]);
	for (i = 0; i < MAX_LOOPS && !l; i++)
		if (!loops[i].pid)
			l = &loops[i];
	if (!l)
		return fail(ENOSPC, "too many loops");
	memset(l, 0, sizeof(*l));
	snprintf(l->id, sizeof(l->id), "%s", argv[1]);
	pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (pid) {
		l->pid = pid;	/* only the parent writes it: the map is shared */
		add("OK pid=%d", pid);
		return 0;
	}
	if (until)
		usleep(500000);
	while (!l->stop && (!until || now_us() < until)) {
		bool cycle_ok = true;

		for (i = 3; i < argc && !l->stop; i++) {
			long took, n = l->nsamples;
			int err;

			len = unescape(argv[i], buf, sizeof(buf));
			took = now_us();
			err = write_file(argv[2], buf, len);
			took = now_us() - took;
			if (n < MAX_SAMPLES) {
				l->sample_us[n] = took > UINT_MAX ? UINT_MAX : took;
				l->sample_value[n] = i - 3;
				l->nsamples = n + 1;
			}
			l->writes++;
			if (err) {
				count_errno(l, -err);
				cycle_ok = false;
			}
		}
		if (i < argc)
			break;		/* stopped in the middle: not a cycle */
		if (cycle_ok)
			l->iterations++;
		else
			l->failed++;
	}
	_exit(0);
}

/* An errno's name, or "E524" for one the C library has no name for. */
static const char *errno_name(int err, char *buf, size_t len)
{
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, len, "E%d", err);
	return buf;
}

/*
 * The failed writes of each errno, "EIO:2,ETIMEDOUT:1" ("none" without any;
 * "other:N" for errnos past the first LOOP_ERRNOS).
 */
static const char *loop_errnos(struct loop *l, char *buf, size_t len)
{
	size_t used = 0;
	char name[16];
	int i;

	buf[0] = 0;
	for (i = 0; i < LOOP_ERRNOS && l->err_no[i] && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s:%ld", used ? "," : "",
				 errno_name(l->err_no[i], name, sizeof(name)), l->err_count[i]);
	if (l->other_errors && used < len)
		snprintf(buf + used, len - used, "%sother:%ld", used ? "," : "", l->other_errors);
	return buf[0] ? buf : "none";
}

/*
 * stop ID [samples]: end a loop after its current write; report its
 * counters.  With "samples", each kept write latency comes first as a line
 * "| VALUE-INDEX MICROSECONDS" (VALUE-INDEX 0 for V1, 1 for V2, ...).
 */
static int cmd_stop(char **argv, int argc)
{
	char errnos[128], name[16];
	struct loop *l;
	int i;

	if (argc != 2 && (argc != 3 || strcmp(argv[2], "samples")))
		return fail(EINVAL, "usage: stop ID [samples]");
	l = find_loop(argv[1]);
	if (!l)
		return fail(ENOENT, argv[1]);
	/* a loop stopped before its first cycle was tried would prove nothing */
	for (i = 0; i < 500 && l->iterations + l->failed == 0; i++)
		usleep(10000);
	l->stop = 1;
	waitpid(l->pid, NULL, 0);
	if (argc == 3) {
		for (i = 0; i < l->nsamples; i++)
			fprintf(port, "| %u %u\n", l->sample_value[i], l->sample_us[i]);
		fflush(port);
	}
	add("OK iterations=%ld failed=%ld writes=%ld errors=%ld last_error=%s errnos=%s %s=%ld",
	    l->iterations, l->failed, l->writes, l->errors,
	    l->last_errno ? errno_name(l->last_errno, name, sizeof(name)) : "none",
	    loop_errnos(l, errnos, sizeof(errnos)), "samples", l->nsamples);
	l->pid = 0;
	return 0;
}

/*
 * run [NAME=VALUE ...] PATH [ARG ...]: run a program (a kselftest) to its
 * end.  Each line it prints (stdout and stderr) is sent at once as
 * "| LINE"; the reply is "OK exit=N" or "OK signal=N".
 */
static int cmd_run(char **argv, int argc)
{
	char line[LINE_MAX_LEN];
	bool at_start = true;
	int pfd[2], i, status;
	FILE *out;
	pid_t pid;

	for (i = 1; i < argc && strchr(argv[i], '=') && argv[i][0] != '/'; i++)
		;
	if (i == argc)
		return fail(EINVAL, "usage: run [NAME=VALUE ...] PATH [ARG ...]");
	if (access(argv[i], X_OK))
		return fail(errno, argv[i]);
	if (pipe2(pfd, O_CLOEXEC))
		return fail(errno, "pipe");
	pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (!pid) {
		int j;

		for (j = 1; j < i; j++)
			putenv(argv[j]);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (chdir("/tmp"))
			_exit(126);
		execv(argv[i], argv + i);
		_exit(127);
	}
	close(pfd[1]);
	out = fdopen(pfd[0], "r");
	while (out && fgets(line, sizeof(line), out)) {
		/* a line longer than the buffer goes out in pieces: one prefix */
		bool whole = strchr(line, '\n');

		chomp(line);
		fprintf(port, "%s%s%s", at_start ? "| " : "", line, whole ? "\n" : "");
		fflush(port);
		at_start = whole;
	}
	if (!at_start)
		fputc('\n', port);
	if (out)
		fclose(out);
	else
		close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return fail(errno, "waitpid");
	if (WIFSIGNALED(status))
		add("OK signal=%d", WTERMSIG(status));
	else
		add("OK exit=%d", WEXITSTATUS(status));
	return 0;
}

#define MAX_HOLDS	4

static struct hold {
	char id[32];
	pid_t pid;
} holds[MAX_HOLDS];

/* The child of "hold": keeps SIZE bytes of anon memory or of pipe buffers. */
static void hold_child(const char *kind, unsigned long size, int ready)
{
	unsigned long done = 0;
	char *buf;

	if (!strcmp(kind, "anon")) {
		buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED)
			_exit(1);
		memset(buf, 0x5a, size);
		done = size;
	} else {
		static char page[65536];
		int p[2];

		memset(page, 0xa5, sizeof(page));
		while (done < size && !pipe(p)) {
			int cap = fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
			ssize_t n;

			fcntl(p[1], F_SETFL, O_NONBLOCK);
			while (cap > 0 && (n = write(p[1], page, sizeof(page))) > 0)
				done += n;
			if (cap <= 0)
				_exit(1);
		}
	}
	if (write(ready, &done, sizeof(done)) != sizeof(done))
		_exit(1);
	for (;;)
		pause();
}

/*
 * hold ID anon|pipe SIZE: a child process keeps SIZE bytes of memory, as
 * anonymous (movable) pages or as pipe buffers (unmovable kernel pages),
 * until "release ID".
 */
static int cmd_hold(char **argv, int argc)
{
	struct hold *h = NULL;
	unsigned long size, done = 0;
	int p[2], i;
	pid_t pid;

	if (argc != 4 || (strcmp(argv[2], "anon") && strcmp(argv[2], "pipe")))
		return fail(EINVAL, "usage: hold ID anon|pipe SIZE");
	size = strtoul(argv[3], NULL, 0);
	for (i = 0; i < MAX_HOLDS; i++) {
		if (holds[i].pid && !strcmp(holds[i].id, argv[1]))
			return fail(EEXIST, argv[1]);
		if (!holds[i].pid && !h)
			h = &holds[i];
	}
	if (!h)
		return fail(ENOSPC, "too many holds");
	if (pipe2(p, O_CLOEXEC))
		return fail(errno, "pipe");
	pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (!pid)
		hold_child(argv[2], size, p[1]);
	close(p[1]);
	if (read(p[0], &done, sizeof(done)) != sizeof(done)) {
		close(p[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return fail(ENOMEM, "the holding process died");
	}
	close(p[0]);
	snprintf(h->id, sizeof(h->id), "%s", argv[1]);
	h->pid = pid;
	add("OK pid=%d bytes=%lu", pid, done);
	return 0;
}

/* release ID: the holding process ends and its memory is freed. */
static int cmd_release(char **argv, int argc)
{
	int i;

	if (argc != 2)
		return fail(EINVAL, "usage: release ID");
	for (i = 0; i < MAX_HOLDS; i++) {
		if (holds[i].pid && !strcmp(holds[i].id, argv[1])) {
			int status;
			pid_t gone = waitpid(holds[i].pid, &status, WNOHANG);

			/* held to the end, or the memory was given up (OOM kill) */
			if (!gone)
				kill(holds[i].pid, SIGKILL);
			if (!gone)
				waitpid(holds[i].pid, NULL, 0);
			holds[i].pid = 0;
			if (gone)
				return fail(ESRCH, WIFSIGNALED(status) ?
					    "the holding process was killed before release (OOM?)" :
					    "the holding process exited before release");
			add("OK");
			return 0;
		}
	}
	return fail(ENOENT, argv[1]);
}

/* read PATH: the file's first line. */
static int cmd_read(char **argv, int argc)
{
	static char buf[LINE_MAX_LEN];
	ssize_t n;

	if (argc != 2)
		return fail(EINVAL, "usage: read PATH");
	n = read_file(argv[1], buf, sizeof(buf));
	if (n < 0)
		return fail(-n, argv[1]);
	buf[strcspn(buf, "\n")] = '\0';
	add("OK %s", buf);
	return 0;
}

static long block_size(void)
{
	char buf[64];

	if (read_file(MEMDIR "/block_size_bytes", buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 16);
}

static int block_state(long id, char *state, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), MEMDIR "/memory%ld/state", id);
	n = read_file(path, state, size);
	if (n < 0)
		return n;
	chomp(state);
	return 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* blocks: "OK bs=BYTES ID:STATE ..." for every memory block, by id. */
static int cmd_blocks(char **argv, int argc)
{
	static long ids[65536];
	struct dirent *de;
	char state[32];
	size_t n = 0, i;
	DIR *dir;

	/*
	 * "blocks present" lists the blocks without opening their state
	 * files: the host polls it while blocks are being removed, and an
	 * open attribute file makes the removal drain it under
	 * mem_hotplug_lock, which lockdep reports against the sysfs online
	 * path (kn->active -> mem_hotplug_lock, which device_hotplug_lock's
	 * trylock in the store makes harmless, but lockdep turns off).
	 */
	bool present_only = argc == 2 && !strcmp(argv[1], "present");

	if (argc != 1 && !present_only)
		return fail(EINVAL, "usage: blocks [present]");
	dir = opendir(MEMDIR);
	if (!dir)
		return fail(errno, MEMDIR);
	while ((de = readdir(dir)) && n < ARRAY_SIZE(ids)) {
		if (!strncmp(de->d_name, "memory", 6) && isdigit(de->d_name[6]))
			ids[n++] = strtol(de->d_name + 6, NULL, 10);
	}
	closedir(dir);
	qsort(ids, n, sizeof(ids[0]), cmp_long);
	add("OK bs=%ld", block_size());
	for (i = 0; i < n; i++) {
		if (present_only)
			snprintf(state, sizeof(state), "present");
		else if (block_state(ids[i], state, sizeof(state)))
			snprintf(state, sizeof(state), "gone");
		add(" %ld:%s", ids[i], state);
	}
	return 0;
}

/* meminfo: MemTotal and MemFree in kB. */
static int cmd_meminfo(char **argv, int argc)
{
	long total = -1, free_kb = -1;
	char line[256];
	FILE *f;

	(void)argv;
	(void)argc;
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return fail(errno, "/proc/meminfo");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %ld kB", &total) == 1)
			continue;
		if (sscanf(line, "MemFree: %ld kB", &free_kb) == 1)
			continue;
	}
	fclose(f);
	add("OK memtotal_kb=%ld memfree_kb=%ld", total, free_kb);
	return 0;
}

/*
 * set FIRST COUNT STATE: write STATE to memoryN/state for each existing
 * block FIRST..FIRST+COUNT-1 that is not already in it; reports how many
 * changed.  The first failure stops and names the block.
 */
static int cmd_set(char **argv, int argc)
{
	long first, count, id, changed = 0, present = 0;
	char path[PATH_MAX], state[32], what[64];
	const char *want;
	int err;

	if (argc != 4)
		return fail(EINVAL, "usage: set FIRST COUNT STATE");
	first = strtol(argv[1], NULL, 0);
	count = strtol(argv[2], NULL, 0);
	want = argv[3];
	for (id = first; id < first + count; id++) {
		if (block_state(id, state, sizeof(state)))
			continue;
		present++;
		if (!strcmp(state, "online") == !!strcmp(want, "offline"))
			continue;
		snprintf(path, sizeof(path), MEMDIR "/memory%ld/state", id);
		err = write_file(path, want, strlen(want));
		if (err) {
			snprintf(what, sizeof(what), "memory%ld %s", id, want);
			return fail(-err, what);
		}
		changed++;
	}
	add("OK changed=%ld present=%ld", changed, present);
	return 0;
}

static void log_kmsg(const char *msg)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, msg, strlen(msg)) < 0)
			perror("/dev/kmsg");
		close(fd);
	}
}

/* mark TEXT: write a marker into the kernel log, to correlate the console. */
static int cmd_mark(char **argv, int argc)
{
	char buf[LINE_MAX_LEN];
	int i;

	buf[0] = '\0';
	strcat(buf, "rig: ");
	for (i = 1; i < argc; i++) {
		strncat(buf, argv[i], sizeof(buf) - strlen(buf) - 2);
		strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
	}
	log_kmsg(buf);
	add("OK");
	return 0;
}

/* lockdep: whether the lock validator is still on. */
static int cmd_lockdep(char **argv, int argc)
{
	static char buf[8192];
	char *p;

	(void)argv;
	(void)argc;
	if (read_file("/proc/lockdep_stats", buf, sizeof(buf)) < 0)
		return fail(ENOENT, "/proc/lockdep_stats (no lockdep in this kernel)");
	p = strstr(buf, "debug_locks:");
	if (!p)
		return fail(ENODATA, "no debug_locks in /proc/lockdep_stats");
	add("OK debug_locks=%ld", strtol(p + strlen("debug_locks:"), NULL, 10));
	return 0;
}

/* Before a poweroff the host cannot ask for: lockdep's state, on the console. */
static void log_lockdep(void)
{
	char buf[8192], msg[64];
	char *p = NULL;

	if (read_file("/proc/lockdep_stats", buf, sizeof(buf)) >= 0)
		p = strstr(buf, "debug_locks:");
	snprintf(msg, sizeof(msg), "rig: powering off: debug_locks=%ld\n",
		 p ? strtol(p + strlen("debug_locks:"), NULL, 10) : -1L);
	log_kmsg(msg);
}

/* busybox poweroff, halt and reboot signal init: the guest powers off */
static void on_poweroff_signal(int sig)
{
	(void)sig;
	log_lockdep();
	sync();
	reboot(RB_POWER_OFF);
}

/*
 * shell TTY: an interactive busybox shell on the console device TTY (its
 * controlling terminal), next to the agent, which goes on serving the
 * channel.  When the shell ends (exit, Ctrl-D) the guest powers off.
 */
static int cmd_shell(char **argv, int argc)
{
	char dev[64];
	pid_t pid;
	int fd;

	if (argc != 2 || strchr(argv[1], '/'))
		return fail(EINVAL, "usage: shell TTY (ttyS0, hvc0)");
	snprintf(dev, sizeof(dev), "/dev/%s", argv[1]);
	if (access(dev, R_OK | W_OK))
		return fail(errno, dev);
	if (access("/bin/busybox", X_OK))
		return fail(errno, "/bin/busybox");
	pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (pid) {
		add("OK pid=%d", pid);
		return 0;
	}
	/* the watcher: a session of its own, the shell as its child */
	setsid();
	fd = open(dev, O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 1))
		_exit(1);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	if (fork() == 0) {
		pid = fork();
		if (pid == 0)
			execl("/bin/busybox", "busybox", "--install", "-s", "/bin", (char *)NULL);
		waitpid(pid, NULL, 0);
		setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
		setenv("HOME", "/", 1);
		setenv("PS1", "guest# ", 1);
		setenv("TERM", "vt100", 1);
		execl("/bin/busybox", "sh", (char *)NULL);
		_exit(127);
	}
	wait(NULL);
	printf("\r\nrig: the shell ended: powering off\r\n");
	fflush(stdout);
	log_lockdep();
	sync();
	reboot(RB_POWER_OFF);
	_exit(0);
}

static int cmd_poweroff(char **argv, int argc)
{
	(void)argv;
	(void)argc;
	add("OK");
	send_reply();
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}

static const struct command {
	const char *name;
	int (*fn)(char **argv, int argc);
} commands[] = {
	{ "bgwrite", cmd_bgwrite },
	{ "blocks", cmd_blocks },
	{ "failnth", cmd_failnth },
	{ "hold", cmd_hold },
	{ "lockdep", cmd_lockdep },
	{ "loop", cmd_loop },
	{ "mark", cmd_mark },
	{ "meminfo", cmd_meminfo },
	{ "poweroff", cmd_poweroff },
	{ "read", cmd_read },
	{ "release", cmd_release },
	{ "run", cmd_run },
	{ "set", cmd_set },
	{ "shell", cmd_shell },
	{ "stop", cmd_stop },
	{ "write", cmd_write },
};

static void dispatch(char *line)
{
	char *argv[32], *save = NULL, *tok;
	int argc = 0;
	size_t i;

	for (tok = strtok_r(line, " ", &save); tok && argc < 31;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (!argc) {
		fail(EINVAL, "empty command");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(commands[i].name, argv[0])) {
			commands[i].fn(argv, argc);
			return;
		}
	}
	fail(EOPNOTSUPP, argv[0]);
}

static FILE *open_port(void)
{
	char path[PATH_MAX], name[64], dev[PATH_MAX];
	struct dirent *de;
	int tries, fd;
	DIR *dir;

	for (tries = 0; tries < 300; tries++) {
		dir = opendir("/sys/class/virtio-ports");
		while (dir && (de = readdir(dir))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path),
				 "/sys/class/virtio-ports/%s/name", de->d_name);
			if (read_file(path, name, sizeof(name)) < 0)
				continue;
			chomp(name);
			if (strcmp(name, PORT_NAME))
				continue;
			snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
			closedir(dir);
			fd = open(dev, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				break;
			return fdopen(fd, "r+");
		}
		if (dir)
			closedir(dir);
		usleep(100000);
	}
	return NULL;
}

/* The port after a read error; false when open_port() finds none. */
static bool reopen_port(void)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "rig: agent: channel read failed (%s), reopening\n",
		 ferror(port) ? strerror(errno) : "end of file");
	log_kmsg(msg);
	fclose(port);
	port = open_port();
	if (!port) {
		log_kmsg("rig: agent: channel lost for good\n");
		return false;
	}
	log_kmsg("rig: agent: channel reopened\n");
	/*
	 * A command the host sent while the port was closed is lost: say
	 * so, and the host sends it again.
	 */
	fprintf(port, "RECONNECTED\n");
	fflush(port);
	return true;
}

static void setup(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	/* kprobe events: the host counts calls of tests/callers.tbl */
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

int main(void)
{
	char line[LINE_MAX_LEN];
	struct utsname uts;
	int eofs = 0;

	setup();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_poweroff_signal);	/* busybox halt */
	signal(SIGUSR2, on_poweroff_signal);	/* busybox poweroff */
	signal(SIGTERM, on_poweroff_signal);	/* busybox reboot */
	loops = mmap(NULL, MAX_LOOPS * sizeof(*loops), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (loops == MAP_FAILED) {
		log_kmsg("rig: agent: cannot map loop counters\n");
		reboot(RB_POWER_OFF);
	}
	port = open_port();
	if (!port) {
		log_kmsg("rig: agent: no virtio port named " PORT_NAME "\n");
		reboot(RB_POWER_OFF);
		return 1;
	}
	uname(&uts);
	log_kmsg("rig: agent ready\n");
	fprintf(port, "READY %s %s bs=%ld\n", uts.release, uts.machine,
		block_size());
	fflush(port);
	for (;;) {
		if (!fgets(line, sizeof(line), port)) {
			/*
			 * Neither is the host going away: a system suspend
			 * cycle resets the virtio device, reads fail until it
			 * is restored, and then read nothing until the host
			 * side says it is connected again, which an open of the
			 * port makes it say.  Reopen after an error, and every
			 * second of end-of-file, for up to a minute.
			 */
			if (!ferror(port) && ++eofs > 60)
				break;
			if (ferror(port) || eofs % 10 == 0) {
				if (!reopen_port())
					break;
			} else {
				clearerr(port);
				usleep(100000);
			}
			continue;
		}
		eofs = 0;
		/* reap bgwrite children that have finished */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!strchr(line, '\n') && !feof(port)) {
			/* a command longer than a line: refused whole, not split */
			int c;

			while ((c = fgetc(port)) != EOF && c != '\n')
				;
			fail(E2BIG, "command longer than the agent's line");
			send_reply();
			continue;
		}
		chomp(line);
		dispatch(line);
		send_reply();
	}
	reboot(RB_POWER_OFF);
	return 0;
}
