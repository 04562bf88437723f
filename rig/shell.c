// SPDX-License-Identifier: GPL-2.0
/*
 * rig shell: boot a kernel to an interactive busybox shell on its console,
 * with the agent still serving its channel, and a control socket that
 * rig ctl (from a second terminal) uses to plug DIMMs, resize virtio-mem,
 * add and remove vCPUs and ask what is plugged, without QMP.  The commands
 * are the scenario steps, run by the same code as in a scenario.
 *
 * Leaving the shell (exit, poweroff, Ctrl-D) powers the guest off; Ctrl-C,
 * a hangup or the end of the input stops QEMU.  Either way the console is
 * scanned and what it found is printed.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rig.h"

#define CTL_USAGE "plug dimm SIZE [node N] | unplug dimm ID | virtio-mem ID SIZE | " \
		  "cpu add | cpu del | status | scan"

static struct termios saved_tty;
static bool tty_changed;

static void tty_restore(void)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_changed = false;
}

/* Keys go to the guest as typed; Ctrl-C stays a signal for the rig. */
static void tty_pass_through(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty))
		return;
	t = saved_tty;
	t.c_lflag &= ~(ICANON | ECHO | IEXTEN);
	t.c_iflag &= ~(ICRNL | IXON);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (!tcsetattr(STDIN_FILENO, TCSAFLUSH, &t)) {
		tty_changed = true;
		atexit(tty_restore);
	}
}

static void sock_path(const char *build, const char *arch, char *buf, size_t len)
{
	snprintf(buf, len, "%s/shell/%s.sock", build, arch);
}

static int sock_open(const char *path, struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (fd < 0 || strlen(path) >= sizeof(a->sun_path))
		die("cannot make the control socket %s", path);
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return fd;
}

/* The control socket; refuses when a shell of this architecture runs. */
static int ctl_listen(const char *path)
{
	struct sockaddr_un a;
	int fd = sock_open(path, &a);

	if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("a shell for this architecture is already running (%s)", path);
	close(fd);
	unlink(path);
	fd = sock_open(path, &a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4))
		die("cannot listen on %s: %s", path, strerror(errno));
	return fd;
}

struct shell {
	struct run r;
	struct scenario steps;		/* what rig ctl asked for, as steps */
	const struct scenario *sc;
	int dimms, cpus_added;
	char out[8192];			/* the reply to rig ctl */
	size_t n;
};

static void out(struct shell *sh, const char *fmt, ...) __printf(2, 3);

static void out(struct shell *sh, const char *fmt, ...)
{
	va_list ap;

	if (sh->n >= sizeof(sh->out))
		return;
	va_start(ap, fmt);
	sh->n += vsnprintf(sh->out + sh->n, sizeof(sh->out) - sh->n, fmt, ap);
	va_end(ap);
	if (sh->n > sizeof(sh->out))
		sh->n = sizeof(sh->out);
}

/* Run one step; on failure the reply says why. */
static int do_step(struct shell *sh, const char *fmt, ...) __printf(2, 3);

static int do_step(struct shell *sh, const char *fmt, ...)
{
	char text[256], err[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (scenario_step(&sh->steps, "ctl", sh->steps.nsteps + 1, text, err, sizeof(err))) {
		out(sh, "ERROR %s\n", strchr(err, ' ') ? strchr(err, ' ') + 1 : err);
		return -1;
	}
	sh->r.why[0] = '\0';
	if (step_run(&sh->r, &sh->steps.steps[sh->steps.nsteps - 1])) {
		out(sh, "ERROR %s: %s\n", text, sh->r.why);
		return -1;
	}
	return 0;
}

static bool size_ok(struct shell *sh, const char *s, bool zero_ok)
{
	unsigned long long z;
	unsigned long bs = sh->r.vm->block_size;

	if (parse_size(s, &z) || (!z && !zero_ok)) {
		out(sh, "ERROR '%s' is not a size (like 512M or 1G)\n", s);
		return false;
	}
	if (bs && z % bs) {
		out(sh, "ERROR %s is not a multiple of the guest's memory block size (%lu MiB)\n",
		    s, bs >> 20);
		return false;
	}
	return true;
}

static void agent_out(struct shell *sh, const char *label, const char *fmt, const char *arg)
{
	char reply[4096];

	if (agent_cmd(sh->r.vm, reply, sizeof(reply), 30, fmt, arg))
		out(sh, "  %-12s ?\n", label);
	else
		out(sh, "  %-12s %s\n", label, reply);
}

/* What QEMU has plugged and what the guest sees. */
static void status(struct shell *sh)
{
	struct json_object *devs = qmp_cmd(sh->r.vm, "query-memory-devices", NULL, 10);
	char reply[65536], *p, *save = NULL, state[16] = "";
	long id, start = -1, prev = -1;
	size_t i;

	out(sh, "OK\nQEMU memory devices:\n");
	for (i = 0; devs && i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i), *type, *data, *v;
		unsigned long long size = 0, req = 0;
		const char *did = "?";

		json_object_object_get_ex(d, "type", &type);
		if (!json_object_object_get_ex(d, "data", &data))
			continue;
		if (json_object_object_get_ex(data, "id", &v))
			did = json_object_get_string(v);
		if (json_object_object_get_ex(data, "size", &v))
			size = json_object_get_uint64(v);
		if (json_object_object_get_ex(data, "requested-size", &v))
			req = json_object_get_uint64(v);
		out(sh, "  %-8s %-10s %6llu MiB plugged", did, json_object_get_string(type),
		    size >> 20);
		if (req || !strcmp(json_object_get_string(type), "virtio-mem"))
			out(sh, " (requested %llu MiB)", req >> 20);
		out(sh, "\n");
	}
	if (devs)
		json_object_put(devs);
	out(sh, "guest:\n");
	if (!agent_cmd(sh->r.vm, reply, sizeof(reply), 30, "blocks")) {
		out(sh, "  blocks      ");
		/* runs of consecutive blocks in one state: memory0-3 online */
		for (p = strtok_r(reply, " ", &save);; p = strtok_r(NULL, " ", &save)) {
			const char *st = p && strchr(p, ':') ? strchr(p, ':') + 1 : "";

			if (p && !strchr(p, ':'))
				continue;
			id = p ? strtol(p, NULL, 10) : -2;
			if (start >= 0 && (!p || id != prev + 1 || strcmp(st, state))) {
				if (start == prev)
					out(sh, "memory%ld %s  ", start, state);
				else
					out(sh, "memory%ld-%ld %s  ", start, prev, state);
				start = -1;
			}
			if (!p)
				break;
			if (start < 0) {
				start = id;
				snprintf(state, sizeof(state), "%s", st);
			}
			prev = id;
		}
		out(sh, "\n");
	}
	agent_out(sh, "cpus present", "read %s", "/sys/devices/system/cpu/present");
	agent_out(sh, "cpus online", "read %s", "/sys/devices/system/cpu/online");
	agent_out(sh, "memory", "%s", "meminfo");
	agent_out(sh, "nodes", "read %s", "/sys/devices/system/node/has_memory");
	agent_out(sh, "lockdep", "%s", "lockdep");
}

static void scan_now(struct shell *sh)
{
	struct titles t = { 0 };

	scan_text(sh->r.vm->con_all ? sh->r.vm->con_all : "", &t);
	out(sh, "OK %d report(s) on the console so far\n", t.n);
	for (int i = 0; i < t.n; i++)
		out(sh, "  %s\n", t.t[i]);
	titles_free(&t);
}

static void ctl_command(struct shell *sh, char *line)
{
	char *w[8], *save = NULL;
	int n = 0;

	sh->n = 0;
	line[strcspn(line, "\r\n")] = '\0';
	for (char *p = strtok_r(line, " \t", &save); p && n < 8; p = strtok_r(NULL, " \t", &save))
		w[n++] = p;
	if (n >= 3 && !strcmp(w[0], "plug") && !strcmp(w[1], "dimm") &&
	    (n == 3 || (n == 5 && !strcmp(w[3], "node")))) {
		int nodes = sh->sc->nnuma ? sh->sc->nnuma : 1;
		char id[16], node[32] = "";

		if (!size_ok(sh, w[2], false))
			return;
		if (n == 5) {
			if (strspn(w[4], "0123456789") != strlen(w[4]) || atoi(w[4]) >= nodes) {
				out(sh, "ERROR node '%s': the guest has node(s) 0..%d\n", w[4],
				    nodes - 1);
				return;
			}
			snprintf(node, sizeof(node), " node=%s", w[4]);
		}
		snprintf(id, sizeof(id), "d%d", sh->dimms);
		if (!do_step(sh, "dimm_add %s %s%s", id, w[2], node)) {
			sh->dimms++;
			out(sh, "OK %s plugged (%s); its blocks are in 'status'\n", id, w[2]);
		}
	} else if (n == 3 && !strcmp(w[0], "unplug") && !strcmp(w[1], "dimm")) {
		if (!do_step(sh, "dimm_del %s", w[2]))
			out(sh, "OK %s unplugged\n", w[2]);
	} else if (n == 3 && !strcmp(w[0], "virtio-mem")) {
		if (size_ok(sh, w[2], true) && !do_step(sh, "vmem_resize %s %s", w[1], w[2]))
			out(sh, "OK %s resized to %s\n", w[1], w[2]);
	} else if (n == 2 && !strcmp(w[0], "cpu") && !strcmp(w[1], "add")) {
		if (!do_step(sh, "cpu_add c%d", sh->cpus_added))
			out(sh, "OK c%d added and online\n", sh->cpus_added++);
	} else if (n == 2 && !strcmp(w[0], "cpu") && !strcmp(w[1], "del")) {
		if (!sh->cpus_added)
			out(sh, "ERROR no vCPU was added with 'cpu add'\n");
		else if (!do_step(sh, "cpu_del c%d", sh->cpus_added - 1))
			out(sh, "OK c%d removed\n", --sh->cpus_added);
	} else if (n == 1 && !strcmp(w[0], "status")) {
		status(sh);
	} else if (n == 1 && !strcmp(w[0], "scan")) {
		scan_now(sh);
	} else {
		out(sh, "ERROR unknown command '%s' (commands: %s)\n", n ? w[0] : "", CTL_USAGE);
	}
}

static void ctl_serve(struct shell *sh, int lfd)
{
	char line[512];
	ssize_t got;
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		return;
	got = read(fd, line, sizeof(line) - 1);
	if (got > 0) {
		line[got] = '\0';
		ctl_command(sh, line);
		if (write(fd, sh->out, sh->n) < 0)
			info("shell: the rig ctl client went away");
	}
	close(fd);
}

/* What the agent logged when the guest powered itself off: 1, 0 or -1. */
static int logged_lockdep(const char *console)
{
	const char *key = "rig: powering off: debug_locks=";
	char line[1024], *p;
	int v = -1;
	FILE *f = fopen(console, "r");

	while (f && fgets(line, sizeof(line), f)) {
		int n;

		p = strstr(line, key);
		if (!p)
			continue;
		n = atoi(p + strlen(key));
		v = n == 1 ? 1 : n ? -1 : 0;
	}
	if (f)
		fclose(f);
	return v;
}

/* rig shell: returns non-zero when the console had a report. */
int shell_main(const struct opts *o, const char *machine)
{
	char kernel[600], initrd[600], dir[600], sock[600], err[512], reply[256];
	struct titles t = { 0 };
	struct arch arch;
	struct scenario sc;
	struct shell sh = { .sc = &sc };
	struct vm vm;
	struct boot b = { .arch = &arch, .sc = &sc, .kernel = kernel, .initrd = initrd,
			  .dir = dir };
	const char *why = "the guest powered off";
	int lfd, lockdep, i, rc;

	if (arch_load("arches.tbl", o->arches[0], &arch))
		die("unknown architecture '%s' (see arches.tbl)", o->arches[0]);
	choose_accel(o, &arch);
	if (scenario_load(machine, &sc, err, sizeof(err)))
		die("%s", err);
	if (!scenario_for_arch(&sc, arch.name))
		die("%s is not for %s (its arches)", machine, arch.name);
	snprintf(kernel, sizeof(kernel), "%s/kernels/%s/%s/image", o->build, o->variant,
		 arch.name);
	snprintf(initrd, sizeof(initrd), "%s/initramfs/%s.cpio", o->build, arch.name);
	if (!file_exists(kernel) || !file_exists(initrd))
		die("%s or %s missing (make shell builds them)", kernel, initrd);
	snprintf(dir, sizeof(dir), "%s/shell/%s", o->build, arch.name);
	if (mkdir_p(dir))
		die("cannot make %s", dir);
	sock_path(o->build, arch.name, sock, sizeof(sock));
	lfd = ctl_listen(sock);
	install_signal_handlers();
	fprintf(stderr, "rig shell: booting %s (%s, logs in %s)\n", kernel, arch.name, dir);
	if (vm_start(&vm, &b)) {
		unlink(sock);
		die("boot: %s", vm.err);
	}
	vm.echo = true;
	sh.r.vm = &vm;
	sh.r.sc = &sc;
	sh.r.deadline = now() + 365 * 86400.0;
	if (vm_wait_ready(&vm, 240) || run_baseline(&sh.r)) {
		why = vm.err;
		goto out;
	}
	rc = agent_cmd(&vm, reply, sizeof(reply), 30, "shell %s", arch.console);
	if (rc) {
		snprintf(err, sizeof(err), "no shell: %s", rc < 0 ? vm.err : reply);
		why = err;
		goto out;
	}
	fprintf(stderr, "\r\nrig shell: %s is ready.  %s\r\n", vm.guest,
		"exit or Ctrl-D powers it off, Ctrl-C stops QEMU.");
	fprintf(stderr, "rig shell: from another terminal: build/bin/rig ctl --arch %s status\r\n",
		arch.name);
	tty_pass_through();
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = lfd, .events = POLLIN },
		};
		char buf[512];
		ssize_t n;

		if (poll(p, 2, 0) < 0 && errno != EINTR)
			break;
		if (p[0].revents & (POLLIN | POLLHUP)) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				why = "the terminal went away";
				break;
			}
			if (vm.con_fd >= 0 && write(vm.con_fd, buf, n) != n) {
				why = "the console went away";
				break;
			}
		}
		if (p[1].revents & POLLIN)
			ctl_serve(&sh, lfd);
		if (vm_pump(&vm, 50)) {
			if (stop_requested())
				why = "interrupted: QEMU stopped";
			break;
		}
	}
out:
	tty_restore();
	lockdep = run_lockdep_state(&sh.r);
	vm_stop(&vm);
	close(lfd);
	unlink(sock);
	scenario_free(&sh.steps);
	snprintf(kernel, sizeof(kernel), "%s/console.log", dir);
	if (lockdep < 0)
		lockdep = logged_lockdep(kernel);
	scan_file(kernel, &t);
	fprintf(stderr, "\nrig shell: %s; lockdep %s; %d report(s) on the console (%s)\n", why,
		lockdep > 0 ? "was on" : lockdep ? "state unknown" : "was OFF", t.n, kernel);
	for (i = 0; i < t.n; i++)
		fprintf(stderr, "  %s\n", t.t[i]);
	i = t.n;
	titles_free(&t);
	scenario_free(&sc);
	return i ? 1 : 0;
}

/* rig ctl [--arch A] COMMAND...: one command to the running shell. */
int ctl_main(const struct opts *o, bool arch_given, int argc, char **argv)
{
	char path[600], cmd[512] = "", buf[8192], dirpath[600];
	struct sockaddr_un a;
	const char *arch = o->arches[0];
	size_t w = 0;
	ssize_t n;
	bool first = true, ok = false;
	int fd, i;

	if (!argc)
		die("ctl: say what to do (%s)", CTL_USAGE);
	if (!arch_given) {
		/* the one running shell, whatever its architecture */
		struct dirent *de;
		DIR *d;
		int found = 0;
		static char name[64];

		snprintf(dirpath, sizeof(dirpath), "%s/shell", o->build);
		d = opendir(dirpath);
		while (d && (de = readdir(d))) {
			size_t len = strlen(de->d_name);

			if (len > 5 && len - 5 < sizeof(name) &&
			    !strcmp(de->d_name + len - 5, ".sock")) {
				snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name);
				found++;
			}
		}
		if (d)
			closedir(d);
		if (found > 1)
			die("ctl: shells of several architectures run: say which with --arch");
		if (found)
			arch = name;
	}
	for (i = 0; i < argc && w < sizeof(cmd); i++)
		w += snprintf(cmd + w, sizeof(cmd) - w, "%s%s", i ? " " : "", argv[i]);
	sock_path(o->build, arch, path, sizeof(path));
	fd = sock_open(path, &a);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("ctl: no running VM for %s (start one with 'make shell ARCH=%s')", arch, arch);
	if (write(fd, cmd, strlen(cmd)) < 0 || write(fd, "\n", 1) < 0)
		die("ctl: the shell went away");
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first)
			ok = n >= 2 && !strncmp(buf, "OK", 2);
		first = false;
		fwrite(buf, 1, n, stdout);
	}
	close(fd);
	if (first)
		die("ctl: the shell closed the connection without an answer");
	return ok ? 0 : 1;
}
