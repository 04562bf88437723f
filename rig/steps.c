// SPDX-License-Identifier: GPL-2.0
/*
 * Scenario steps.  Each step checks that it did something (a block
 * onlined, a DIMM removed, bytes plugged): a step that exercised nothing
 * fails.  Memory devices are found by their QEMU id; their blocks are the
 * memory blocks inside the guest-physical range QEMU reports for them.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rig.h"

/*
 * Longer than the guest's hung-task timeout (60 s, checked every 60 s), so
 * that a task blocked at the start of a step is reported by the kernel
 * before the step gives up; never past the scenario's deadline.
 */
#define STEP_TIMEOUT	150
#define LOOP_FOR_MARGIN	10	/* s after a loop_for: its last write may overrun */

static int step_timeout(const struct run *r)
{
	int left = r->deadline ? (int)(r->deadline - now()) : STEP_TIMEOUT;

	return left < 1 ? 1 : left < STEP_TIMEOUT ? left : STEP_TIMEOUT;
}

static int vfail(struct run *r, const char *fmt, va_list ap)
{
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	return -1;
}

static int fail(struct run *r, const char *fmt, ...) __printf(2, 3);

static int fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(r, fmt, ap);
	va_end(ap);
	return -1;
}

/* A wait that ran out of time: the kernel's state is dumped before teardown. */
static int hung(struct run *r, const char *fmt, ...) __printf(2, 3);

static int hung(struct run *r, const char *fmt, ...)
{
	va_list ap;

	r->vm->timed_out = true;
	va_start(ap, fmt);
	vfail(r, fmt, ap);
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
	int rc = agent_cmd(r->vm, out, len, step_timeout(r), fmt, a, b);

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

/*
 * Number of blocks present in [first, first + count) and, unless online
 * is NULL, how many are online (reading every state file; without it the
 * guest only lists the blocks, see the agent's "blocks present").
 */
static int count_blocks(struct run *r, long first, long count, long *present, long *online)
{
	char reply[65536], *p, *save = NULL;
	long id, unused;

	if (ok(r, reply, sizeof(reply), online ? "blocks" : "blocks present", NULL, NULL))
		return -1;
	if (!online)
		online = &unused;
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
	long present;

	for (;;) {
		if (count_blocks(r, first, count, &present, NULL))
			return -1;
		if (present == want)
			return 0;
		if (now() > deadline)
			return hung(r, "guest shows %ld blocks of the device after %d s, want %ld",
				    present, timeout, want);
		if (vm_pump(r->vm, 200))
			return vm_fail(r, "waiting for memory blocks");
	}
}

/*
 * wait_online ID [SECONDS]: the guest onlines the device's memory itself
 * (memhp_default_state, pseries DLPAR) after its blocks appear; wait
 * until all of them are online: all of a DIMM, as much of a virtio-mem
 * device as QEMU has plugged ("size").
 */
static int wait_online(struct run *r, const struct step *s)
{
	int timeout = s->nargs > 1 ? atoi(s->args[1]) : 60;
	double deadline = now() + timeout;
	long first, region, count, present, online;
	unsigned long long plugged;

	if (device_blocks(r, s->args[0], &first, &region))
		return -1;
	if (qmp_get_size(r->vm, s->args[0], "size", &plugged))
		return vm_fail(r, "qom-get size");
	count = plugged / r->vm->block_size;
	if (!count)
		return fail(r, "%s has no memory plugged: nothing can come online", s->args[0]);
	for (;;) {
		if (count_blocks(r, first, region, &present, &online))
			return -1;
		if (present == count && online == count) {
			r->counts.checks++;
			return 0;
		}
		if (now() > deadline)
			return hung(r, "%ld of the %ld blocks of %s online after %d s", online,
				    count, s->args[0], timeout);
		if (vm_pump(r->vm, 200))
			return vm_fail(r, "waiting for memory blocks to come online");
	}
}

/*
 * expect_blocks ID online|offline: the guest has exactly the blocks QEMU
 * has plugged for the device (a DIMM: all of it; virtio-mem: its "size"),
 * and every one of them is in that state.
 */
static int expect_blocks(struct run *r, const struct step *s)
{
	bool want_online = !strcmp(s->args[1], "online");
	long first, count, present, online;
	unsigned long long plugged, have;

	if (device_blocks(r, s->args[0], &first, &count))
		return -1;
	if (qmp_get_size(r->vm, s->args[0], "size", &plugged))
		return vm_fail(r, "qom-get size");
	if (count_blocks(r, first, count, &present, &online))
		return -1;
	have = (unsigned long long)present * r->vm->block_size;
	if (have != plugged)
		return fail(r, "%s: the guest has %ld blocks (%llu MiB), QEMU plugged %llu MiB",
			    s->args[0], present, have >> 20, plugged >> 20);
	if (online != (want_online ? present : 0))
		return fail(r, "%s: %ld of %ld blocks online, want all %s", s->args[0], online,
			    present, s->args[1]);
	r->counts.checks++;
	return 0;
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

/*
 * A RAM backend "mem-ID" of SIZE and a memory device of DRIVER (pc-dimm,
 * nvdimm) on it, on NUMA node NODE unless it is negative.
 */
static int memdev_add(struct run *r, const char *driver, const char *id, const char *size_arg,
		      int node)
{
	struct json_object *a;
	unsigned long long size;
	char backend[64];

	parse_size(size_arg, &size);
	snprintf(backend, sizeof(backend), "mem-%s", id);
	a = json_object_new_object();
	json_object_object_add(a, "qom-type", json_object_new_string("memory-backend-ram"));
	json_object_object_add(a, "id", json_object_new_string(backend));
	json_object_object_add(a, "size", json_object_new_uint64(size));
	if (qmp_do(r, "object-add", a))
		return -1;
	a = json_object_new_object();
	json_object_object_add(a, "driver", json_object_new_string(driver));
	json_object_object_add(a, "id", json_object_new_string(id));
	json_object_object_add(a, "memdev", json_object_new_string(backend));
	if (node >= 0)
		json_object_object_add(a, "node", json_object_new_int(node));
	return qmp_do(r, "device_add", a);
}

static int dimm_add(struct run *r, const struct step *s)
{
	long first, count;

	if (memdev_add(r, "pc-dimm", s->args[0], s->args[1], dimm_add_node(s)))
		return -1;
	/* the guest adds the memory while the next steps run */
	if (dimm_add_nowait(s)) {
		r->counts.dimms_added++;
		return 0;
	}
	if (device_blocks(r, s->args[0], &first, &count) ||
	    wait_blocks(r, first, count, count, step_timeout(r)))
		return -1;
	r->counts.dimms_added++;
	say(r, "  %s: %ld new memory blocks (memory%ld..memory%ld)\n", s->args[0],
	    count, first, first + count - 1);
	return 0;
}

/*
 * device_del ID and wait for the outcome: DEVICE_DELETED, or the guest
 * refusing (DEVICE_UNPLUG_GUEST_ERROR, ACPI_EJECT_FAILED on QEMU 7.2).
 */
static int unplug(struct run *r, const char *id, char *which, size_t len)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "id", json_object_new_string(id));
	if (qmp_do(r, "device_del", a))
		return -1;
	if (qmp_wait_event(r->vm, "DEVICE_DELETED|DEVICE_UNPLUG_GUEST_ERROR|ACPI_EJECT_FAILED",
			   id, step_timeout(r), which, len))
		return vm_fail(r, "device_del");
	return 0;
}

static int dimm_del(struct run *r, const struct step *s)
{
	bool want_error = s->nargs > 1 && !strcmp(s->args[1], "error");
	bool quiet = s->nargs > 1 && !strcmp(s->args[1], "quiet");
	struct json_object *a;
	long first, count, present, online;
	char which[64], backend[64];

	if (device_blocks(r, s->args[0], &first, &count))
		return -1;
	if (s->nargs > 1 && !strcmp(s->args[1], "nowait")) {
		/* a provoke scenario's trigger: the guest may not survive it */
		a = json_object_new_object();
		json_object_object_add(a, "id", json_object_new_string(s->args[0]));
		return qmp_do(r, "device_del", a);
	}
	if (unplug(r, s->args[0], which, sizeof(which)))
		return -1;
	if (want_error != !!strcmp(which, "DEVICE_DELETED"))
		return fail(r, "device_del %s ended in %s, want %s", s->args[0], which,
			    want_error ? "DEVICE_UNPLUG_GUEST_ERROR" : "DEVICE_DELETED");
	/*
	 * ACPI: the guest finishes the eject (its _STA check) after
	 * DEVICE_DELETED.  A device plugged into the slot before that is
	 * taken for the one being ejected ("Eject incomplete") and never
	 * added, so wait for the guest's final status of the slot.
	 */
	if (!want_error && qmp_take_event(r->vm, "ACPI_DEVICE_OST", s->args[0]) &&
	    qmp_wait_event(r->vm, "ACPI_EJECT_DONE", "", step_timeout(r), which, sizeof(which)))
		return vm_fail(r, "device_del (the guest's final eject status)");
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
	/* quiet: QEMU's word only, while loop_for keeps the guest from answering */
	if (!quiet && wait_blocks(r, first, count, 0, 30))
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

/*
 * vmem_resize ID SIZE: QEMU's "size" and the guest's blocks must both reach
 * SIZE.  With "partial" the guest cannot give everything back (its memory
 * is in use): the size must come down and settle above SIZE, and what QEMU
 * reports must match what the guest's MemTotal gained (all of the device
 * online, no other memory device).  With "settle" the size must come down,
 * and either reach SIZE or settle above it in the same way: for memory in
 * the kernel zone, where the kernel may have put pages of its own.
 */
static int vmem_resize(struct run *r, const struct step *s)
{
	bool partial = s->nargs > 2 && !strcmp(s->args[2], "partial");
	bool settle = s->nargs > 2 && !strcmp(s->args[2], "settle");
	unsigned long long want, before, size = 0, last = 0;
	double stable_since = now();
	struct json_object *a;
	long first, count, present;
	double deadline = now() + step_timeout(r);
	unsigned long bs = r->vm->block_size;

	parse_size(s->args[1], &want);
	if (!bs || want % bs)
		return fail(r, "%s is not a multiple of the guest's block size (%lu)",
			    s->args[1], bs);
	if (qmp_get_size(r->vm, s->args[0], "size", &before))
		return vm_fail(r, "qom-get size");
	if (before == want)
		return fail(r, "%s already has %s plugged", s->args[0], s->args[1]);
	if ((partial || settle) && want > before)
		return fail(r, "%s is for unplugging", s->args[2]);
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
		if (count_blocks(r, first, count, &present, NULL))
			return -1;
		if (size == want && (unsigned long long)present * bs == want)
			break;
		if (size != last) {
			last = size;
			stable_since = now();
		}
		/*
		 * Partly unplugged memory blocks stay: the guest's view of
		 * what is plugged is MemTotal, all of the device being online.
		 */
		if ((partial || settle) && size < before && now() - stable_since > 15) {
			long kb;

			if (memtotal_kb(r, &kb))
				return -1;
			if ((unsigned long long)(kb - r->memtotal_kb) * 1024 == size)
				break;
		}
		if (now() > deadline)
			return hung(r, "%s: size %llu, guest blocks %ld (%llu bytes), want %llu",
				    s->args[0], size, present, (unsigned long long)present * bs,
				    want);
		if (vm_pump(r->vm, 500))
			return vm_fail(r, "vmem_resize");
	}
	if (partial && size == want)
		return fail(r, "%s: all of it came back: nothing kept the memory busy",
			    s->args[0]);
	if (want > before)
		r->counts.vmem_plugged += size - before;
	else
		r->counts.vmem_unplugged += before - size;
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

	if (agent_cmd(r->vm, reply, sizeof(reply), step_timeout(r), "lockdep") < 0)
		return vm_fail(r, "guest agent");
	if (agent_field(reply, "debug_locks") != 1)
		return fail(r, "lockdep is off (%s): coverage lost", reply);
	r->counts.checks++;
	return 0;
}

/*
 * "{ID}" in a path stands for the first memory block of device ID, "{ID+N}"
 * for the one N blocks after it.
 */
static int expand(struct run *r, const char *in, char *out, size_t len)
{
	const char *open_br = strchr(in, '{'), *close_br;
	char id[40], *plus;
	long first, count, n = 0;

	if (!open_br) {
		snprintf(out, len, "%s", in);
		return 0;
	}
	close_br = strchr(open_br, '}');
	if (!close_br || close_br - open_br - 1 >= (long)sizeof(id))
		return fail(r, "'%s': unterminated {device}", in);
	snprintf(id, sizeof(id), "%.*s", (int)(close_br - open_br - 1), open_br + 1);
	plus = strchr(id, '+');
	if (plus) {
		*plus = '\0';
		n = atol(plus + 1);
	}
	if (device_blocks(r, id, &first, &count))
		return -1;
	if (n >= count)
		return fail(r, "'%s': %s has %ld blocks", in, id, count);
	snprintf(out, len, "%.*s%ld%s", (int)(open_br - in), in, first + n, close_br + 1);
	return 0;
}

/* bg_write PATH VALUE [SECONDS]: the guest writes from a child process. */
static int bg_write(struct run *r, const struct step *s)
{
	char reply[256], path[512], value[300];

	if (expand(r, s->args[0], path, sizeof(path)))
		return -1;
	snprintf(value, sizeof(value), "%s %d", s->args[1],
		 s->nargs > 2 ? atoi(s->args[2]) * 1000 : 0);
	return ok(r, reply, sizeof(reply), "bgwrite %s %s", path, value);
}

/* Every block's state, for "nothing changed" checks. */
static int snapshot(struct run *r, char *buf, size_t len)
{
	return ok(r, buf, len, "blocks", NULL, NULL);
}

/*
 * write PATH VALUE [ok|ENAME]: the write must end as expected.  A write
 * that is expected to fail must also leave every memory block as it was.
 */
static int write_file(struct run *r, const struct step *s)
{
	const char *want = s->nargs > 2 ? s->args[2] : "ok";
	static char before[65536], after[65536];
	char reply[512], path[512];
	bool must_fail = strcmp(want, "ok");
	int rc;

	if (expand(r, s->args[0], path, sizeof(path)) ||
	    (must_fail && snapshot(r, before, sizeof(before))))
		return -1;
	rc = agent_cmd(r->vm, reply, sizeof(reply), step_timeout(r), "write %s %s", path,
		       s->args[1]);
	if (rc < 0)
		return vm_fail(r, "guest agent");
	if (!must_fail ? rc != 0 :
	    rc == 0 || strncmp(reply, want, strlen(want)) || reply[strlen(want)] != ' ')
		return fail(r, "write %s '%s': got %s, want %s", path, s->args[1],
			    rc ? reply : "success", want);
	if (must_fail) {
		if (snapshot(r, after, sizeof(after)))
			return -1;
		if (strcmp(before, after))
			return fail(r, "write %s '%s' failed but changed blocks: %s -> %s",
				    path, s->args[1], before, after);
	}
	r->counts.checks++;
	return 0;
}

/* expect_read PATH VALUE: the first line of the file ("\s" for a space). */
static int expect_read(struct run *r, const struct step *s)
{
	char path[512], want[256], reply[4096];

	if (expand(r, s->args[0], path, sizeof(path)) ||
	    ok(r, reply, sizeof(reply), "read %s", path, NULL))
		return -1;
	unescape_spaces(s->args[1], want, sizeof(want));
	if (strcmp(reply, want))
		return fail(r, "%s reads '%s', want '%s'", path, reply, want);
	r->counts.checks++;
	return 0;
}

/* hold ID anon|pipe SIZE: the guest keeps that much memory busy. */
static int hold_memory(struct run *r, const struct step *s)
{
	unsigned long long size;
	char reply[256], args[96];

	long held;

	parse_size(s->args[2], &size);
	snprintf(args, sizeof(args), "%s %llu", s->args[1], size);
	if (ok(r, reply, sizeof(reply), "hold %s %s", s->args[0], args))
		return -1;
	held = agent_field(reply, "bytes");
	if (held < 0 || (unsigned long long)held < size)
		return fail(r, "hold %s: the guest holds %ld bytes, want %llu (%s)", s->args[0],
			    held, size, reply);
	say(r, "  %s: %s\n", s->args[0], reply);
	r->counts.checks++;
	return 0;
}

static int release_memory(struct run *r, const struct step *s)
{
	char reply[256];

	return ok(r, reply, sizeof(reply), "release %s", s->args[0], NULL);
}

/*
 * wait_console TEXT [SECONDS]: TEXT ("\s" for a space) appears on the
 * console in what was printed since the previous step started: the step
 * before says what is expected to cause it.
 */
static int wait_console(struct run *r, const struct step *s)
{
	int timeout = s->nargs > 1 ? atoi(s->args[1]) : step_timeout(r);
	double deadline = now() + timeout;
	char text[256];

	unescape_spaces(s->args[0], text, sizeof(text));
	while (!r->vm->con_all || !strstr(r->vm->con_all + r->prev_step_off, text)) {
		if (now() > deadline)
			return hung(r, "'%s' did not appear on the console in %d s", text, timeout);
		if (vm_pump(r->vm, 200))
			return vm_fail(r, "wait_console");
	}
	r->counts.checks++;
	return 0;
}

/* " word" appended to an agent command; false when it does not fit. */
static bool append(char *buf, size_t len, size_t *n, const char *word)
{
	int w = snprintf(buf + *n, len - *n, " %s", word);

	if (w < 0 || (size_t)w >= len - *n)
		return false;
	*n += w;
	return true;
}

/*
 * loop_start ID PATH V1 [V2 ...]: the guest cycles the writes in the
 * background.  loop_for ID SECONDS PATH V1 [V2 ...]: the same, ending by
 * itself after SECONDS; until then the rig asks the guest nothing (see
 * step_run()), so that the loop may suspend the system, which resets the
 * agent's channel and drops what the host sends meanwhile.
 */
static int loop_start(struct run *r, const struct step *s)
{
	char cmd[1024], reply[256];
	bool bounded = s->verb == V_LOOP_FOR;
	size_t n = 0;
	int i;

	cmd[0] = '\0';
	for (i = 0; i < s->nargs; i++) {
		char arg[64];

		if (bounded && i == 0)
			snprintf(arg, sizeof(arg), "for=%s", s->args[1]);
		if (!append(cmd, sizeof(cmd), &n, bounded && i == 0 ? arg :
			    bounded && i == 1 ? s->args[0] : s->args[i]))
			return fail(r, "loop %s: the command is too long", s->args[0]);
	}
	if (ok(r, reply, sizeof(reply), "loop%s", cmd, NULL))
		return -1;
	if (bounded) {
		/* the guest starts after half a second; a last write may overrun */
		r->quiet_until = now() + 0.5 + atoi(s->args[1]) + LOOP_FOR_MARGIN;
		r->quiet_loop = s->args[0];
	}
	return 0;
}

/*
 * While a loop_for loop runs the guest is not asked anything: steps run
 * without their mark (scenario_load() allows only host-side ones there),
 * and the loop's loop_stop first waits for the loop to have ended.
 * Returns 1 for a step inside the window.
 */
static int quiet_step(struct run *r, const struct step *s)
{
	if (!r->quiet_loop)
		return 0;
	if (now() < r->quiet_until &&
	    (s->verb != V_LOOP_STOP || strcmp(s->args[0], r->quiet_loop)))
		return 1;
	while (now() < r->quiet_until)
		if (vm_pump(r->vm, 200))
			return vm_fail(r, "loop_stop (waiting for loop_for to end)");
	r->quiet_loop = NULL;
	return 0;
}

/*
 * Whether the failed writes of a loop, by its "errnos=EIO:2,ETIMEDOUT:1",
 * all had an errno in ALLOWED ("EIO,ETIMEDOUT") and add up to its errors;
 * if not, what did not is written to bad.  Called only when writes
 * failed: "none", an empty list, an entry without a count or counts that
 * do not add up are the agent's fault, not allowed.
 */
static bool errnos_allowed(const char *reply, const char *allowed, long errors, char *bad,
			   size_t len)
{
	const char *p = strstr(reply, " errnos=");
	long sum = 0, count;
	char *end = NULL;
	size_t m;

	if (!p || !strncmp(p + 8, "none", 4) || p[8] == ' ' || !p[8]) {
		snprintf(bad, len, "no errno reported");
		return false;
	}
	for (p += 8; *p && *p != ' '; p = end + 1) {
		const char *a = allowed;

		m = strcspn(p, ":, ");
		count = p[m] == ':' && isdigit((unsigned char)p[m + 1]) ?
			strtol(p + m + 1, &end, 10) : -1;
		if (count < 0 || (*end != ',' && *end != ' ' && *end) ||
		    (*end == ',' && (!end[1] || end[1] == ' '))) {
			snprintf(bad, len, "'%.*s' (not ERRNO:COUNT)", (int)strcspn(p, ", "), p);
			return false;
		}
		while (a) {
			size_t k = strcspn(a, ",");

			if (k == m && !strncmp(a, p, m))
				break;
			a = a[k] ? a + k + 1 : NULL;
		}
		if (!a) {
			snprintf(bad, len, "%.*s (%ld write(s))", (int)m, p, count);
			return false;
		}
		sum += count;
		if (*end != ',')
			break;
	}
	if (sum != errors) {
		snprintf(bad, len, "errnos counting %ld of %ld failed writes", sum, errors);
		return false;
	}
	return true;
}

/*
 * loop_stop ID [MIN [SHARE% [ERRNOS]]]: the loop must have completed at least MIN
 * (1) cycles in which every write succeeded, and at most SHARE (0%) of its
 * writes may have failed, each with one of the errnos ERRNOS names.
 */
static int loop_stop(struct run *r, const struct step *s)
{
	long min = s->nargs > 1 ? atol(s->args[1]) : 1, it, writes, errors;
	long share = s->nargs > 2 ? atol(s->args[2]) : 0;
	char reply[320], bad[64];
	const char *errnos;
	FILE *samples = NULL;
	size_t len;
	int rc;

	if (s->metric) {
		/* the guest streams each write's latency before its reply */
		samples = tmpfile();
		if (!samples)
			return fail(r, "loop %s: no temporary file for its samples", s->args[0]);
		r->vm->stream = samples;
	}
	rc = ok(r, reply, sizeof(reply), "stop %s%s", s->args[0], samples ? " samples" : "");
	r->vm->stream = NULL;
	if (samples) {
		long got = rc ? 0 : loop_metrics(r, s, samples);
		long want = agent_field(reply, "samples");

		if (!rc && (got <= 0 || got != want))
			rc = fail(r, "loop %s: measured, but %ld of %ld latencies arrived (%s)",
				  s->args[0], got, want, reply);
		else if (!rc && want < agent_field(reply, "writes"))
			say(r, "  loop %s: only its first %ld writes were timed\n", s->args[0],
			    want);
		fclose(samples);
	}
	if (rc)
		return -1;
	it = agent_field(reply, "iterations");
	writes = agent_field(reply, "writes");
	errors = agent_field(reply, "errors");
	if (it < 0 || writes < 0 || errors < 0)
		return fail(r, "loop %s: the agent did not report its counts (%s)", s->args[0],
			    reply);
	say(r, "  loop %s: %s\n", s->args[0], reply);
	if (!writes)
		return fail(r, "loop %s never wrote (%s)", s->args[0], reply);
	len = strlen(r->counts.loops);
	len += snprintf(r->counts.loops + len, sizeof(r->counts.loops) - len,
			" loop_%s=%ld loop_%s_errors=%ld/%ld", s->args[0], it, s->args[0], errors,
			writes);
	errnos = strstr(reply, " errnos=");
	if (errors && errnos && len < sizeof(r->counts.loops))
		snprintf(r->counts.loops + len, sizeof(r->counts.loops) - len,
			 " loop_%s_errnos=%.*s", s->args[0], (int)strcspn(errnos + 8, " "),
			 errnos + 8);
	/* a failure the scenario did not name first: it says most */
	if (errors && s->nargs > 3 &&
	    !errnos_allowed(reply, s->args[3], errors, bad, sizeof(bad)))
		return fail(r, "loop %s: writes failed with %s, not one of %s (%s)", s->args[0],
			    bad, s->args[3], reply);
	if (it < min)
		return fail(r, "loop %s completed %ld cycles without a failed write, %s %ld (%s)",
			    s->args[0], it, "want at least", min, reply);
	if (errors >= writes)
		return fail(r, "loop %s: none of its %ld writes succeeded (%s)", s->args[0],
			    writes, reply);
	if (errors * 100 > share * writes)
		return fail(r, "loop %s: %ld of %ld writes failed, more than %ld%% (%s)",
			    s->args[0], errors, writes, share, reply);
	return 0;
}

/* The guest's list of present CPUs, as a count ("0-2,4" is 4). */
static int present_cpus(struct run *r, int *n)
{
	char reply[256], *p;
	int a, b, len;

	if (ok(r, reply, sizeof(reply), "read %s", "/sys/devices/system/cpu/present", NULL))
		return -1;
	*n = 0;
	for (p = reply; sscanf(p, "%d%n", &a, &len) == 1; p += len + (p[len] == ',')) {
		b = a;
		if (p[len] == '-') {
			p += len + 1;
			if (sscanf(p, "%d%n", &b, &len) != 1)
				break;
		}
		*n += b - a + 1;
		if (p[len] != ',')
			break;
	}
	return 0;
}

static int wait_present(struct run *r, int want)
{
	double deadline = now() + step_timeout(r);
	int n;

	for (;;) {
		if (present_cpus(r, &n))
			return -1;
		if (n == want)
			return 0;
		if (now() > deadline)
			return hung(r, "the guest has %d CPUs present, want %d", n, want);
		if (vm_pump(r->vm, 200))
			return vm_fail(r, "waiting for CPUs");
	}
}

/*
 * cpu_add ID: a vCPU into the lowest free slot QEMU lists
 * (query-hotpluggable-cpus); the guest sees it and brings it online.
 */
static int cpu_add(struct run *r, const struct step *s)
{
	struct json_object *list, *slot = NULL, *props, *a, *v;
	char path[96], reply[128];
	size_t i;
	int before;

	if (present_cpus(r, &before))
		return -1;
	list = qmp_cmd(r->vm, "query-hotpluggable-cpus", NULL, 30);
	if (!list)
		return vm_fail(r, "query-hotpluggable-cpus");
	/* QEMU lists the slots from the highest: take the lowest free one */
	for (i = 0; i < json_object_array_length(list); i++) {
		v = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(v, "qom-path", NULL))
			slot = v;
	}
	if (!slot) {
		json_object_put(list);
		return fail(r, "no free CPU slot (maxcpus reached)");
	}
	a = json_object_new_object();
	json_object_object_get_ex(slot, "type", &v);
	json_object_object_add(a, "driver", json_object_get(v));
	json_object_object_add(a, "id", json_object_new_string(s->args[0]));
	if (json_object_object_get_ex(slot, "props", &props)) {
		json_object_object_foreach(props, key, val)
			json_object_object_add(a, key, json_object_get(val));
	}
	json_object_put(list);
	if (qmp_do(r, "device_add", a) || wait_present(r, before + 1))
		return -1;
	/* CPUs are numbered densely: the new one is the last present */
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", before);
	if (ok(r, reply, sizeof(reply), "write %s 1", path, NULL))
		return -1;
	r->counts.cpus_added++;
	say(r, "  %s: cpu%d online\n", s->args[0], before);
	return 0;
}

/* cpu_del ID: unplug; the guest takes the CPU offline on the eject request. */
static int cpu_del(struct run *r, const struct step *s)
{
	char which[64];
	int before;

	if (present_cpus(r, &before) || unplug(r, s->args[0], which, sizeof(which)))
		return -1;
	if (strcmp(which, "DEVICE_DELETED"))
		return fail(r, "unplug of %s: %s", s->args[0], which);
	if (wait_present(r, before - 1))
		return -1;
	r->counts.cpus_removed++;
	return 0;
}

void run_sub_add(struct run *r, const char *name, bool ok, const char *why,
		 const char *diag)
{
	struct sub_result *sr;

	if (r->nsubs == MAX_SUB_RESULTS)
		return;
	sr = &r->subs[r->nsubs++];
	snprintf(sr->name, sizeof(sr->name), "%s", name);
	snprintf(sr->why, sizeof(sr->why), "%s", why);
	snprintf(sr->diag, sizeof(sr->diag), "%s", diag);
	sr->ok = ok;
}

/*
 * Each KTAP result of a selftest becomes a result of its own, with the
 * "# totals:" line printed before it as its diagnostics.  A skipped case
 * exercised nothing: it fails like any other.  *plan is the "1..N" line
 * (-1 if none).  Returns the failures.
 */
static int selftest_results(struct run *r, FILE *log, const char *prog, const char *path,
			    int *cases, int *plan)
{
	char line[1024], totals[256] = "", name[160];
	struct ktap_case c;
	int bad = 0;

	rewind(log);
	*cases = 0;
	*plan = -1;
	while (fgets(line, sizeof(line), log)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "# totals: ", 10)) {
			snprintf(totals, sizeof(totals), "%s", line + 10);
			continue;
		}
		if (*plan < 0 && sscanf(line, "1..%d", plan) == 1)
			continue;
		if (!ktap_result(line, &c))
			continue;
		(*cases)++;
		snprintf(name, sizeof(name), "%s/%s", prog, c.name);
		if (c.skipped)
			snprintf(c.note, sizeof(c.note), "%s", strstr(line, "# SKIP") + 2);
		else if (!c.ok)
			snprintf(c.note, sizeof(c.note), "the case failed (see %s)",
				 strrchr(path, '/') + 1);
		run_sub_add(r, name, c.ok && !c.skipped, c.note, totals);
		say(r, "  %s: %s%s\n", name, c.ok && !c.skipped ? "ok" : "FAILED: ",
		    c.ok && !c.skipped ? "" : c.note);
		if (totals[0])
			say(r, "    %s\n", totals);
		bad += !c.ok || c.skipped;
		totals[0] = '\0';
	}
	return bad;
}

/* Did the run report a case named NAME ("fixture.variant.NAME")? */
static bool has_case(const struct run *r, int from, const char *prog, const char *name)
{
	size_t pl = strlen(prog), nl = strlen(name);
	int i;

	for (i = from; i < r->nsubs; i++) {
		const char *n = r->subs[i].name, *dot;

		if (strncmp(n, prog, pl) || n[pl] != '/')
			continue;
		dot = strrchr(n + pl + 1, '.');
		dot = dot ? dot + 1 : n + pl + 1;
		if (strlen(dot) == nl && !strcmp(dot, name))
			return true;
	}
	return false;
}

/*
 * selftest PROGRAM [ARG|NAME=VALUE ...]: a kselftest from the series'
 * tools/testing/selftests, built into the initramfs as /selftests/PROGRAM,
 * runs to its end; NAME=VALUE arguments are its environment.
 */
/*
 * Run an agent "run" command with its output going to PROGRAM-N.log in
 * the results; on success the log is left open (rewound by the caller).
 */
static int run_to_log(struct run *r, const char *prog, const char *cmd, char *reply,
		      size_t len, char *path, size_t plen, FILE **log)
{
	int rc, timeout = r->deadline - now();

	snprintf(path, plen, "%s/%s-%d.log", r->vm->dir, prog, ++r->selftests);
	*log = fopen(path, "w+");
	if (!*log)
		return fail(r, "cannot create %s", path);
	r->vm->stream = *log;
	rc = agent_cmd(r->vm, reply, len, timeout > 1 ? timeout : 1, "%s", cmd);
	r->vm->stream = NULL;
	if (rc) {
		fclose(*log);
		*log = NULL;
		return rc < 0 ? vm_fail(r, prog) : fail(r, "guest: %s", reply);
	}
	return 0;
}

static int selftest(struct run *r, const struct step *s)
{
	char cmd[1024], reply[256], path[700];
	int i, bad, cases, plan, first = r->nsubs;
	bool fits = true;
	size_t n;
	FILE *log;

	n = snprintf(cmd, sizeof(cmd), "run");
	for (i = 1; i < s->nargs; i++)
		if (strchr(s->args[i], '=') && s->args[i][0] != '-')
			fits &= append(cmd, sizeof(cmd), &n, s->args[i]);
	snprintf(path, sizeof(path), "/selftests/%s", s->args[0]);
	fits &= append(cmd, sizeof(cmd), &n, path);
	for (i = 1; i < s->nargs; i++)
		if (!strchr(s->args[i], '=') || s->args[i][0] == '-')
			fits &= append(cmd, sizeof(cmd), &n, s->args[i]);
	if (!fits)
		return fail(r, "%s: the command is too long", s->args[0]);
	if (run_to_log(r, s->args[0], cmd, reply, sizeof(reply), path, sizeof(path), &log))
		return -1;
	bad = selftest_results(r, log, s->args[0], path, &cases, &plan);
	fclose(log);
	if (!cases)
		return fail(r, "%s reported no result (%s; output in %s)", s->args[0], reply, path);
	if (plan != cases)
		return fail(r, "%s: its plan is 1..%d, %d case(s) reported (%s)", s->args[0], plan,
			    cases, path);
	for (i = 1; i + 1 < s->nargs; i++)
		if (!strcmp(s->args[i], "-t") && !has_case(r, first, s->args[0], s->args[i + 1]))
			return fail(r, "%s -t %s: no such case ran (%s)", s->args[0],
				    s->args[i + 1], path);
	/*
	 * Failed cases are results of their own (and fail the run there);
	 * the scenario goes on.  A test that died or exited non-zero with
	 * every case passing is the scenario's failure.
	 */
	if (!bad && agent_field(reply, "exit") != 0)
		return fail(r, "%s ended with %s", s->args[0], reply);
	r->counts.checks += cases - bad;
	return 0;
}

/*
 * NVDIMMs (ZONE_DEVICE).  QEMU's NVDIMMs have no label area, so each one
 * is a region with a single namespace, regionN and namespaceN.0, found by
 * its guest-physical address.  "dax ID devdax" turns the namespace into
 * device-dax the way ndctl does: the raw namespace leaves nd_pmem, the
 * region's dax seed claims it (struct pages on the device: mode pmem; a
 * uuid for the info block it writes at the namespace's start) and
 * is bound to dax_pmem, which creates daxN.0 on the dax bus; device_dax
 * binds it (memremap_pages()).  "dax ID kmem" moves daxN.0 to the kmem
 * driver (memunmap_pages(), then add_memory_driver_managed(): new offline
 * blocks inside the NVDIMM's range); "dax ID none" unbinds it from either
 * (memunmap_pages() or remove_memory(), whose blocks must be gone).
 */
static int nd_region(struct run *r, const char *id, int *region)
{
	unsigned long long addr, size;
	char path[128], reply[256];
	int n, rc;

	if (qmp_device_range(r->vm, id, &addr, &size))
		return vm_fail(r, id);
	for (n = 0; n < 16; n++) {
		snprintf(path, sizeof(path), "/sys/bus/nd/devices/region%d/resource", n);
		rc = agent_cmd(r->vm, reply, sizeof(reply), 10, "read %s", path);
		if (rc < 0)
			return vm_fail(r, "guest agent");
		if (!rc && strtoull(reply, NULL, 0) == addr) {
			*region = n;
			return 0;
		}
	}
	return -1;
}

static int nvdimm_add(struct run *r, const struct step *s)
{
	double deadline = now() + step_timeout(r);
	int region;

	if (memdev_add(r, "nvdimm", s->args[0], s->args[1], -1))
		return -1;
	while (nd_region(r, s->args[0], &region)) {
		if (r->why[0])
			return -1;
		if (now() > deadline)
			return hung(r, "%s: no NVDIMM region at its address after %d s",
				    s->args[0], step_timeout(r));
		if (vm_pump(r->vm, 200))
			return vm_fail(r, "waiting for the NVDIMM region");
	}
	say(r, "  %s: region%d\n", s->args[0], region);
	return 0;
}

/* Which dax driver has daxN.0: "device_dax", "kmem", or "" (none; absent). */
static int dax_driver(struct run *r, int region, const char **drv)
{
	static const char *const drivers[] = { "device_dax", "kmem" };
	char reply[256];
	size_t i;
	int rc;

	*drv = "";
	for (i = 0; i < 2; i++) {
		rc = agent_cmd(r->vm, reply, sizeof(reply), 10,
			       "read /sys/bus/dax/drivers/%s/dax%d.0/size", drivers[i], region);
		if (rc < 0)
			return vm_fail(r, "guest agent");
		if (!rc)
			*drv = drivers[i];
	}
	return 0;
}

static int guest_write(struct run *r, const char *path, const char *value)
{
	char reply[256];

	return ok(r, reply, sizeof(reply), "write %s %s", path, value);
}

/* The namespace becomes device-dax: daxN.0 exists (bound to device_dax). */
static int dax_configure(struct run *r, int region)
{
	char ns[32], seed[64], path[128], reply[256], uuid[40];
	int rc;

	snprintf(ns, sizeof(ns), "namespace%d.0", region);
	rc = agent_cmd(r->vm, reply, sizeof(reply), 10,
		       "write /sys/bus/nd/drivers/nd_pmem/unbind %s", ns);
	if (rc < 0)
		return vm_fail(r, "guest agent");
	if (rc > 0 && strncmp(reply, "ENODEV ", 7))
		return fail(r, "guest: %s", reply);
	snprintf(path, sizeof(path), "/sys/bus/nd/devices/region%d/dax_seed", region);
	if (ok(r, reply, sizeof(reply), "read %s", path, NULL))
		return -1;
	if (!*reply)
		return fail(r, "region%d has no dax seed", region);
	snprintf(seed, sizeof(seed), "%s", reply);
	snprintf(path, sizeof(path), "/sys/bus/nd/devices/%s/mode", seed);
	if (guest_write(r, path, "pmem"))
		return -1;
	/* the info block written at the start of the namespace needs a uuid */
	snprintf(path, sizeof(path), "/sys/bus/nd/devices/%s/uuid", seed);
	snprintf(uuid, sizeof(uuid), "6d656d68-7000-4000-8000-%012x", region);
	if (guest_write(r, path, uuid))
		return -1;
	snprintf(path, sizeof(path), "/sys/bus/nd/devices/%s/namespace", seed);
	if (guest_write(r, path, ns) || guest_write(r, "/sys/bus/nd/drivers/dax_pmem/bind", seed))
		return -1;
	say(r, "  region%d: %s holds %s as device-dax\n", region, seed, ns);
	return 0;
}

static int dax_use(struct run *r, const struct step *s)
{
	const char *want = s->args[1], *drv, *target;
	unsigned long long start, size;
	char dev[32], path[128], reply[256];
	unsigned long bs = r->vm->block_size;
	long first, count, present, kfirst, kcount;
	bool configured = false;
	int region;

	target = !strcmp(want, "devdax") ? "device_dax" : !strcmp(want, "kmem") ? "kmem" : "";
	if (nd_region(r, s->args[0], &region))
		return r->why[0] ? -1 : fail(r, "%s: no NVDIMM region in the guest", s->args[0]);
	if (device_blocks(r, s->args[0], &first, &count))
		return -1;
	snprintf(dev, sizeof(dev), "dax%d.0", region);
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/size", dev);
	if (agent_cmd(r->vm, reply, sizeof(reply), 10, "read %s", path) > 0) {
		if (!*target)
			return fail(r, "%s: not device-dax: nothing to unbind", s->args[0]);
		if (dax_configure(r, region))
			return -1;
		configured = true;
	}
	if (dax_driver(r, region, &drv))
		return -1;
	if (!configured && !strcmp(drv, target))
		return fail(r, "%s: %s is already %s: the step would change nothing", s->args[0],
			    dev, want);
	if (*drv && strcmp(drv, target)) {
		snprintf(path, sizeof(path), "/sys/bus/dax/drivers/%s/unbind", drv);
		if (guest_write(r, path, dev))
			return -1;
		if (!strcmp(drv, "kmem")) {
			if (count_blocks(r, first, count, &present, NULL))
				return -1;
			if (present)
				return fail(r, "%s: kmem let go of %s but %ld of its %s",
					    s->args[0], dev, present,
					    "blocks are still there (remove_memory() failed)");
			r->counts.kmem_removed++;
		} else {
			r->counts.dax_unmapped++;
		}
	}
	if (!strcmp(want, "devdax") && strcmp(drv, target)) {
		if (guest_write(r, "/sys/bus/dax/drivers/device_dax/bind", dev))
			return -1;
	} else if (!strcmp(want, "kmem")) {
		if (guest_write(r, "/sys/bus/dax/drivers/kmem/new_id", dev))
			return -1;
	}
	if (dax_driver(r, region, &drv))
		return -1;
	if (strcmp(drv, target))
		return fail(r, "%s: %s is bound to '%s', want %s", s->args[0], dev,
			    *drv ? drv : "no driver", want);
	if (!strcmp(want, "devdax")) {
		r->counts.dax_mapped++;
	} else if (!strcmp(want, "kmem")) {
		/* kmem hotplugs the part of the dax range that fills whole blocks */
		snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/resource", dev);
		if (ok(r, reply, sizeof(reply), "read %s", path, NULL))
			return -1;
		start = strtoull(reply, NULL, 0);
		snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/size", dev);
		if (ok(r, reply, sizeof(reply), "read %s", path, NULL))
			return -1;
		size = strtoull(reply, NULL, 0);
		kfirst = (start + bs - 1) / bs;
		kcount = (long)((start + size) / bs) - kfirst;
		if (kcount <= 0)
			return fail(r, "%s: %s (%llu bytes) holds no whole memory block",
				    s->args[0], dev, size);
		if (wait_blocks(r, first, count, kcount, step_timeout(r)))
			return -1;
		r->counts.kmem_added++;
		say(r, "  %s: kmem added %ld blocks (memory%ld..memory%ld)\n", s->args[0], kcount,
		    kfirst, kfirst + kcount - 1);
	}
	r->counts.checks++;
	return 0;
}

/*
 * shell_test SCRIPT [ARG ...]: a kselftest shell script of the base tree,
 * unmodified (/selftests/SCRIPT), run by busybox sh with busybox's
 * applets in PATH, judged as kselftest's runner judges it: exit 0 passes,
 * 4 is a skip, anything else fails.  A skip, or a part of the script that
 * skipped itself (a line beginning "skip "), exercised nothing: it fails.
 */
static int shell_test(struct run *r, const struct step *s)
{
	char cmd[1024], reply[256], path[700], line[1024];
	int i;
	long status, skips = 0, lines = 0;
	bool fits = true;
	size_t n;
	FILE *log;

	if (ok(r, reply, sizeof(reply), "run /bin/busybox --install -s /bin", NULL, NULL))
		return -1;
	n = snprintf(cmd, sizeof(cmd), "run PATH=/bin:/sbin /bin/busybox sh /selftests/%s",
		     s->args[0]);
	for (i = 1; i < s->nargs; i++)
		fits &= append(cmd, sizeof(cmd), &n, s->args[i]);
	if (!fits)
		return fail(r, "%s: the command is too long", s->args[0]);
	if (run_to_log(r, s->args[0], cmd, reply, sizeof(reply), path, sizeof(path), &log))
		return -1;
	rewind(log);
	while (fgets(line, sizeof(line), log)) {
		lines++;
		if (!strncmp(line, "skip ", 5))
			skips++;
	}
	fclose(log);
	status = agent_field(reply, "exit");
	if (status == 4)
		return fail(r, "%s skipped (exit 4): it exercised nothing (%s)", s->args[0], path);
	if (status)
		return fail(r, "%s failed: %s (%s)", s->args[0], reply, path);
	if (skips)
		return fail(r, "%s passed, but %ld part(s) of it skipped themselves (%s)",
			    s->args[0], skips, path);
	say(r, "  %s: exit 0, %ld line(s) of output in %s\n", s->args[0], lines, path);
	r->counts.checks++;
	return 0;
}

/*
 * The agent's failnth: one write of VALUE to PATH with fault site NTH
 * failing (and with "task", the thread's make-it-fail set).  The agent's
 * return code (0, or 1 with the write's error in reply), -1 when the
 * guest did not answer or said nothing of the fault; *left is what
 * remained of NTH.
 */
static int agent_failnth(struct run *r, const char *nth, const char *path, const char *value,
			 const char *task, char *reply, size_t len, long *left)
{
	int rc = agent_cmd(r->vm, reply, len, step_timeout(r), "failnth %s %s %s%s", nth, path,
			   value, task);
	char *p;

	if (rc < 0)
		return vm_fail(r, "guest agent");
	p = strstr(reply, "left=");
	if (!p)
		return fail(r, "guest: %s", reply);
	*left = strtol(p + 5, NULL, 10);
	return rc;
}

/*
 * fault_sweep ID ONLINE-TYPE [MAX-SITES]: online the first block of device
 * ID over and over, failing the 1st, 2nd, ... fault injection site the
 * write reaches (the agent's failnth; failslab and fail_page_alloc must be
 * set up to take GFP_KERNEL allocations), until a write gets through
 * without reaching the N-th site.  A write that fails must fail with
 * ENOMEM and leave every block as it was (online_pages() unwound); one
 * that succeeds although its fault was injected (the kernel coped with
 * the failed allocation) is offlined again for the next round.  At least
 * one write must have failed: otherwise nothing was unwound.
 */
static int fault_sweep(struct run *r, const struct step *s)
{
	static char before[65536], after[65536];
	int max = s->nargs > 2 ? atoi(s->args[2]) : 1000, n, rc;
	long first, count, unwound = 0, absorbed = 0, left;
	char path[128], reply[512], nth[16];

	if (device_blocks(r, s->args[0], &first, &count))
		return -1;
	snprintf(path, sizeof(path), "/sys/devices/system/memory/memory%ld/state", first);
	for (n = 1; n <= max; n++) {
		if (snapshot(r, before, sizeof(before)))
			return -1;
		snprintf(nth, sizeof(nth), "%d", n);
		rc = agent_failnth(r, nth, path, s->args[1], "", reply, sizeof(reply), &left);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			if (strncmp(reply, "ENOMEM ", 7))
				return fail(r, "online with site %d failing: got %s, want ENOMEM",
					    n, reply);
			if (snapshot(r, after, sizeof(after)))
				return -1;
			if (strcmp(before, after))
				return fail(r, "online failed at site %d %s: %s -> %s", n,
					    "but changed blocks", before, after);
			unwound++;
			continue;
		}
		if (left > 0)
			break;
		absorbed++;
		if (agent_cmd(r->vm, reply, sizeof(reply), step_timeout(r), "write %s offline",
			      path))
			return fail(r, "offlining memory%ld again after site %d: %s", first, n,
				    reply);
	}
	if (n > max)
		return fail(r, "the online still reached a %dth fault site (MAX-SITES %d)", max,
			    max);
	if (!unwound)
		return fail(r, "none of the %d fault sites made the online fail: nothing unwound",
			    n - 1);
	say(r, "  memory%ld: %d fault site(s) in online; %ld failed and unwound, %ld absorbed\n",
	    first, n - 1, unwound, absorbed);
	r->counts.checks += n;
	return 0;
}

/*
 * The number in column 2 of the line of guest file PATH whose first
 * column is KEY (/proc/vmstat, kprobe_profile).
 */
static int guest_column(struct run *r, const char *path, const char *key, long *val)
{
	char reply[256], name[256], *buf, *line, *save = NULL;
	int rc = agent_cat(r->vm, path, step_timeout(r), &buf, reply, sizeof(reply));

	if (rc)
		return rc < 0 ? vm_fail(r, "guest agent") : fail(r, "guest: %s", reply);
	rc = -1;
	for (line = strtok_r(buf, "\n", &save); line && rc; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%255s %ld", name, val) == 2 && !strcmp(name, key))
			rc = 0;
	free(buf);
	if (rc)
		return fail(r, "%s has no line for %s", path, key);
	return 0;
}

/*
 * fault_twice PATH VALUE UNDO NTH SPACE SYMBOL COUNTER: one write of VALUE
 * to PATH with two allocations failing: the NTH fault injection site of
 * the write (fail-nth) and, through fail_page_alloc's task filter, the
 * first page allocation after it that SPACE does not cover (space counts
 * pages: 2 lets one order-0 allocation through).  The scenario sets
 * probability, task-filter and the gfp knobs; the step arms space and
 * times=2 (the fail-nth failure counts against times too).  That reaches
 * the error path of a second allocation that comes after a first one was
 * coped with: a rollback.  SYMBOL (a kprobe armed by the step) must run
 * during the write, or the path was not reached and the step fails.  Then
 * UNDO goes to PATH, and the /proc/vmstat COUNTER must be back where it
 * was before the write.
 */
static int fault_twice(struct run *r, const struct step *s)
{
	const char *path = s->args[0], *sym = s->args[5], *counter = s->args[6];
	long base, val, hits, before, left;
	char reply[512], ev[128];

	/* kprobe_profile names events without their group: one of our own */
	snprintf(ev, sizeof(ev), "twice_%s", sym);
	if (agent_cmd(r->vm, reply, sizeof(reply), step_timeout(r),
		      "write " TRACEFS "/kprobe_events p:rigstep/%s\\s%s", ev, sym) ||
	    agent_cmd(r->vm, reply, sizeof(reply), step_timeout(r),
		      "write " TRACEFS "/events/rigstep/%s/enable 1", ev))
		return fail(r, "cannot probe %s (%s; a kernel without %s?)", sym, reply,
			    "CONFIG_KPROBE_EVENTS");
	if (guest_column(r, "/proc/vmstat", counter, &base) ||
	    ok(r, reply, sizeof(reply), "write /sys/kernel/debug/fail_page_alloc/space %s",
	       s->args[4], NULL) ||
	    ok(r, reply, sizeof(reply), "write /sys/kernel/debug/fail_page_alloc/times 2",
	       NULL, NULL) ||
	    guest_column(r, TRACEFS "/kprobe_profile", ev, &before))
		return -1;
	if (agent_failnth(r, s->args[3], path, s->args[1], " task", reply, sizeof(reply),
			  &left) < 0)
		return -1;
	if (ok(r, reply, sizeof(reply), "write /sys/kernel/debug/fail_page_alloc/times 0",
	       NULL, NULL) ||
	    guest_column(r, TRACEFS "/kprobe_profile", ev, &hits) ||
	    ok(r, reply, sizeof(reply), "write %s %s", path, s->args[2]) ||
	    guest_column(r, "/proc/vmstat", counter, &val))
		return -1;
	if (left > 0)
		return fail(r, "the write reached only %ld of %s fault sites",
			    atol(s->args[3]) - left, s->args[3]);
	if (hits <= before)
		return fail(r, "%s did not run: the error path was not reached", sym);
	if (val != base)
		return fail(r, "%s is %ld after '%s', %ld before the write", counter, val,
			    s->args[2], base);
	say(r, "  %s: site %s failed, and the allocation after the next: %s ran %ld %s\n",
	    path, s->args[3], sym, hits - before, "time(s)");
	say(r, "  %s back at %ld\n", counter, val);
	r->counts.checks += 3;
	return 0;
}

/*
 * lockdep_after CLASS: the lock classes lockdep has seen taken after CLASS
 * so far, from /proc/lockdep (saved as lockdep-N.log); the direct ones go
 * to lockdep-after-CLASS.txt, the count of all into the diagnostics.
 */
static int lockdep_after_step(struct run *r, const struct step *s)
{
	char reply[256], path[700];
	FILE *log, *list;
	size_t len;
	long n;

	if (run_to_log(r, "lockdep", "run /bin/busybox cat /proc/lockdep", reply, sizeof(reply),
		       path, sizeof(path), &log))
		return -1;
	snprintf(path, sizeof(path), "%s/lockdep-after-%s.txt", r->vm->dir, s->args[0]);
	list = fopen(path, "w");
	if (!list) {
		fclose(log);
		return fail(r, "lockdep_after: cannot write %s", path);
	}
	n = lockdep_after(log, s->args[0], list);
	fclose(log);
	fclose(list);
	if (agent_field(reply, "exit") != 0)
		return fail(r, "lockdep_after: reading /proc/lockdep failed (%s)", reply);
	if (n == -2)
		return fail(r, "lockdep_after: %s (%s)", "/proc/lockdep lists no dependencies",
			    "a kernel without CONFIG_PROVE_LOCKING?");
	if (n < 0)
		return fail(r, "lockdep_after: /proc/lockdep has no class %s (nothing took it?)",
			    s->args[0]);
	len = strlen(r->counts.loops);
	snprintf(r->counts.loops + len, sizeof(r->counts.loops) - len, " after_%s=%ld",
		 s->args[0], n);
	if (s->metric)
		metric_add(r, s->metric, "classes", n);
	return 0;
}

/*
 * expect_no_leak: kmemleak scans twice; an object both listings name is a
 * leak (one scan alone can name an object in flight, see rig/kmemleak.c).
 * Both listings are saved as kmemleak-N.log, a file the scanner fixtures
 * take as it is (tests/fixtures/NAME.scans).
 */
static int expect_no_leak(struct run *r)
{
	char reply[256], path[700], *text = NULL;
	struct titles t = { 0 };
	size_t size = 0;
	FILE *f, *log;
	int i, n = 0;

	f = open_memstream(&text, &size);
	if (!f)
		return fail(r, "out of memory");
	for (i = 1; i <= 2 && !n; i++) {
		n = agent_cmd(r->vm, reply, sizeof(reply), step_timeout(r),
			      "write " KMEMLEAK " scan");
		if (n) {
			n = n < 0 ? vm_fail(r, "guest agent") :
				fail(r, "kmemleak scan %d: %s (kmemleak off, or %s?)", i, reply,
				     "a kernel without CONFIG_DEBUG_KMEMLEAK");
			break;
		}
		fprintf(f, "== scan %d ==\n", i);
		r->vm->stream = f;
		n = agent_cmd(r->vm, reply, sizeof(reply), step_timeout(r),
			      "run /bin/busybox cat " KMEMLEAK);
		r->vm->stream = NULL;
		if (n < 0)
			n = vm_fail(r, "guest agent");
		else if (n || agent_field(reply, "exit") != 0)
			n = fail(r, "reading " KMEMLEAK ": %s", reply);
	}
	fclose(f);
	if (n) {
		free(text);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/kmemleak-%d.log", r->vm->dir, ++r->selftests);
	log = fopen(path, "w");
	if (log) {
		fwrite(text, 1, size, log);
		fclose(log);
	}
	n = kmemleak_confirmed(text, NULL, &t);
	free(text);
	r->counts.checks++;
	if (n > 0)
		fail(r, "%s%s: %d object(s) unreferenced in two scans, see %s", t.t[0],
		     t.n > 1 ? " (and more)" : "", n, path);
	else if (n < 0)
		fail(r, "%s: not two listings", path);
	titles_free(&t);
	return n ? -1 : 0;
}

/* sleep SECONDS: nothing but the guest's background loops, for a while */
static int sleep_step(struct run *r, const struct step *s)
{
	double until = now() + atoi(s->args[0]);

	while (now() < until)
		if (vm_pump(r->vm, 200))
			return vm_fail(r, "sleep");
	return 0;
}

/* NAME.hold_max, NAME.hold_total (us) and NAME.reads of a measured step */
static void hold_metrics(struct run *r, const char *name, const struct lock_hold *h)
{
	char metric[160];

	if (!name)
		return;
	snprintf(metric, sizeof(metric), "%s.hold_max", name);
	metric_add(r, metric, "us", h->max_us);
	snprintf(metric, sizeof(metric), "%s.hold_total", name);
	metric_add(r, metric, "us", h->total_us);
	snprintf(metric, sizeof(metric), "%s.reads", name);
	metric_add(r, metric, "n", h->acquisitions);
}

/*
 * lock_stat CLASS: the read-side holds of CLASS since the previous
 * lock_stat step (or the boot), from /proc/lock_stat (saved as
 * lockstat-N.log), which is then cleared for the next one.
 */
static int lock_stat_step(struct run *r, const struct step *s)
{
	char reply[256], path[700];
	struct lock_hold h = { 0 };
	FILE *log;
	int rc;

	if (run_to_log(r, "lockstat", "run /bin/busybox cat /proc/lock_stat", reply, sizeof(reply),
		       path, sizeof(path), &log))
		return -1;
	rc = lock_stat_read(log, s->args[0], &h);
	fclose(log);
	if (agent_field(reply, "exit") != 0 || rc == -2)
		return fail(r, "lock_stat: no /proc/lock_stat to read (%s; %s)", reply,
			    "a kernel without CONFIG_LOCK_STAT?");
	if (rc == -1) {
		/* no read holds since the last clear: is there such a class? */
		if (run_to_log(r, "lockdep", "run /bin/busybox cat /proc/lockdep", reply,
			       sizeof(reply), path, sizeof(path), &log))
			return -1;
		rc = lockdep_after(log, s->args[0], NULL);
		fclose(log);
		if (rc == -1)
			return fail(r, "lock_stat: lockdep knows no lock class %s", s->args[0]);
	}
	hold_metrics(r, s->metric, &h);
	say(r, "  %s read holds: %.0f, longest %.2f us, %.2f us in all\n", s->args[0],
	    h.acquisitions, h.max_us, h.total_us);
	return ok(r, reply, sizeof(reply), "write /proc/lock_stat %s", "0", NULL);
}

/*
 * read_holds LOCK UNLOCK: the read holds of a lock since the previous
 * read_holds step, timed by a kprobe on each function; the lock's probe
 * records its caller (the arch row's retaddr).  The first read_holds arms
 * the probes and begins the window.  The trace is saved as holds-N.log and
 * cleared; with "measure NAME": NAME.hold_max, NAME.hold_total and
 * NAME.reads as lock_stat gives them, and a line per caller in holds.tsv.
 * Plain breakpoints (the kprobe optimizer would take cpu_hotplug_lock in
 * a window of its own), tracing on (--callers turns it off), and one clock
 * for all CPUs (a task's unlock may be on another CPU than its lock).
 */
static int holds_clear(struct run *r, char *reply, size_t len)
{
	int rc = agent_cmd(r->vm, reply, len, step_timeout(r),
			   "run /bin/busybox sh -c :>" TRACEFS "/trace");

	if (rc < 0)
		return vm_fail(r, "guest agent");
	if (rc || agent_field(reply, "exit") != 0)
		return fail(r, "read_holds: cannot clear " TRACEFS "/trace (%s)", reply);
	return 0;
}

static int read_holds_arm(struct run *r, const struct step *s)
{
	const char *ret = r->vm->arch->retaddr;
	char reply[256];
	int rc;

	if (ok(r, reply, sizeof(reply), "write /proc/sys/debug/kprobes-optimization %s", "0",
	       NULL))
		return -1;
	rc = agent_cmd(r->vm, reply, sizeof(reply), step_timeout(r),
		       "write " TRACEFS "/kprobe_events p:righold/rig_rlock\\s%s%s%s%s",
		       s->args[0], *ret ? "\\scaller=" : "", ret, *ret ? ":symbol" : "");
	if (!rc)
		rc = agent_cmd(r->vm, reply, sizeof(reply), step_timeout(r),
			       "write " TRACEFS "/kprobe_events p:righold/rig_runlock\\s%s",
			       s->args[1]);
	if (rc < 0)
		return vm_fail(r, "guest agent");
	if (rc)
		return fail(r, "read_holds: cannot probe %s and %s (%s: %s)", s->args[0],
			    s->args[1], reply, "no such function, or no CONFIG_KPROBE_EVENTS?");
	snprintf(r->holds_armed, sizeof(r->holds_armed), "%s %s", s->args[0], s->args[1]);
	if (ok(r, reply, sizeof(reply), "write " TRACEFS "/trace_clock %s", "global", NULL) ||
	    ok(r, reply, sizeof(reply), "write " TRACEFS "/buffer_size_kb %s", "4096", NULL) ||
	    ok(r, reply, sizeof(reply), "write " TRACEFS "/events/righold/enable %s", "1",
	       NULL) ||
	    ok(r, reply, sizeof(reply), "write " TRACEFS "/tracing_on %s", "1", NULL))
		return -1;
	return holds_clear(r, reply, sizeof(reply));
}

static int read_holds_step(struct run *r, const struct step *s)
{
	char reply[256], path[700], metric[160];
	struct read_holds h;
	FILE *log, *tsv;
	int rc, i;

	if (!r->holds_armed[0])
		return read_holds_arm(r, s);
	snprintf(reply, sizeof(reply), "%s %s", s->args[0], s->args[1]);
	if (strcmp(reply, r->holds_armed))
		return fail(r, "read_holds: the probes are on %s, not %s", r->holds_armed, reply);
	if (run_to_log(r, "holds", "run /bin/busybox cat " TRACEFS "/trace", reply,
		       sizeof(reply), path, sizeof(path), &log))
		return -1;
	rc = read_holds_parse(log, &h);
	fclose(log);
	if (rc == -1)
		return fail(r, "read_holds: %s is not a trace", path);
	if (rc == -2)
		return fail(r, "read_holds: %s has more tasks or nested holds than %s", path,
			    "the parser keeps");
	if (h.lost)
		return fail(r, "read_holds: the trace buffer lost %ld events of the window",
			    h.lost);
	hold_metrics(r, s->metric, &h.all);
	if (s->metric) {
		if (h.open) {
			snprintf(metric, sizeof(metric), "%s.open", s->metric);
			metric_add(r, metric, "n", h.open);
		}
		snprintf(path, sizeof(path), "%s/holds.tsv", r->vm->dir);
		tsv = fopen(path, "a");
		if (!tsv)
			return fail(r, "read_holds: cannot write %s", path);
		for (i = 0; i < h.ncallers; i++)
			fprintf(tsv, "%s\t%s\t%.0f\t%.9g\t%.9g\n", s->metric, h.callers[i].name,
				h.callers[i].holds, h.callers[i].max_us, h.callers[i].total_us);
		fclose(tsv);
	}
	say(r, "  %s: %.0f read holds, longest %.2f us, %.2f us in all; %ld still held\n",
	    s->args[0], h.all.acquisitions, h.all.max_us, h.all.total_us, h.open);
	for (i = 0; i < h.ncallers; i++)
		say(r, "    by %s: %.0f, longest %.2f us\n", h.callers[i].name,
		    h.callers[i].holds, h.callers[i].max_us);
	return holds_clear(r, reply, sizeof(reply));
}

int step_run(struct run *r, const struct step *s)
{
	char mark[128];

	int quiet = quiet_step(r, s);

	if (quiet < 0)
		return -1;
	r->prev_step_off = r->step_off;
	r->step_off = r->vm->con_all_len;
	snprintf(mark, sizeof(mark), "mark step %d: line %d %s", ++r->nstep, s->line,
		 verb_name(s->verb));
	if (!quiet)
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
	case V_WAIT_ONLINE:
		return wait_online(r, s);
	case V_EXPECT_LOCKDEP:
		return expect_lockdep(r);
	case V_EXPECT_BLOCKS:
		return expect_blocks(r, s);
	case V_WRITE:
		return write_file(r, s);
	case V_BG_WRITE:
		return bg_write(r, s);
	case V_WAIT_CONSOLE:
		return wait_console(r, s);
	case V_LOOP_START:
	case V_LOOP_FOR:
		return loop_start(r, s);
	case V_LOOP_STOP:
		return loop_stop(r, s);
	case V_SELFTEST:
		return selftest(r, s);
	case V_EXPECT_READ:
		return expect_read(r, s);
	case V_HOLD:
		return hold_memory(r, s);
	case V_RELEASE:
		return release_memory(r, s);
	case V_CPU_ADD:
		return cpu_add(r, s);
	case V_CPU_DEL:
		return cpu_del(r, s);
	case V_NVDIMM_ADD:
		return nvdimm_add(r, s);
	case V_DAX:
		return dax_use(r, s);
	case V_SHELL_TEST:
		return shell_test(r, s);
	case V_FAULT_SWEEP:
		return fault_sweep(r, s);
	case V_FAULT_TWICE:
		return fault_twice(r, s);
	case V_LOCKDEP_AFTER:
		return lockdep_after_step(r, s);
	case V_LOCK_STAT:
		return lock_stat_step(r, s);
	case V_READ_HOLDS:
		return read_holds_step(r, s);
	case V_SLEEP:
		return sleep_step(r, s);
	case V_EXPECT_NO_LEAK:
		return expect_no_leak(r);
	case V_NR_VERBS:
		break;
	}
	return fail(r, "internal: unknown verb");
}

/* lockdep at the end, whatever happened: 1 on, 0 off, -1 the guest cannot say. */
int run_lockdep_state(struct run *r)
{
	char reply[256];
	long v;

	if (r->vm->dead || agent_cmd(r->vm, reply, sizeof(reply), 10, "lockdep") < 0)
		return -1;
	v = agent_field(reply, "debug_locks");
	return v < 0 ? -1 : v == 1;
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
