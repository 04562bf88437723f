// SPDX-License-Identifier: GPL-2.0
/*
 * Scenario steps.  Each step checks that it did something (a block
 * onlined, a DIMM removed, bytes plugged): a step that exercised nothing
 * fails.  Memory devices are found by their QEMU id; their blocks are the
 * memory blocks inside the guest-physical range QEMU reports for them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rig.h"

#define STEP_TIMEOUT	120

static int fail(struct run *r, const char *fmt, ...) __printf(2, 3);

static int fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -1;
}

static int vm_fail(struct run *r, const char *what)
{
	return fail(r, "%s: %s", what, r->vm->err);
}

/* The agent's reply must be OK; anything else fails the step. */
static int ok(struct run *r, char *out, size_t len, const char *fmt, const char *a,
	      const char *b)
{
	int rc = agent_cmd(r->vm, out, len, STEP_TIMEOUT, fmt, a, b);

	if (rc < 0)
		return vm_fail(r, "guest agent");
	if (rc > 0)
		return fail(r, "guest: %s", out);
	return 0;
}

static void say(struct run *r, const char *fmt, ...) __printf(2, 3);

static void say(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->report)
		return;
	va_start(ap, fmt);
	vfprintf(r->report, fmt, ap);
	va_end(ap);
}

/* First block id and number of blocks of a memory device. */
static int device_blocks(struct run *r, const char *id, long *first, long *count)
{
	unsigned long long addr, size;
	unsigned long bs = r->vm->block_size;

	if (!bs)
		return fail(r, "the guest did not report its memory block size");
	if (qmp_device_range(r->vm, id, &addr, &size))
		return vm_fail(r, id);
	*first = addr / bs;
	*count = (size + bs - 1) / bs;
	return 0;
}

/* Number of blocks present in [first, first + count) and how many are online. */
static int count_blocks(struct run *r, long first, long count, long *present, long *online)
{
	char reply[65536], *p, *save = NULL;
	long id;

	if (ok(r, reply, sizeof(reply), "blocks", NULL, NULL))
		return -1;
	*present = *online = 0;
	for (p = strtok_r(reply, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		if (!strchr(p, ':'))
			continue;
		id = strtol(p, NULL, 10);
		if (id < first || id >= first + count)
			continue;
		(*present)++;
		if (!strcmp(strchr(p, ':') + 1, "online"))
			(*online)++;
	}
	return 0;
}

/* Poll the guest until the device shows "want" blocks. */
static int wait_blocks(struct run *r, long first, long count, long want, int timeout)
{
	double deadline = now() + timeout;
	long present, online;

	for (;;) {
		if (count_blocks(r, first, count, &present, &online))
			return -1;
		if (present == want)
			return 0;
		if (now() > deadline)
			return fail(r, "guest shows %ld blocks of the device after %d s, want %ld",
				    present, timeout, want);
		if (vm_pump(r->vm, 200))
			return vm_fail(r, "waiting for memory blocks");
	}
}

static int memtotal_kb(struct run *r, long *kb)
{
	char reply[256];

	if (ok(r, reply, sizeof(reply), "meminfo", NULL, NULL))
		return -1;
	*kb = agent_field(reply, "memtotal_kb");
	return *kb < 0 ? fail(r, "no MemTotal in '%s'", reply) : 0;
}

static int qmp_do(struct run *r, const char *cmd, struct json_object *args)
{
	struct json_object *ret = qmp_cmd(r->vm, cmd, args, 30);

	if (!ret)
		return vm_fail(r, cmd);
	json_object_put(ret);
	return 0;
}

static int dimm_add(struct run *r, const struct step *s)
{
	struct json_object *a;
	unsigned long long size;
	long first, count;
	char backend[64];

	parse_size(s->args[1], &size);
	snprintf(backend, sizeof(backend), "mem-%s", s->args[0]);
	a = json_object_new_object();
	json_object_object_add(a, "qom-type", json_object_new_string("memory-backend-ram"));
	json_object_object_add(a, "id", json_object_new_string(backend));
	json_object_object_add(a, "size", json_object_new_uint64(size));
	if (qmp_do(r, "object-add", a))
		return -1;
	a = json_object_new_object();
	json_object_object_add(a, "driver", json_object_new_string("pc-dimm"));
	json_object_object_add(a, "id", json_object_new_string(s->args[0]));
	json_object_object_add(a, "memdev", json_object_new_string(backend));
	if (qmp_do(r, "device_add", a))
		return -1;
	if (device_blocks(r, s->args[0], &first, &count) ||
	    wait_blocks(r, first, count, count, STEP_TIMEOUT))
		return -1;
	r->counts.dimms_added++;
	say(r, "  %s: %ld new memory blocks (memory%ld..memory%ld)\n", s->args[0],
	    count, first, first + count - 1);
	return 0;
}

static int dimm_del(struct run *r, const struct step *s)
{
	bool want_error = s->nargs > 1 && !strcmp(s->args[1], "error");
	struct json_object *a;
	long first, count, present, online;
	char which[64], backend[64];

	if (device_blocks(r, s->args[0], &first, &count))
		return -1;
	a = json_object_new_object();
	json_object_object_add(a, "id", json_object_new_string(s->args[0]));
	if (qmp_do(r, "device_del", a))
		return -1;
	if (qmp_wait_event(r->vm, "DEVICE_DELETED|DEVICE_UNPLUG_GUEST_ERROR",
			   s->args[0], STEP_TIMEOUT, which, sizeof(which)))
		return vm_fail(r, "device_del");
	if (want_error != !strcmp(which, "DEVICE_UNPLUG_GUEST_ERROR"))
		return fail(r, "device_del %s ended in %s, want %s", s->args[0], which,
			    want_error ? "DEVICE_UNPLUG_GUEST_ERROR" : "DEVICE_DELETED");
	if (want_error) {
		if (count_blocks(r, first, count, &present, &online))
			return -1;
		if (present != count)
			return fail(r, "unplug of %s failed but the guest lost %ld of its blocks",
				    s->args[0], count - present);
		r->counts.checks++;
		return 0;
	}
	snprintf(backend, sizeof(backend), "mem-%s", s->args[0]);
	a = json_object_new_object();
	json_object_object_add(a, "id", json_object_new_string(backend));
	if (qmp_do(r, "object-del", a))
		return -1;
	if (wait_blocks(r, first, count, 0, 30))
		return -1;
	r->counts.dimms_removed++;
	return 0;
}

static int set_blocks(struct run *r, const struct step *s, const char *state)
{
	char reply[256], first_s[32], args[64];
	long first, count, changed, present, online;

	if (device_blocks(r, s->args[0], &first, &count))
		return -1;
	snprintf(first_s, sizeof(first_s), "%ld", first);
	snprintf(args, sizeof(args), "%ld %s", count, state);
	if (ok(r, reply, sizeof(reply), "set %s %s", first_s, args))
		return -1;
	changed = agent_field(reply, "changed");
	if (changed <= 0)
		return fail(r, "%s %s changed no memory block (%s)", verb_name(s->verb),
			    s->args[0], reply);
	if (count_blocks(r, first, count, &present, &online))
		return -1;
	if (strcmp(state, "offline") ? online != present : online != 0)
		return fail(r, "after %s %s: %ld of %ld blocks online", verb_name(s->verb),
			    s->args[0], online, present);
	if (strcmp(state, "offline"))
		r->counts.blocks_onlined += changed;
	else
		r->counts.blocks_offlined += changed;
	say(r, "  %s: %ld blocks %s\n", s->args[0], changed, state);
	return 0;
}

static int vmem_resize(struct run *r, const struct step *s)
{
	unsigned long long want, before, size = 0;
	struct json_object *a;
	long first, count, present, online;
	double deadline = now() + STEP_TIMEOUT;
	unsigned long bs = r->vm->block_size;

	parse_size(s->args[1], &want);
	if (!bs || want % bs)
		return fail(r, "%s is not a multiple of the guest's block size (%lu)",
			    s->args[1], bs);
	if (qmp_get_size(r->vm, s->args[0], "size", &before))
		return vm_fail(r, "qom-get size");
	if (before == want)
		return fail(r, "%s already has %s plugged", s->args[0], s->args[1]);
	a = json_object_new_object();
	json_object_object_add(a, "path", json_object_new_string(s->args[0]));
	json_object_object_add(a, "property", json_object_new_string("requested-size"));
	json_object_object_add(a, "value", json_object_new_uint64(want));
	if (qmp_do(r, "qom-set", a))
		return -1;
	if (device_blocks(r, s->args[0], &first, &count))
		return -1;
	/* MEMORY_DEVICE_SIZE_CHANGE is rate-limited by QEMU: poll "size" too. */
	for (;;) {
		if (qmp_get_size(r->vm, s->args[0], "size", &size))
			return vm_fail(r, "qom-get size");
		if (count_blocks(r, first, count, &present, &online))
			return -1;
		if (size == want && (unsigned long long)present * bs == want)
			break;
		if (now() > deadline)
			return fail(r, "%s: size %llu, guest blocks %ld (%llu bytes), want %llu",
				    s->args[0], size, present, (unsigned long long)present * bs,
				    want);
		if (vm_pump(r->vm, 500))
			return vm_fail(r, "vmem_resize");
	}
	if (want > before)
		r->counts.vmem_plugged += want - before;
	else
		r->counts.vmem_unplugged += before - want;
	say(r, "  %s: size %llu MiB, guest has %ld blocks\n", s->args[0], size >> 20, present);
	return 0;
}

static int expect_memtotal(struct run *r, const struct step *s)
{
	long long delta;
	long kb;

	parse_delta(s->args[0], &delta);
	if (memtotal_kb(r, &kb))
		return -1;
	if (kb - r->memtotal_kb != delta / 1024)
		return fail(r, "MemTotal changed by %+ld kB since boot, want %+lld kB",
			    kb - r->memtotal_kb, delta / 1024);
	r->counts.checks++;
	return 0;
}

static int expect_lockdep(struct run *r)
{
	char reply[256];

	if (agent_cmd(r->vm, reply, sizeof(reply), STEP_TIMEOUT, "lockdep") < 0)
		return vm_fail(r, "guest agent");
	if (agent_field(reply, "debug_locks") != 1)
		return fail(r, "lockdep is off (%s): coverage lost", reply);
	r->counts.checks++;
	return 0;
}

/* write PATH VALUE [ok|ENAME]: the write must end as expected. */
static int write_file(struct run *r, const struct step *s)
{
	const char *want = s->nargs > 2 ? s->args[2] : "ok";
	char reply[512];
	int rc;

	rc = agent_cmd(r->vm, reply, sizeof(reply), STEP_TIMEOUT, "write %s %s",
		       s->args[0], s->args[1]);
	if (rc < 0)
		return vm_fail(r, "guest agent");
	if (!strcmp(want, "ok") ? rc != 0 :
	    rc == 0 || strncmp(reply, want, strlen(want)) || reply[strlen(want)] != ' ')
		return fail(r, "write %s '%s': got %s, want %s", s->args[0], s->args[1],
			    rc ? reply : "success", want);
	r->counts.checks++;
	return 0;
}

/* bg_write PATH VALUE: the guest writes from a child process. */
static int bg_write(struct run *r, const struct step *s)
{
	char reply[256];

	return ok(r, reply, sizeof(reply), "bgwrite %s %s", s->args[0], s->args[1]);
}

/*
 * wait_console TEXT [SECONDS]: TEXT ("\s" for a space) appears on the
 * console in what was printed since the previous step started: the step
 * before says what is expected to cause it.
 */
static int wait_console(struct run *r, const struct step *s)
{
	int timeout = s->nargs > 1 ? atoi(s->args[1]) : STEP_TIMEOUT;
	double deadline = now() + timeout;
	char text[256];

	unescape_spaces(s->args[0], text, sizeof(text));
	while (!r->vm->con_all || !strstr(r->vm->con_all + r->prev_step_off, text)) {
		if (now() > deadline)
			return fail(r, "'%s' did not appear on the console in %d s", text, timeout);
		if (vm_pump(r->vm, 200))
			return vm_fail(r, "wait_console");
	}
	r->counts.checks++;
	return 0;
}

/* loop_start ID PATH V1 [V2 ...]: the guest cycles the writes in the background. */
static int loop_start(struct run *r, const struct step *s)
{
	char cmd[1024], reply[256];
	size_t n = 0;
	int i;

	for (i = 0; i < s->nargs; i++)
		n += snprintf(cmd + n, sizeof(cmd) - n, " %s", s->args[i]);
	return ok(r, reply, sizeof(reply), "loop%s", cmd, NULL);
}

/* loop_stop ID [MIN]: the loop must have completed at least MIN (1) cycles. */
static int loop_stop(struct run *r, const struct step *s)
{
	long min = s->nargs > 1 ? atol(s->args[1]) : 1, it;
	char reply[256];
	size_t len;

	if (ok(r, reply, sizeof(reply), "stop %s", s->args[0], NULL))
		return -1;
	it = agent_field(reply, "iterations");
	say(r, "  loop %s: %s\n", s->args[0], reply);
	len = strlen(r->counts.loops);
	snprintf(r->counts.loops + len, sizeof(r->counts.loops) - len, " loop_%s=%ld",
		 s->args[0], it);
	if (it < min)
		return fail(r, "loop %s ran %ld cycles, want at least %ld (%s)", s->args[0],
			    it, min, reply);
	return 0;
}

int step_run(struct run *r, const struct step *s)
{
	char mark[128];

	r->prev_step_off = r->step_off;
	r->step_off = r->vm->con_all_len;
	snprintf(mark, sizeof(mark), "mark step %d: line %d %s", (int)(s - r->sc->steps) + 1,
		 s->line, verb_name(s->verb));
	agent_cmd(r->vm, r->why, sizeof(r->why), 10, "%s", mark);
	r->why[0] = '\0';
	switch (s->verb) {
	case V_DIMM_ADD:
		return dimm_add(r, s);
	case V_DIMM_DEL:
		return dimm_del(r, s);
	case V_ONLINE:
		return set_blocks(r, s, s->args[1]);
	case V_OFFLINE:
		return set_blocks(r, s, "offline");
	case V_VMEM_RESIZE:
		return vmem_resize(r, s);
	case V_EXPECT_MEMTOTAL:
		return expect_memtotal(r, s);
	case V_EXPECT_LOCKDEP:
		return expect_lockdep(r);
	case V_WRITE:
		return write_file(r, s);
	case V_BG_WRITE:
		return bg_write(r, s);
	case V_WAIT_CONSOLE:
		return wait_console(r, s);
	case V_LOOP_START:
		return loop_start(r, s);
	case V_LOOP_STOP:
		return loop_stop(r, s);
	case V_NR_VERBS:
		break;
	}
	return fail(r, "internal: unknown verb");
}

/* After the last step: lockdep must still be on. */
int run_final_checks(struct run *r)
{
	return expect_lockdep(r);
}

int run_baseline(struct run *r)
{
	return memtotal_kb(r, &r->memtotal_kb);
}
