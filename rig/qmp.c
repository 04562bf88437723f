// SPDX-License-Identifier: GPL-2.0
/*
 * QMP client on top of json-c.  Every message in either direction goes
 * into qmp.log with a timestamp relative to QEMU's start.  Events are
 * queued; a waiter consumes the first matching one.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rig.h"

static void log_msg(struct vm *vm, const char *dir, struct json_object *o)
{
	fprintf(vm->qmp_log, "%8.3f %s %s\n", now() - vm->started, dir,
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static const char *str_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int int_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v) || !json_object_object_get_ex(v, b, &v))
		return -1;
	return json_object_get_int(v);
}

/*
 * QEMU 7.2 reports a guest's refusal to eject an ACPI device only as
 * ACPI_DEVICE_OST: source 3 (eject request), status 0x80..0x83 (not
 * supported, in use, busy, dependency busy); 0x84 is "in progress".
 * Newer QEMUs also send DEVICE_UNPLUG_GUEST_ERROR.
 */
static bool acpi_eject_failed(struct json_object *data)
{
	int status = int_at(data, "info", "status");

	return int_at(data, "info", "source") == 3 && status >= 0x80 && status <= 0x83;
}

static void push_event(struct vm *vm, struct json_object *msg)
{
	struct json_object *data = NULL, *inf;
	const char *dev = NULL;
	struct event *e;

	if (vm->nevents == (int)ARRAY_SIZE(vm->events)) {
		memmove(vm->events, vm->events + 1, sizeof(vm->events) - sizeof(vm->events[0]));
		vm->nevents--;
	}
	e = &vm->events[vm->nevents++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", str_at(msg, "event", NULL));
	e->when = now();
	json_object_object_get_ex(msg, "data", &data);
	if (data) {
		dev = str_at(data, "device", NULL) ?: str_at(data, "id", NULL);
		if (!dev && json_object_object_get_ex(data, "info", &inf))
			dev = str_at(inf, "device", NULL);
	}
	snprintf(e->device, sizeof(e->device), "%s", dev ?: "");
	if (data && !strcmp(e->name, "ACPI_DEVICE_OST") && acpi_eject_failed(data))
		snprintf(e->name, sizeof(e->name), "ACPI_EJECT_FAILED");
	/*
	 * The guest's last word on an eject: it evaluates _STA after _EJ0,
	 * that is after QEMU sent DEVICE_DELETED, and reports success for a
	 * slot that no longer has a device.
	 */
	if (data && !strcmp(e->name, "ACPI_DEVICE_OST") && !dev &&
	    int_at(data, "info", "source") == 3 && int_at(data, "info", "status") == 0)
		snprintf(e->name, sizeof(e->name), "ACPI_EJECT_DONE");
}

/* Takes a queued event NAME for DEVICE, if there is one; never waits. */
bool qmp_take_event(struct vm *vm, const char *name, const char *device)
{
	int i;

	for (i = 0; i < vm->nevents; i++) {
		if (strcmp(vm->events[i].name, name) || strcmp(vm->events[i].device, device))
			continue;
		memmove(&vm->events[i], &vm->events[i + 1],
			(vm->nevents - i - 1) * sizeof(vm->events[0]));
		vm->nevents--;
		return true;
	}
	return false;
}

int qmp_handle(struct vm *vm, struct json_object *msg)
{
	log_msg(vm, "<-", msg);
	if (str_at(msg, "event", NULL)) {
		push_event(vm, msg);
	} else if (json_object_object_get_ex(msg, "return", NULL) ||
		   json_object_object_get_ex(msg, "error", NULL)) {
		struct json_object *id;

		/* only the answer to the command being waited for */
		if (!json_object_object_get_ex(msg, "id", &id) ||
		    json_object_get_int64(id) != vm->qmp_want) {
			fprintf(vm->qmp_log, "!! reply to no pending command ignored\n");
			return 0;
		}
		if (vm->reply)
			json_object_put(vm->reply);
		vm->reply = json_object_get(msg);
	}
	return 0;
}

/* Returns the "return" value (caller puts it), or NULL with vm->err set. */
struct json_object *qmp_cmd(struct vm *vm, const char *execute,
			    struct json_object *args, int timeout)
{
	struct json_object *cmd = json_object_new_object(), *ret = NULL;
	const char *s;
	double deadline = now() + timeout;

	json_object_object_add(cmd, "execute", json_object_new_string(execute));
	vm->qmp_want = ++vm->qmp_seq;
	json_object_object_add(cmd, "id", json_object_new_int64(vm->qmp_want));
	if (args)
		json_object_object_add(cmd, "arguments", args);
	if (vm->reply)
		json_object_put(vm->reply);
	vm->reply = NULL;
	log_msg(vm, "->", cmd);
	s = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN);
	if (write(vm->qmp_fd, s, strlen(s)) < 0 || write(vm->qmp_fd, "\n", 1) < 0) {
		snprintf(vm->err, sizeof(vm->err), "QMP %s: %s", execute, strerror(errno));
		json_object_put(cmd);
		return NULL;
	}
	json_object_put(cmd);
	while (!vm->reply) {
		if (now() > deadline) {
			snprintf(vm->err, sizeof(vm->err), "QMP %s: no answer in %d s",
				 execute, timeout);
			vm->timed_out = true;
			return NULL;
		}
		if (vm_pump(vm, 100))
			return NULL;
	}
	if (json_object_object_get_ex(vm->reply, "error", NULL)) {
		snprintf(vm->err, sizeof(vm->err), "QMP %s: %s", execute,
			 str_at(vm->reply, "error", "desc") ?: "error");
		return NULL;
	}
	json_object_object_get_ex(vm->reply, "return", &ret);
	return json_object_get(ret);
}

/*
 * Wait for one of the events named in "names" (separated by '|') about
 * "device"; returns 0 and copies the event's name into "which".
 */
int qmp_wait_event(struct vm *vm, const char *names, const char *device,
		   int timeout, char *which, size_t len)
{
	double deadline = now() + timeout;
	char all[256], want[64];
	int i;

	snprintf(all, sizeof(all), "|%s|", names);
	for (;;) {
		for (i = 0; i < vm->nevents; i++) {
			snprintf(want, sizeof(want), "|%s|", vm->events[i].name);
			if (!strstr(all, want))
				continue;
			if (device && strcmp(device, vm->events[i].device))
				continue;
			snprintf(which, len, "%s", vm->events[i].name);
			memmove(&vm->events[i], &vm->events[i + 1],
				(vm->nevents - i - 1) * sizeof(vm->events[0]));
			vm->nevents--;
			return 0;
		}
		if (now() > deadline) {
			snprintf(vm->err, sizeof(vm->err), "no %s event for %s in %d s",
				 names, device ?: "any device", timeout);
			vm->timed_out = true;
			return -1;
		}
		if (vm_pump(vm, 100))
			return -1;
	}
}

int qmp_get_size(struct vm *vm, const char *id, const char *prop,
		 unsigned long long *out)
{
	struct json_object *args = json_object_new_object(), *ret;

	json_object_object_add(args, "path", json_object_new_string(id));
	json_object_object_add(args, "property", json_object_new_string(prop));
	ret = qmp_cmd(vm, "qom-get", args, 10);
	if (!ret)
		return -1;
	*out = json_object_get_uint64(ret);
	json_object_put(ret);
	return 0;
}

/* Guest-physical range of a memory device (pc-dimm or virtio-mem). */
int qmp_device_range(struct vm *vm, const char *id,
		     unsigned long long *addr, unsigned long long *size)
{
	struct json_object *ret, *dev, *data, *v;
	size_t i;
	int rc = -1;

	ret = qmp_cmd(vm, "query-memory-devices", NULL, 10);
	if (!ret)
		return -1;
	for (i = 0; i < json_object_array_length(ret); i++) {
		dev = json_object_array_get_idx(ret, i);
		if (!json_object_object_get_ex(dev, "data", &data) ||
		    !str_at(data, "id", NULL) || strcmp(str_at(data, "id", NULL), id))
			continue;
		if (json_object_object_get_ex(data, "addr", &v)) {
			*addr = json_object_get_uint64(v);
			json_object_object_get_ex(data, "size", &v);
			*size = json_object_get_uint64(v);
		} else if (json_object_object_get_ex(data, "memaddr", &v)) {
			*addr = json_object_get_uint64(v);
			json_object_object_get_ex(data, "max-size", &v);
			*size = json_object_get_uint64(v);
		} else {
			continue;
		}
		rc = 0;
	}
	json_object_put(ret);
	if (rc)
		snprintf(vm->err, sizeof(vm->err), "no memory device '%s' in QEMU", id);
	return rc;
}
