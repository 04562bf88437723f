// SPDX-License-Identifier: GPL-2.0
/*
 * Console verdicts.  Each report the kernel prints (lockdep, WARN, BUG,
 * Oops, panic, hung task, lockups, RCU stalls) becomes one short title in
 * the style "possible deadlock in <function>" / "WARNING in <function>".
 * The function is found where the report says it: the first "at:" line of
 * a lockdep report, the "at file:line func" of a WARNING, the faulting
 * instruction of an Oops, else the first interesting frame of the call
 * trace.  Helpers that only assert or report are skipped.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

enum where {
	AT_NONE,	/* the title has no function */
	AT_LOCKDEP,	/* first "at: func+0x" line of the report */
	AT_WARN,	/* "at file:line func+0x" on the same line, else the trace */
	AT_IP,		/* RIP:/NIP line, else the trace */
	AT_TRACE,	/* first interesting call-trace frame */
	AT_RCU,		/* "file:line" on the next line */
	AT_REST,	/* the text after the match, up to a newline */
};

static const struct pattern {
	const char *match;	/* text the console line contains */
	const char *title;	/* printf format; %s is the function or text */
	enum where where;
} patterns[] = {
	{ "WARNING: possible circular locking dependency detected",
	  "possible deadlock in %s", AT_LOCKDEP },
	{ "WARNING: possible recursive locking detected", "possible deadlock in %s", AT_LOCKDEP },
	{ "WARNING: possible irq lock inversion dependency detected",
	  "possible deadlock in %s", AT_LOCKDEP },
	{ "WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
	  "possible deadlock in %s", AT_LOCKDEP },
	{ "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
	  "possible deadlock in %s", AT_LOCKDEP },
	{ "WARNING: inconsistent lock state", "inconsistent lock state in %s", AT_LOCKDEP },
	{ "WARNING: held lock freed!", "held lock freed in %s", AT_TRACE },
	{ "WARNING: bad unlock balance detected!", "bad unlock balance in %s", AT_LOCKDEP },
	{ "WARNING: lock held when returning to user space!",
	  "lock held when returning to user space in %s", AT_LOCKDEP },
	{ "WARNING: suspicious RCU usage", "suspicious RCU usage at %s", AT_RCU },
	{ "BUG: sleeping function called from invalid context",
	  "BUG: sleeping function called from invalid context in %s", AT_TRACE },
	{ "BUG: scheduling while atomic", "BUG: scheduling while atomic in %s", AT_TRACE },
	{ "BUG: unable to handle", "BUG: unable to handle kernel access in %s", AT_IP },
	{ "BUG: Unable to handle kernel", "BUG: unable to handle kernel access in %s", AT_IP },
	{ "BUG: kernel NULL pointer dereference",
	  "BUG: unable to handle kernel access in %s", AT_IP },
	{ "BUG: Kernel NULL pointer dereference",
	  "BUG: unable to handle kernel access in %s", AT_IP },
	{ "Unable to handle kernel paging request",
	  "BUG: unable to handle kernel access in %s", AT_IP },
	{ "general protection fault", "general protection fault in %s", AT_IP },
	{ "kernel BUG at ", "kernel BUG in %s", AT_IP },
	{ "BUG: Bad page state", "BUG: Bad page state in %s", AT_TRACE },
	{ "BUG: Bad page map", "BUG: Bad page map in %s", AT_TRACE },
	{ "BUG: workqueue lockup", "BUG: workqueue lockup", AT_NONE },
	{ "watchdog: BUG: soft lockup", "BUG: soft lockup in %s", AT_IP },
	{ "Watchdog detected hard LOCKUP", "BUG: hard lockup in %s", AT_IP },
	{ "detected stalls on CPUs/tasks", "INFO: rcu detected stall in %s", AT_TRACE },
	{ "self-detected stall on CPU", "INFO: rcu detected stall in %s", AT_IP },
	{ " blocked for more than ", "INFO: task hung in %s", AT_TRACE },
	{ "WARNING: CPU:", "WARNING in %s", AT_WARN },
	{ "Kernel panic - not syncing: ", "kernel panic: %s", AT_REST },
	{ "turning off the locking correctness validator", "lockdep turned itself off", AT_NONE },
	{ "DEBUG_LOCKS_WARN_ON(", "lockdep internal warning in %s", AT_WARN },
};

/*
 * Frames that say where a report was printed, not where the problem is.
 * A prefix ending in '*' matches every function that starts with it.
 */
static const char *const boring[] = {
	"lockdep_assert_*", "__lockdep_*", "lockdep_*", "lock_acquire*", "__lock_acquire*",
	"lock_release", "lock_is_held*", "lock_sync", "mark_lock*", "validate_chain",
	"check_*", "print_*", "debug_*", "dump_stack*", "show_stack", "__dump_stack",
	"warn_*", "__warn*", "report_bug", "handle_bug", "exc_invalid_op", "asm_exc_*",
	"program_check_exception", "__might_sleep", "__might_resched", "__might_fault",
	"might_sleep", "__schedule", "schedule*", "__cond_resched", "io_schedule*",
	"__switch_to", "_switch", "percpu_down_*", "percpu_rwsem_*", "__percpu_down_*",
	"__percpu_rwsem_*",
	"rwsem_down_*", "down_read*", "down_write*", "__down_*", "down", "mutex_lock*",
	"__mutex_lock*", "_raw_spin_lock*", "_raw_read_lock*", "_raw_write_lock*",
	"do_raw_spin_lock", "wait_for_completion*", "__wait_for_common", "wait_for_common*",
	"schedule_timeout*", "do_wait_for_common", "cpus_read_lock", "cpus_write_lock",
	"get_online_mems", "mem_hotplug_begin", "kthread", "ret_from_fork*",
	"rcu_*", "__rcu_*", "sched_show_task", "nmi_*", "panic", "__stack_chk_fail",
	"stack_trace_*", "arch_stack_walk", "kmsg_dump*", "stop_one_cpu*", "stop_machine*",
	"bad_page", "free_tail_page_prepare", "free_unref_page*", "free_pages*", "__free_pages*",
};

static bool is_boring(const char *fn)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(boring); i++) {
		n = strlen(boring[i]);
		if (boring[i][n - 1] == '*' && !strncmp(fn, boring[i], n - 1))
			return true;
		if (!strcmp(fn, boring[i]))
			return true;
	}
	return false;
}

/* Strip the "[    1.234567] " printk time stamp and "[T123]" caller id. */
static const char *body(const char *line)
{
	const char *p = line;

	if (*p == '[' && strchr(p, ']') &&
	    (isspace((unsigned char)p[1]) || isdigit((unsigned char)p[1])))
		p = strchr(p, ']') + 1;
	while (*p == ' ')
		p++;
	if (*p == '[' && (p[1] == 'T' || p[1] == 'C') &&
	    isdigit((unsigned char)p[2]) && strchr(p, ']'))
		p = strchr(p, ']') + 1;
	while (*p == ' ')
		p++;
	return p;
}

/*
 * Extract "func" from text like "func+0x1a/0x40" somewhere in s; skips
 * "? func+0x.." (unreliable frames) when "reliable" is set.
 */
static bool frame(const char *s, bool reliable, char *fn, size_t len)
{
	const char *plus, *start;
	size_t n;

	for (plus = strstr(s, "+0x"); plus; plus = strstr(plus + 1, "+0x")) {
		if (!strstr(plus, "/0x"))
			continue;
		start = plus;
		while (start > s && (isalnum((unsigned char)start[-1]) || start[-1] == '_' ||
				     start[-1] == '.'))
			start--;
		if (start == plus)
			continue;
		if (reliable && start - s >= 2 && start[-1] == ' ' && start[-2] == '?')
			return false;
		if (reliable && strstr(plus, "(unreliable)"))
			return false;
		n = plus - start;
		if (n >= len)
			n = len - 1;
		memcpy(fn, start, n);
		fn[n] = '\0';
		/* drop compiler suffixes: foo.constprop.0, foo.isra.0, foo.cold */
		if (strchr(fn, '.'))
			*strchr(fn, '.') = '\0';
		return true;
	}
	return false;
}

struct lines {
	char **v;
	int n;
};

static bool report_end(const char *b)
{
	return !strncmp(b, "---[ end trace", 14) || !strncmp(b, "</TASK>", 7);
}

/* First interesting frame in the call trace that follows line i. */
static bool trace_fn(const struct lines *l, int i, char *fn, size_t len)
{
	bool in_trace = false;
	int j;

	for (j = i + 1; j < l->n && j < i + 120; j++) {
		const char *b = body(l->v[j]);

		if (j > i + 1 && report_end(b))
			break;
		if (!strncmp(b, "Call Trace:", 11)) {
			in_trace = true;
			continue;
		}
		if (!in_trace)
			continue;
		if (frame(b, true, fn, len) && !is_boring(fn))
			return true;
	}
	return false;
}

static bool where_fn(const struct pattern *p, const struct lines *l, int i,
		     char *fn, size_t len)
{
	const char *b = body(l->v[i]), *at;
	int j;

	switch (p->where) {
	case AT_NONE:
		return true;
	case AT_REST:
		snprintf(fn, len, "%s", strstr(b, p->match) + strlen(p->match));
		return true;
	case AT_LOCKDEP:
		for (j = i + 1; j < l->n && j < i + 40; j++) {
			at = strstr(body(l->v[j]), " at: ");
			if (at && frame(at, false, fn, len))
				return true;
		}
		return trace_fn(l, i, fn, len);
	case AT_WARN:
		at = strstr(b, " at ");
		if (at && frame(at, false, fn, len) && !is_boring(fn))
			return true;
		return trace_fn(l, i, fn, len);
	case AT_IP:
		for (j = i; j < l->n && j < i + 40; j++) {
			b = body(l->v[j]);
			if (j > i && report_end(b))
				break;
			at = strstr(b, "RIP: ");
			if (!at)
				at = strstr(b, "NIP [");
			if (!at)
				at = strstr(b, "NIP:");
			if (at && frame(at, false, fn, len) && !is_boring(fn))
				return true;
		}
		return trace_fn(l, i, fn, len);
	case AT_RCU:
		for (j = i + 1; j < l->n && j < i + 4; j++) {
			b = body(l->v[j]);
			if (sscanf(b, "%127[^: ]:%*d", fn) == 1 && strchr(b, ':')) {
				size_t n = strcspn(b, " ");

				snprintf(fn, len, "%.*s", (int)n, b);
				return true;
			}
		}
		return false;
	case AT_TRACE:
		return trace_fn(l, i, fn, len);
	}
	return false;
}

void titles_add(struct titles *t, const char *title)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->t[i], title))
			return;
	if (t->n < MAX_TITLES)
		t->t[t->n++] = xstrdup(title);
}

void titles_free(struct titles *t)
{
	int i;

	for (i = 0; i < t->n; i++)
		free(t->t[i]);
	t->n = 0;
}

void scan_text(const char *text, struct titles *out)
{
	struct lines l = { 0 };
	char *copy = xstrdup(text), *save = NULL, *s, fn[128], title[256];
	size_t k;
	int i, cap = 0;

	for (s = strtok_r(copy, "\r\n", &save); s; s = strtok_r(NULL, "\r\n", &save)) {
		if (l.n == cap) {
			cap = cap ? cap * 2 : 1024;
			l.v = realloc(l.v, cap * sizeof(*l.v));
			if (!l.v)
				die("out of memory");
		}
		l.v[l.n++] = s;
	}
	for (i = 0; i < l.n; i++) {
		const char *b = body(l.v[i]);

		for (k = 0; k < ARRAY_SIZE(patterns); k++) {
			const struct pattern *p = &patterns[k];

			if (!strstr(b, p->match))
				continue;
			if (!where_fn(p, &l, i, fn, sizeof(fn)))
				snprintf(fn, sizeof(fn), "unknown");
			snprintf(title, sizeof(title), p->title, fn);
			titles_add(out, title);
			break;
		}
	}
	free(l.v);
	free(copy);
}

int scan_file(const char *path, struct titles *out)
{
	char *buf;
	long n;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	if (!buf)
		die("out of memory");
	n = fread(buf, 1, n, f);
	buf[n] = '\0';
	fclose(f);
	/* a NUL byte in a console log must not hide what follows it */
	for (long i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	scan_text(buf, out);
	free(buf);
	return 0;
}
