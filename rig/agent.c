// SPDX-License-Identifier: GPL-2.0
/*
 * Host side of the guest agent's channel: one command line out, one
 * reply line back ("OK ..." or "ERR ENAME what").  Both go to agent.log.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rig.h"

int agent_line(struct vm *vm, char *line, size_t len, int timeout)
{
	double deadline = now() + timeout;
	char *nl;
	size_t n;

	for (;;) {
		nl = memchr(vm->agent_buf, '\n', vm->agent_len);
		if (nl) {
			n = nl - vm->agent_buf;
			snprintf(line, len, "%.*s", (int)n, vm->agent_buf);
			memmove(vm->agent_buf, nl + 1, vm->agent_len - n - 1);
			vm->agent_len -= n + 1;
			fprintf(vm->agent_log, "%8.3f <- %s\n", now() - vm->started, line);
			return 0;
		}
		if (now() > deadline) {
			snprintf(vm->err, sizeof(vm->err), "guest agent silent for %d s", timeout);
			vm->timed_out = true;
			return -1;
		}
		if (vm_pump(vm, 100))
			return -1;
	}
}

/*
 * Lines "| TEXT" before the reply are the output of a command that runs in
 * the guest (the run command); they go to vm->stream when it is set.  A
 * line "RECONNECTED" says the guest reopened its port: the command is sent
 * again.
 * Returns 0 for OK (text after "OK " in out), 1 for ERR (the whole "ENAME
 * what" in out), -1 when the channel failed (vm->err says why).
 */
int agent_cmd(struct vm *vm, char *out, size_t len, int timeout, const char *fmt, ...)
{
	char cmd[4096], line[65536];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fprintf(vm->agent_log, "%8.3f -> %s\n", now() - vm->started, cmd);
	cmd[n++] = '\n';
resend:
	if (write(vm->agent_fd, cmd, n) != n) {
		snprintf(vm->err, sizeof(vm->err), "cannot write to the guest agent");
		return -1;
	}
	do {
		if (agent_line(vm, line, sizeof(line), timeout))
			return -1;
		/*
		 * The guest reopened its port (a suspend cycle resets the
		 * device); what was sent while it was closed never arrived.
		 */
		if (!strcmp(line, "RECONNECTED")) {
			fprintf(vm->agent_log, "%8.3f -> (again) %.*s\n", now() - vm->started,
				n - 1, cmd);
			goto resend;
		}
		if (strncmp(line, "| ", 2))
			break;
		if (vm->stream)
			fprintf(vm->stream, "%s\n", line + 2);
	} while (1);
	if (!strncmp(line, "OK", 2)) {
		snprintf(out, len, "%s", line[2] ? line + 3 : "");
		return 0;
	}
	if (!strncmp(line, "ERR ", 4)) {
		snprintf(out, len, "%s", line + 4);
		return 1;
	}
	snprintf(vm->err, sizeof(vm->err), "guest agent answered '%.200s'", line);
	return -1;
}

/* "key=123" inside a reply; -1 when absent. */
long agent_field(const char *reply, const char *key)
{
	size_t n = strlen(key);
	const char *p = reply;

	while ((p = strstr(p, key))) {
		if ((p == reply || p[-1] == ' ') && p[n] == '=')
			return strtol(p + n + 1, NULL, 0);
		p += n;
	}
	return -1;
}

/*
 * What busybox APPLET ARG prints in the guest (standard output and error)
 * into a malloc()ed *buf, NUL-terminated.  0, or what agent_cmd() returns
 * (1 also when the applet itself failed; the reply is in out).
 */
int agent_busybox(struct vm *vm, const char *applet, const char *arg, int timeout,
		  char **buf, char *out, size_t len)
{
	size_t size = 0;
	FILE *f;
	int rc;

	*buf = NULL;
	f = open_memstream(buf, &size);
	if (!f) {
		snprintf(out, len, "no memory for %s", arg);
		return 1;
	}
	vm->stream = f;
	rc = agent_cmd(vm, out, len, timeout, "run /bin/busybox %s %s", applet, arg);
	vm->stream = NULL;
	fclose(f);
	if (!rc && agent_field(out, "exit") != 0)
		rc = 1;
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

/* The contents of guest file PATH (through busybox cat); as agent_busybox(). */
int agent_cat(struct vm *vm, const char *path, int timeout, char **buf, char *out,
	      size_t len)
{
	return agent_busybox(vm, "cat", path, timeout, buf, out, len);
}
