// SPDX-License-Identifier: GPL-2.0
/*
 * One QEMU instance.  The rig listens on three unix sockets of its own
 * (console, QMP, agent) and QEMU connects to them as a client, so no
 * output is lost before the rig is ready to read.  The QEMU process is
 * stopped on every exit path: normal return, die(), signals (the main
 * loop notices them) and the rig's own death (PR_SET_PDEATHSIG).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rig.h"

static struct vm *live_vm;
static char sockdir[64];

static void kill_live_vm(void)
{
	char path[128];

	if (live_vm && live_vm->pid > 0) {
		kill(live_vm->pid, SIGKILL);
		waitpid(live_vm->pid, NULL, 0);
		live_vm->pid = 0;
	}
	if (sockdir[0]) {
		snprintf(path, sizeof(path), "%s/qmp", sockdir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/agent", sockdir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/console", sockdir);
		unlink(path);
		rmdir(sockdir);
		sockdir[0] = '\0';
	}
}

static int listen_on(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", sockdir, name);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 1))
		die("socket %s: %s", sa.sun_path, strerror(errno));
	return fd;
}

static FILE *open_log(struct vm *vm, const char *name)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", vm->dir, name);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

struct argv {
	int n;
	char *v[96];
};

static void arg(struct argv *a, const char *fmt, ...) __printf(2, 3);

static void arg(struct argv *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n >= (int)ARRAY_SIZE(a->v) - 1)
		die("too many QEMU arguments");
	va_start(ap, fmt);
	if (vasprintf(&a->v[a->n++], fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
	a->v[a->n] = NULL;
}

/* -numa node,nodeid=N[,memdev=...][,cpus=A[,cpus=B-C]] */
static void numa_node(struct argv *a, int id, const struct numa_node *n)
{
	char opt[256], cpus[32], *tok, *save = NULL, size[32];
	size_t len;

	len = snprintf(opt, sizeof(opt), "node,nodeid=%d", id);
	if (n->memory) {
		fmt_size(n->memory, size, sizeof(size));
		arg(a, "-object");
		arg(a, "memory-backend-ram,id=node-mem-%d,size=%s", id, size);
		len += snprintf(opt + len, sizeof(opt) - len, ",memdev=node-mem-%d", id);
	}
	snprintf(cpus, sizeof(cpus), "%s", n->cpus);
	for (tok = strtok_r(cpus, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		len += snprintf(opt + len, sizeof(opt) - len, ",cpus=%s", tok);
	arg(a, "-numa");
	arg(a, "%s", opt);
}

/*
 * Which KUnit suites a boot runs: with the kernel's KUnit, only the one
 * suite the scenario names (kunit.filter_glob), none when it names none
 * (kunit.enable=0), all when it names several.  Every other suite built
 * in stays quiet: KCSAN's own suite, the positive control of the KCSAN
 * rows, races on purpose and would put its reports on every console.
 */
static void kunit_param(const struct boot *b, char *buf, size_t len)
{
	const struct scenario *sc = b->sc;

	buf[0] = '\0';
	if (!kernel_option_set(b->kernel, "CONFIG_KUNIT"))
		return;
	if (!sc->nkunit)
		snprintf(buf, len, "kunit.enable=0 ");
	else if (sc->nkunit == 1)
		snprintf(buf, len, "kunit.filter_glob=%s ", sc->kunit[0]);
}

static void build_argv(struct argv *a, const struct boot *b)
{
	const struct scenario *sc = b->sc;
	const char *accel = getenv("RIG_ACCEL");
	char mem[64], size[32], kunit[200];
	int maxcpus;
	int i;

	arg(a, "%s", b->arch->qemu);
	arg(a, "-M");
	if (sc->machine)
		arg(a, "%s,%s", b->arch->machine, sc->machine);
	else
		arg(a, "%s", b->arch->machine);
	arg(a, "-accel");
	arg(a, "%s", accel && *accel ? accel : b->arch->accel);
	arg(a, "-cpu");
	arg(a, "%s", b->arch->cpu);
	/*
	 * With NUMA, one socket per vCPU: QEMU's default puts them all in
	 * one socket, whose shared cache then spans nodes (x86 warns in
	 * topology_sane() when CPUs of two nodes share an LLC).
	 */
	maxcpus = sc->cpus < 4 ? 4 : sc->cpus;
	arg(a, "-smp");
	if (sc->nnuma)
		arg(a, "%d,maxcpus=%d,sockets=%d,cores=1,threads=1", sc->cpus, maxcpus,
		    maxcpus);
	else
		arg(a, "%d,maxcpus=%d", sc->cpus, maxcpus);
	fmt_size(sc->memory, size, sizeof(size));
	snprintf(mem, sizeof(mem), "%s", size);
	if (sc->maxmem > sc->memory) {
		fmt_size(sc->maxmem, size, sizeof(size));
		arg(a, "-m");
		arg(a, "%s,slots=%d,maxmem=%s", mem, sc->slots ? sc->slots : 1, size);
	} else {
		arg(a, "-m");
		arg(a, "%s", mem);
	}
	arg(a, "-nodefaults");
	arg(a, "-no-user-config");
	arg(a, "-display");
	arg(a, "none");
	arg(a, "-no-reboot");
	arg(a, "-kernel");
	arg(a, "%s", b->kernel);
	arg(a, "-initrd");
	arg(a, "%s", b->initrd);
	kunit_param(b, kunit, sizeof(kunit));
	arg(a, "-append");
	arg(a, "console=%s panic=-1 printk.devkmsg=on %s%s", b->arch->console, kunit,
	    sc->cmdline ? sc->cmdline : "");
	arg(a, "-chardev");
	arg(a, "socket,id=con,path=%s/console", sockdir);
	arg(a, "-serial");
	arg(a, "chardev:con");
	arg(a, "-chardev");
	arg(a, "socket,id=qmp,path=%s/qmp", sockdir);
	arg(a, "-mon");
	arg(a, "chardev=qmp,mode=control");
	arg(a, "-device");
	arg(a, "virtio-serial-pci,id=vser");
	arg(a, "-chardev");
	arg(a, "socket,id=agent,path=%s/agent", sockdir);
	arg(a, "-device");
	arg(a, "virtserialport,bus=vser.0,chardev=agent,name=rig.agent");
	for (i = 0; i < sc->nnuma; i++)
		numa_node(a, i, &sc->numa[i]);
	for (i = 0; i < sc->nvmem; i++) {
		fmt_size(sc->vmem[i].size, size, sizeof(size));
		arg(a, "-object");
		arg(a, "memory-backend-ram,id=mem-%s,size=%s", sc->vmem[i].id, size);
		arg(a, "-device");
		arg(a, "virtio-mem-pci,id=%s,memdev=mem-%s,requested-size=0",
		    sc->vmem[i].id, sc->vmem[i].id);
	}
	for (i = 0; i < sc->nnvdimm; i++) {
		fmt_size(sc->nvdimm[i].size, size, sizeof(size));
		arg(a, "-object");
		arg(a, "memory-backend-ram,id=mem-%s,size=%s", sc->nvdimm[i].id, size);
		arg(a, "-device");
		arg(a, "nvdimm,id=%s,memdev=mem-%s", sc->nvdimm[i].id, sc->nvdimm[i].id);
	}
}

static int accept_all(struct vm *vm, int lfd[3], int *fds[3], int timeout)
{
	double deadline = now() + timeout;
	struct pollfd pfd[3];
	int i, left = 3;

	while (left) {
		for (i = 0; i < 3; i++) {
			pfd[i].fd = *fds[i] < 0 ? lfd[i] : -1;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, 3, 200) < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < 3; i++) {
			if (pfd[i].fd >= 0 && (pfd[i].revents & POLLIN)) {
				*fds[i] = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC);
				if (*fds[i] >= 0)
					left--;
			}
		}
		if (waitpid(vm->pid, NULL, WNOHANG) == vm->pid) {
			vm->pid = 0;
			snprintf(vm->err, sizeof(vm->err), "QEMU exited at start (see qemu.log)");
			return -1;
		}
		if (now() > deadline || stop_requested()) {
			snprintf(vm->err, sizeof(vm->err), "QEMU did not connect its channels");
			return -1;
		}
	}
	return 0;
}

int vm_start(struct vm *vm, const struct boot *b)
{
	int lfd[3], *fds[3] = { &vm->con_fd, &vm->qmp_fd, &vm->agent_fd };
	struct json_object *ret;
	struct argv a = { 0 };
	char path[600];
	int i, out;

	memset(vm, 0, sizeof(*vm));
	vm->con_fd = -1;
	vm->qmp_fd = -1;
	vm->agent_fd = -1;
	snprintf(vm->dir, sizeof(vm->dir), "%s", b->dir);
	snprintf(sockdir, sizeof(sockdir), "/tmp/rig.XXXXXX");
	if (!mkdtemp(sockdir))
		die("mkdtemp: %s", strerror(errno));
	live_vm = vm;
	vm->arch = b->arch;
	static bool registered;

	if (!registered) {
		atexit(kill_live_vm);
		on_second_signal(kill_live_vm);
		registered = true;
	}
	lfd[0] = listen_on("console");
	lfd[1] = listen_on("qmp");
	lfd[2] = listen_on("agent");
	vm->console_log = open_log(vm, "console.log");
	vm->qmp_log = open_log(vm, "qmp.log");
	vm->agent_log = open_log(vm, "agent.log");
	vm->tok = json_tokener_new();

	build_argv(&a, b);
	snprintf(path, sizeof(path), "%s/qemu.cmdline", vm->dir);
	FILE *cl = fopen(path, "w");

	for (i = 0; cl && i < a.n; i++)
		fprintf(cl, "%s%s", a.v[i], i + 1 < a.n ? " " : "\n");
	if (cl)
		fclose(cl);
	snprintf(path, sizeof(path), "%s/qemu.log", vm->dir);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	vm->started = now();
	vm->pid = fork();
	if (vm->pid < 0)
		die("fork: %s", strerror(errno));
	if (!vm->pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		dup2(open("/dev/null", O_RDONLY), 0);
		dup2(out, 1);
		dup2(out, 2);
		execvp(a.v[0], a.v);
		fprintf(stderr, "exec %s: %s\n", a.v[0], strerror(errno));
		_exit(127);
	}
	close(out);
	for (i = 0; i < a.n; i++)
		free(a.v[i]);
	i = accept_all(vm, lfd, fds, 30);
	close(lfd[0]);
	close(lfd[1]);
	close(lfd[2]);
	if (i)
		return i;
	ret = qmp_cmd(vm, "qmp_capabilities", NULL, 30);
	if (!ret)
		return -1;
	json_object_put(ret);
	return 0;
}

static void console_data(struct vm *vm, const char *buf, size_t n)
{
	size_t keep;

	fwrite(buf, 1, n, vm->console_log);
	if (vm->echo && write(STDOUT_FILENO, buf, n) < 0)
		vm->echo = false;
	if (vm->con_all_len + n + 1 > vm->con_all_cap) {
		vm->con_all_cap = (vm->con_all_len + n + 1) * 2;
		vm->con_all = realloc(vm->con_all, vm->con_all_cap);
		if (!vm->con_all)
			die("out of memory");
	}
	memcpy(vm->con_all + vm->con_all_len, buf, n);
	vm->con_all_len += n;
	vm->con_all[vm->con_all_len] = '\0';
	if (n >= sizeof(vm->con_tail)) {
		memcpy(vm->con_tail, buf + n - sizeof(vm->con_tail), sizeof(vm->con_tail));
		vm->con_tail_len = sizeof(vm->con_tail);
		return;
	}
	keep = sizeof(vm->con_tail) - n;
	if (vm->con_tail_len > keep) {
		memmove(vm->con_tail, vm->con_tail + vm->con_tail_len - keep, keep);
		vm->con_tail_len = keep;
	}
	memcpy(vm->con_tail + vm->con_tail_len, buf, n);
	vm->con_tail_len += n;
}

static void qmp_data(struct vm *vm, const char *buf, size_t n)
{
	enum json_tokener_error e;
	struct json_object *msg;
	size_t used;

	while (n) {
		msg = json_tokener_parse_ex(vm->tok, buf, n);
		e = json_tokener_get_error(vm->tok);
		if (e == json_tokener_continue)
			return;
		used = json_tokener_get_parse_end(vm->tok);
		if (e != json_tokener_success) {
			fprintf(vm->qmp_log, "!! unparsable QMP data: %s\n",
				json_tokener_error_desc(e));
			json_tokener_reset(vm->tok);
			return;
		}
		qmp_handle(vm, msg);
		json_object_put(msg);
		buf += used;
		n -= used;
		while (n && (*buf == '\r' || *buf == '\n' || *buf == ' ')) {
			buf++;
			n--;
		}
	}
}

/* One round of I/O on all channels; -1 when QEMU is gone or a signal came. */
int vm_pump(struct vm *vm, int timeout_ms)
{
	struct pollfd pfd[3] = {
		{ .fd = vm->con_fd, .events = POLLIN },
		{ .fd = vm->qmp_fd, .events = POLLIN },
		{ .fd = vm->agent_fd, .events = POLLIN },
	};
	char buf[16384];
	ssize_t n;
	int i, status;

	if (stop_requested()) {
		snprintf(vm->err, sizeof(vm->err), "interrupted by a signal");
		return -1;
	}
	if (vm->dead)
		return -1;
	if (poll(pfd, 3, timeout_ms) < 0 && errno != EINTR)
		return -1;
	for (i = 0; i < 3; i++) {
		if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(pfd[i].fd, buf, sizeof(buf));
		if (n <= 0) {
			if (i == 0)
				vm->con_fd = -1;
			continue;
		}
		if (i == 0) {
			console_data(vm, buf, n);
		} else if (i == 1) {
			qmp_data(vm, buf, n);
		} else {
			if (vm->agent_len + n >= sizeof(vm->agent_buf)) {
				snprintf(vm->err, sizeof(vm->err),
					 "the guest agent sent more than %zu bytes without a newline",
					 sizeof(vm->agent_buf));
				vm->agent_len = 0;
				return -1;
			}
			memcpy(vm->agent_buf + vm->agent_len, buf, n);
			vm->agent_len += n;
		}
	}
	if (vm->pid > 0 && waitpid(vm->pid, &status, WNOHANG) == vm->pid) {
		vm->pid = 0;
		vm->dead = true;
		snprintf(vm->err, sizeof(vm->err), "QEMU exited (%s %d) unexpectedly",
			 WIFSIGNALED(status) ? "signal" : "status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return -1;
	}
	return 0;
}

int vm_wait_ready(struct vm *vm, int timeout)
{
	char line[256];
	char *p;

	if (agent_line(vm, line, sizeof(line), timeout))
		return -1;
	if (strncmp(line, "READY ", 6)) {
		snprintf(vm->err, sizeof(vm->err), "agent said '%s' instead of READY", line);
		return -1;
	}
	vm->ready_at = now();
	snprintf(vm->guest, sizeof(vm->guest), "%s", line + 6);
	p = strstr(line, "bs=");
	vm->block_size = p ? strtoul(p + 3, NULL, 10) : 0;
	return 0;
}

void vm_console_tail(struct vm *vm, FILE *out, int lines)
{
	size_t i = vm->con_tail_len;
	int seen = 0;

	while (i > 0 && seen <= lines)
		if (vm->con_tail[--i] == '\n')
			seen++;
	if (seen > lines)
		i++;
	fwrite(vm->con_tail + i, 1, vm->con_tail_len - i, out);
	if (vm->con_tail_len && vm->con_tail[vm->con_tail_len - 1] != '\n')
		fputc('\n', out);
}

static bool wait_exit(struct vm *vm, double secs)
{
	double deadline = now() + secs;

	while (vm->pid > 0 && now() < deadline) {
		if (waitpid(vm->pid, NULL, WNOHANG) == vm->pid) {
			vm->pid = 0;
			break;
		}
		/* keep draining the console so nothing printed at the end is lost */
		if (vm->con_fd >= 0) {
			struct pollfd p = { .fd = vm->con_fd, .events = POLLIN };
			char buf[4096];
			ssize_t n;

			if (poll(&p, 1, 50) > 0) {
				n = read(vm->con_fd, buf, sizeof(buf));
				if (n > 0)
					console_data(vm, buf, n);
				else
					vm->con_fd = -1;
			}
		} else {
			usleep(50000);
		}
	}
	return vm->pid <= 0;
}

/*
 * The kernel's own view of a hang, before the VM goes: each SysRq key of
 * KEYS through the console (w: blocked tasks, d: locks held, l: CPUs'
 * backtraces, t: every task), then "settle" seconds for the output.
 */
void vm_sysrq(struct vm *vm, const char *keys, int settle)
{
	double until;

	if (vm->dead || vm->pid <= 0 || vm->con_fd < 0 || !vm->arch)
		return;
	for (; *keys; keys++) {
		if (!strcmp(vm->arch->sysrq, "break")) {
			struct json_object *a = json_object_new_object(), *ret;

			json_object_object_add(a, "id", json_object_new_string("con"));
			ret = qmp_cmd(vm, "chardev-send-break", a, 10);
			if (!ret)
				return;
			json_object_put(ret);
			if (write(vm->con_fd, keys, 1) != 1)
				return;
		} else {
			char seq[2] = { '\x0f', *keys };

			if (write(vm->con_fd, seq, 2) != 2)
				return;
		}
		/* one key at a time: the dumps are long on a slow console */
		until = now() + settle;
		while (now() < until && !vm_pump(vm, 200))
			;
	}
}

void vm_stop(struct vm *vm)
{
	/* asked to stop: no orderly shutdown */
	if (stop_requested() && vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
		vm->pid = 0;
	}
	if (vm->pid > 0 && vm->agent_fd >= 0 && !vm->dead) {
		if (dprintf(vm->agent_fd, "poweroff\n") > 0)
			fprintf(vm->agent_log, "-> poweroff\n");
		wait_exit(vm, 15);
	}
	if (vm->pid > 0 && vm->qmp_fd >= 0) {
		if (dprintf(vm->qmp_fd, "{\"execute\":\"quit\"}\n") > 0)
			fprintf(vm->qmp_log, "-> {\"execute\":\"quit\"}\n");
		wait_exit(vm, 5);
	}
	if (vm->pid > 0) {
		kill(vm->pid, SIGTERM);
		if (!wait_exit(vm, 5)) {
			kill(vm->pid, SIGKILL);
			waitpid(vm->pid, NULL, 0);
			vm->pid = 0;
		}
	}
	/*
	 * QEMU is gone: whatever it wrote to the console before it went (the
	 * last words of a guest that died) is still in the socket.
	 */
	while (vm->con_fd >= 0) {
		struct pollfd p = { .fd = vm->con_fd, .events = POLLIN };
		char buf[4096];
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			break;
		n = read(vm->con_fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		console_data(vm, buf, n);
	}
	if (vm->con_fd >= 0)
		close(vm->con_fd);
	if (vm->qmp_fd >= 0)
		close(vm->qmp_fd);
	if (vm->agent_fd >= 0)
		close(vm->agent_fd);
	vm->con_fd = -1;
	vm->qmp_fd = -1;
	vm->agent_fd = -1;
	if (vm->console_log)
		fclose(vm->console_log);
	if (vm->qmp_log)
		fclose(vm->qmp_log);
	if (vm->agent_log)
		fclose(vm->agent_log);
	vm->console_log = NULL;
	vm->qmp_log = NULL;
	vm->agent_log = NULL;
	if (vm->reply)
		json_object_put(vm->reply);
	vm->reply = NULL;
	free(vm->con_all);
	vm->con_all = NULL;
	vm->con_all_len = 0;
	vm->con_all_cap = 0;
	if (vm->tok)
		json_tokener_free(vm->tok);
	vm->tok = NULL;
	kill_live_vm();
	live_vm = NULL;
}
