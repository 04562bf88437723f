// SPDX-License-Identifier: GPL-2.0
/*
 * Console verdicts.  Each report the kernel prints becomes one short,
 * stable title in the style "possible deadlock in <function>" / "WARNING
 * in <function>"; docs/report-classes.md lists every class and its title.
 *
 * The table below knows the report classes of the base tree by their own
 * header lines.  What it does not know still fails: any other line that
 * starts like a kernel report ("BUG:", "WARNING:", "INFO:", "Oops", with
 * or without a "subsystem: " prefix) gets a generic title made from its
 * own text, and a "Call Trace:" that belongs to no report (and to no task
 * dump that a report or sysrq asked for) is a report of its own.
 *
 * The function of a title is found where the report says it: the first
 * "at:" line of a lockdep report, the "at file:line func" of a WARNING,
 * the faulting instruction of an Oops, else the first frame of the call
 * trace that is not part of the reporting machinery.  Lines that continue
 * a report (the WARNING that a refcount or list-corruption message is
 * printed with, the Oops line after "kernel BUG at") belong to it: one
 * report, one title.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

enum where {
	AT_NONE,	/* the title has no function */
	AT_LOCKDEP,	/* first "at: func+0x" line of the report, else the trace */
	AT_WARN,	/* "at file:line func+0x" on the same line, else the trace */
	AT_IP,		/* RIP:/NIP line, else the trace */
	AT_TRACE,	/* first interesting call-trace frame */
	AT_RCU,		/* "file:line" on one of the next lines */
	AT_REST,	/* the text after the match, up to a newline */
	AT_KASAN,	/* "BUG: KASAN: TYPE in func+0x..": TYPE and func */
	AT_KCSAN,	/* "BUG: KCSAN: data-race in a+0x.. / b+0x..": both */
	AT_WORKFN,	/* "workfn=func" on the next line */
	AT_LEAK,	/* first interesting frame of a kmemleak backtrace */
	AT_LINE,	/* "... @ func" or "func+0x../0x.." on the line itself, else RIP/NIP */
};

/* The report continues over the WARNING/Oops/"kernel BUG" lines after it. */
#define F_SWALLOW	0x1
/* Matched only at the start of the line (after an optional "subsys: "). */
#define F_ANCHOR	0x2
/* A consequence of an earlier report when one was printed just before. */
#define F_AFTERMATH	0x4

/* Frames of the reporting machinery of one class. */
static const char *const refcount_helpers[] = {
	"refcount_warn_saturate", "__refcount_*", "refcount_*", "kref_put*", "kobject_put",
	"put_device", "device_unregister", NULL
};

static const char *const list_helpers[] = {
	"__list_add_valid_or_report", "__list_del_entry_valid_or_report", "__list_*",
	"list_del*", "list_add*", "__hlist_*", NULL
};

static const char *const preempt_helpers[] = {
	"debug_smp_processor_id", "check_preemption_disabled", "__this_cpu_preempt_check",
	NULL
};

static const char *const spin_helpers[] = {
	"spin_dump", "spin_bug", "rwlock_bug", "do_raw_spin_*", "do_raw_read_*",
	"do_raw_write_*", "__wake_up*", "task_rq_lock", "__task_rq_lock", "raw_spin_rq_lock*",
	NULL
};

static const char *const alloc_helpers[] = {
	"warn_alloc", "__alloc_pages*", "alloc_pages*", "__alloc_frozen_pages*",
	"__folio_alloc*", "folio_alloc*", "alloc_page_interleave", "__get_free_pages*",
	"get_zeroed_page*", "kmalloc*", "__kmalloc*", "kmem_cache_alloc*", "kzalloc*",
	"kvmalloc*", "__kvmalloc*", "krealloc*", "kcalloc*", "slab_alloc*", "___slab_alloc",
	"__slab_alloc*", "allocate_slab", "new_slab", "alloc_slab_page", "vmalloc*",
	"__vmalloc*", "kmemleak_alloc*", "create_object", "__create_object", "dump_header",
	"oom_kill_process", "out_of_memory", "__alloc_pages_may_oom", NULL
};

static const char *const ubsan_helpers[] = { "__ubsan_*", "ubsan_*", NULL };

static const char *const free_helpers[] = {
	"kfree*", "kmem_cache_free*", "slab_free*", "__slab_free", "free_to_partial_list",
	"free_debug_processing", "free_consistency_checks", "object_err", "slab_err",
	"print_trailer", "check_object", "on_freelist", "debug_check_no_locks_freed",
	"debug_object*", "debug_print_object", "__debug_object*", "debug_check_no_obj_freed",
	"__debug_check_no_obj_freed", "kvfree*", "vfree*", NULL
};

static const char *const sched_helpers[] = {
	"__schedule_bug", "msleep*", "usleep_range*", "schedule_hrtimeout*", "ssleep", NULL
};

static const char *const pte_helpers[] = { "print_bad_pte", "vm_normal_page*", NULL };

static const struct pattern {
	const char *match;	/* text the console line contains */
	const char *title;	/* "{fn}" is the function, "{text}" the header's text */
	enum where where;
	unsigned int flags;
	const char *cut;	/* {text} ends here (else at the first ", ", ": ", ...) */
	const char *const *helpers;
	const char *from;	/* {text} starts after this (else after the match) */
} patterns[] = {
	/* kernel/locking/lockdep.c */
	{ "WARNING: possible circular locking dependency detected",
	  "possible deadlock in {fn}", AT_LOCKDEP },
	{ "WARNING: possible recursive locking detected", "possible deadlock in {fn}",
	  AT_LOCKDEP },
	{ "WARNING: possible irq lock inversion dependency detected",
	  "possible deadlock in {fn}", AT_LOCKDEP },
	{ "WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
	  "possible deadlock in {fn}", AT_LOCKDEP },
	{ "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
	  "possible deadlock in {fn}", AT_LOCKDEP },
	{ "WARNING: inconsistent lock state", "inconsistent lock state in {fn}", AT_LOCKDEP },
	{ "WARNING: held lock freed!", "held lock freed in {fn}", AT_TRACE, 0, NULL,
	  free_helpers },
	{ "WARNING: bad unlock balance detected!", "bad unlock balance in {fn}", AT_LOCKDEP },
	{ "WARNING: lock held when returning to user space!",
	  "lock held when returning to user space in {fn}", AT_LOCKDEP },
	{ "still has locks held!", "still has locks held in {fn}", AT_LOCKDEP },
	{ "BUG: Invalid wait context", "invalid wait context in {fn}", AT_LOCKDEP },
	{ "WARNING: Nested lock was not taken", "nested lock was not taken in {fn}",
	  AT_LOCKDEP },
	{ "WARNING: bad contention detected!", "bad contention in {fn}", AT_LOCKDEP },
	{ "WARNING: suspicious RCU usage", "suspicious RCU usage at {fn}", AT_RCU },
	{ "DEBUG_LOCKS_WARN_ON(", "lockdep internal warning in {fn}", AT_TRACE, F_SWALLOW },
	{ "BUG: MAX_", "BUG: lockdep capacity: MAX_{text}", AT_NONE, F_SWALLOW | F_ANCHOR,
	  " too low" },
	{ "INFO: trying to register non-static key",
	  "INFO: trying to register non-static key in {fn}", AT_TRACE, F_SWALLOW },
	{ "BUG: MAX_STACK_TRACE_ENTRIES", "BUG: lockdep capacity: MAX_STACK_TRACE_ENTRIES",
	  AT_NONE, F_SWALLOW },
	{ "turning off the locking correctness validator", "lockdep turned itself off",
	  AT_NONE },
	/* kernel/sched/core.c, lib/smp_processor_id.c, kernel/locking/spinlock_debug.c */
	{ "BUG: sleeping function called from invalid context",
	  "BUG: sleeping function called from invalid context in {fn}", AT_TRACE },
	{ "BUG: scheduling while atomic", "BUG: scheduling while atomic in {fn}", AT_TRACE, 0,
	  NULL, sched_helpers },
	{ "BUG: using ", "BUG: using {text} in preemptible code in {fn}", AT_TRACE, F_ANCHOR,
	  " in preemptible", preempt_helpers },
	{ "BUG: spinlock ", "BUG: spinlock {text} in {fn}", AT_TRACE, F_ANCHOR, " on CPU#",
	  spin_helpers },
	{ "BUG: rwlock ", "BUG: rwlock {text} in {fn}", AT_TRACE, F_ANCHOR, " on CPU#",
	  spin_helpers },
	/* sanitizers: mm/kasan, kernel/kcsan, mm/kfence, lib/ubsan.c, mm/kmemleak.c */
	{ "BUG: KASAN: ", "KASAN: {text}", AT_KASAN },
	{ "BUG: KCSAN: ", "KCSAN: {text}", AT_KCSAN },
	{ "BUG: KFENCE: ", "KFENCE: {text}", AT_KASAN },
	{ "UBSAN: ", "UBSAN: {text} in {fn}", AT_TRACE, F_ANCHOR, " in ", ubsan_helpers },
	{ "unreferenced object 0x", "memory leak in {fn}", AT_LEAK, F_ANCHOR, NULL,
	  alloc_helpers },
	/* lib/refcount.c, lib/list_debug.c, lib/debugobjects.c: WARN or BUG follows */
	{ "refcount_t: ", "WARNING: refcount bug in {fn}", AT_TRACE, F_SWALLOW | F_ANCHOR,
	  NULL, refcount_helpers },
	{ "list_add corruption", "BUG: corrupted list in {fn}", AT_TRACE,
	  F_SWALLOW | F_ANCHOR, NULL, list_helpers },
	{ "list_del corruption", "BUG: corrupted list in {fn}", AT_TRACE,
	  F_SWALLOW | F_ANCHOR, NULL, list_helpers },
	{ "list_add double add", "BUG: corrupted list in {fn}", AT_TRACE,
	  F_SWALLOW | F_ANCHOR, NULL, list_helpers },
	{ "ODEBUG: ", "WARNING: ODEBUG bug in {fn}", AT_TRACE, F_SWALLOW | F_ANCHOR, NULL,
	  free_helpers },
	/* faults and traps, x86 and powerpc */
	{ "BUG: unable to handle", "BUG: unable to handle kernel access in {fn}", AT_IP,
	  F_SWALLOW },
	{ "BUG: Unable to handle kernel", "BUG: unable to handle kernel access in {fn}", AT_IP,
	  F_SWALLOW },
	{ "BUG: kernel NULL pointer dereference",
	  "BUG: unable to handle kernel access in {fn}", AT_IP, F_SWALLOW },
	{ "BUG: Kernel NULL pointer dereference",
	  "BUG: unable to handle kernel access in {fn}", AT_IP, F_SWALLOW },
	{ "Unable to handle kernel paging request",
	  "BUG: unable to handle kernel access in {fn}", AT_IP, F_SWALLOW },
	{ "Kernel attempted to ", "BUG: unable to handle kernel access in {fn}", AT_IP,
	  F_SWALLOW | F_ANCHOR },
	{ "stack guard page was hit", "BUG: stack guard page was hit in {fn}", AT_IP,
	  F_SWALLOW },
	{ "general protection fault", "general protection fault in {fn}", AT_IP, F_SWALLOW },
	{ "kernel BUG at ", "kernel BUG in {fn}", AT_IP, F_SWALLOW },
	{ "Oops: ", "Oops: {text} in {fn}", AT_IP, F_ANCHOR },
	/* mm */
	{ "BUG: Bad page state", "BUG: Bad page state in {fn}", AT_TRACE },
	{ "BUG: Bad page map", "BUG: Bad page map in {fn}", AT_TRACE, 0, NULL, pte_helpers },
	{ "BUG: Bad rss-counter state", "BUG: Bad rss-counter state", AT_NONE },
	{ "BUG ", "BUG: slab {text} in {fn}", AT_TRACE, F_ANCHOR | F_SWALLOW, NULL,
	  free_helpers, "): " },
	{ "alloc failure: order:", "page allocation failure in {fn}", AT_TRACE, 0,
	  NULL, alloc_helpers },
	{ "page allocation failure: order:", "page allocation failure in {fn}", AT_TRACE, 0,
	  NULL, alloc_helpers },
	{ "vmalloc error: size", "page allocation failure in {fn}", AT_TRACE, 0,
	  NULL, alloc_helpers },
	{ "invoked oom-killer:", "out of memory in {fn}", AT_TRACE, 0, NULL, alloc_helpers },
	/* kernel/workqueue.c */
	{ "BUG: workqueue lockup", "BUG: workqueue lockup", AT_NONE },
	{ "BUG: workqueue leaked", "BUG: workqueue leaked lock or atomic in {fn}", AT_WORKFN },
	/* kernel/watchdog.c, kernel/rcu, kernel/hung_task.c */
	{ "watchdog: BUG: soft lockup", "BUG: soft lockup in {fn}", AT_IP },
	{ "Watchdog detected hard LOCKUP", "BUG: hard lockup in {fn}", AT_IP },
	{ "hard LOCKUP", "BUG: hard lockup in {fn}", AT_LINE },
	{ "Hard LOCKUP", "BUG: hard lockup in {fn}", AT_LINE },
	{ "detected expedited stalls", "INFO: rcu detected expedited stall in {fn}", AT_IP },
	{ "rcu_tasks detected stall", "INFO: rcu_tasks detected stall in {fn}", AT_TRACE },
	{ "rcu_tasks_trace detected stall", "INFO: rcu_tasks detected stall in {fn}",
	  AT_TRACE },
	{ "detected stalls on CPUs/tasks", "INFO: rcu detected stall in {fn}", AT_IP },
	{ "self-detected stall on CPU", "INFO: rcu detected stall in {fn}", AT_IP },
	{ " blocked for more than ", "INFO: task hung in {fn}", AT_TRACE },
	/* kernel/panic.c */
	{ "WARNING: CPU:", "WARNING in {fn}", AT_WARN },
	{ "Kernel panic - not syncing: Attempted to kill init!",
	  "kernel panic: init (the rig's guest agent) exited", AT_NONE, F_AFTERMATH },
	{ "stack-protector: Kernel stack is corrupted in:",
	  "kernel panic: stack-protector: stack corrupted in {fn}", AT_LINE },
	{ "Kernel panic - not syncing: ", "kernel panic: {fn}", AT_REST, F_AFTERMATH },
	/* anything else that looks like a report */
	{ "BUG:", "BUG: {text} in {fn}", AT_TRACE, F_ANCHOR },
	{ "WARNING:", "WARNING: {text} in {fn}", AT_TRACE, F_ANCHOR },
	{ "INFO:", "INFO: {text} in {fn}", AT_TRACE, F_ANCHOR },
};

/*
 * Lines that look like reports and are not: a user process's fault
 * (arch/x86/kernel/traps.c "traps:"; the selftest's own status covers it),
 * lockdep's note inside another report, and the NMI latency note of
 * arch/x86/kernel/nmi.c, a measurement that every NMI backtrace under
 * emulation trips (the SysRq dump of a hang asks for one).
 */
static const char *const not_reports[] = {
	"traps: ", "INFO: lockdep is turned off", "INFO: NMI handler (", NULL
};

/*
 * Lines that introduce a call trace without being a report: task dumps of
 * sysrq, of the hung-task and RCU stall detectors, NMI backtraces.
 */
static const char *const dump_owners[] = {
	"NMI backtrace for cpu", "task:", "sysrq: ", "Showing busy workqueues",
	"Showing all locks held", "Sending NMI from CPU", NULL
};

/* Lines that continue the report before them (F_SWALLOW). */
static const char *const continuations[] = {
	"WARNING: CPU:", "Oops", "kernel BUG at ", "turning off the locking correctness validator",
	"#PF: ", "Faulting instruction address", NULL
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
	"look_up_lock_class", "register_lock_class", "rcu_*", "__rcu_*", "sched_show_task",
	"nmi_*", "panic", "__stack_chk_fail",
	"stack_trace_*", "arch_stack_walk", "kmsg_dump*", "stop_one_cpu*", "stop_machine*",
	"bad_page", "free_tail_page_prepare", "free_unref_page*", "free_pages*", "__free_pages*",
	"kasan_*", "__kasan_*", "__asan_*", "asan_*", "kcsan_*", "__kcsan_*", "__tsan_*",
	"kfence_*", "__kfence_*", "srso_*", "entry_SYSCALL_*", "do_syscall_*",
	"system_call_*", "interrupt_*", "die", "__die*", "oops_*", "do_trap*", "do_error_trap",
	"exc_*", "handle_stack_overflow", "page_fault_oops", "kernelmode_fixup_or_oops",
	"__bad_area_nosemaphore", "bad_area*", "do_user_addr_fault", "__do_page_fault",
	"do_page_fault", "___do_page_fault", "hash__do_page_fault", "data_access_common_*",
	"instruction_access_common_*", "preempt_schedule*", "asm_sysvec_*", "sysvec_*",
	"irqentry_*", "asm_common_interrupt", "common_interrupt", "__sysvec_*",
};

static bool glob_in(const char *fn, const char *const *list, size_t n)
{
	size_t i, len;

	for (i = 0; i < n && list[i]; i++) {
		len = strlen(list[i]);
		if (list[i][len - 1] == '*' && !strncmp(fn, list[i], len - 1))
			return true;
		if (!strcmp(fn, list[i]))
			return true;
	}
	return false;
}

static bool is_boring(const char *fn, const char *const *helpers)
{
	return glob_in(fn, boring, ARRAY_SIZE(boring)) ||
	       (helpers && glob_in(fn, helpers, (size_t)-1));
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
 * Does body b start with s, either at its first character or after one
 * "subsystem: " prefix (rcu: INFO: ..., watchdog: BUG: ...)?
 */
static bool anchored(const char *b, const char *s)
{
	const char *colon;

	if (!strncmp(b, s, strlen(s)))
		return true;
	colon = strstr(b, ": ");
	if (!colon || colon == b || colon - b > 24)
		return false;
	for (const char *p = b; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '/')
			return false;
	return !strncmp(colon + 2, s, strlen(s));
}

static bool starts_any(const char *b, const char *const *list)
{
	for (; *list; list++)
		if (anchored(b, *list))
			return true;
	return false;
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

/*
 * A source path as the tree names it: an out-of-tree build prints
 * "../../src/mm/foo.c" for mm/foo.c.
 */
static const char *tree_path(const char *p)
{
	while (!strncmp(p, "../", 3))
		p += 3;
	if (!strncmp(p, "src/", 4))
		p += 4;
	return p;
}

struct lines {
	char **v;
	int n;
	unsigned char *claimed;	/* the line belongs to a report or a task dump */
};

static bool report_end(const char *b)
{
	return !strncmp(b, "---[ end trace", 14) || !strncmp(b, "</TASK>", 7);
}

/* A frame, a register dump or a marker of a call trace. */
static bool trace_line(const char *b)
{
	static const char *const starts[] = {
		"<TASK>", "<IRQ>", "</IRQ>", "<NMI>", "</NMI>", "<#DF>", "</#DF>", "<SOFTIRQ>",
		"</SOFTIRQ>", "? ", "--- interrupt", "NIP", "LR ", "LR:", "REGS:", "MSR:",
		"CFAR:", "IRQMASK:", "GPR", "CR:", "XER:", "Instruction dump:", "Code:", "RIP:",
		"RSP:", "RAX:", "RDX:", "RBP:", "R10:", "R13:", "FS:", "CS:", "CR2:", "DR0:",
		"DR3:", "PKRU:", "irq event stamp:", "hardirqs last", "softirqs last",
		"Modules linked in", "CPU:", "Hardware name:", NULL
	};
	const char *const *s;
	char fn[8];

	if (frame(b, false, fn, sizeof(fn)))
		return true;
	/* powerpc frame without a symbol: "[c0000000012a3b40] [0000000000000000] 0x0" */
	if (b[0] == '[' && strstr(b, "] ["))
		return true;
	for (s = starts; *s; s++)
		if (!strncmp(b, *s, strlen(*s)))
			return true;
	/* powerpc instruction dump: hex words, one optionally <bracketed> */
	return *b && strspn(b, "0123456789abcdef<> ") == strlen(b);
}

/* The last line of the call trace that starts at line j ("Call Trace:"). */
static int trace_last(const struct lines *l, int j)
{
	int k;

	for (k = j + 1; k < l->n && k < j + 400; k++) {
		const char *b = body(l->v[k]);

		if (report_end(b))
			return k;
		if (!trace_line(b))
			return k - 1;
	}
	return k - 1;
}

static bool is_header(const char *b);

/*
 * The call trace of the report or dump that starts at line i: the first
 * "Call Trace:" within "window" lines before another report begins (the
 * lines that continue a report do not begin one).  Returns its line, or -1.
 */
static int trace_of(const struct lines *l, int i, int window)
{
	int j;

	for (j = i + 1; j < l->n && j <= i + window; j++) {
		const char *b = body(l->v[j]);

		if (!strncmp(b, "Call Trace:", 11))
			return j;
		if (report_end(b) || (is_header(b) && !starts_any(b, continuations)))
			return -1;
	}
	return -1;
}

/* First interesting frame in the call trace that follows line i. */
static bool trace_fn(const struct lines *l, int i, int window, const char *const *helpers,
		     char *fn, size_t len)
{
	int j = trace_of(l, i, window), k, last;

	if (j < 0)
		return false;
	last = trace_last(l, j);
	for (k = j + 1; k <= last; k++)
		if (frame(body(l->v[k]), true, fn, len) && !is_boring(fn, helpers))
			return true;
	return false;
}

/* Where KCSAN's report path starts, and KCSAN's frames below it. */
static const char *const kcsan_report[] = { "kcsan_report_*", NULL };
static const char *const kcsan_frames[] = { "kcsan_*", "__kcsan_*", "__tsan_*", NULL };

/*
 * The end of the context a report was taken in: the interrupted context
 * below it is another one.  A powerpc program check (700) is how WARN()
 * traps, so a warning inside a warning continues the same context.
 */
static bool context_end(const char *b)
{
	return !strncmp(b, "</IRQ>", 6) || !strncmp(b, "</NMI>", 6) ||
	       !strncmp(b, "</SOFTIRQ>", 10) ||
	       (!strncmp(b, "--- interrupt:", 14) && strncmp(b, "--- interrupt: 700", 18));
}

/*
 * A report whose call trace runs through KCSAN's report path is that data
 * race's report failing: e.g. on pseries an access in the idle loop, where
 * RCU is not watching, meets another CPU's watchpoint, and the report's
 * spinlock trips the lock tracepoints' "RCU not watching" warning, then
 * the die notifier's.  "fn" is the function whose access KCSAN was
 * reporting: the first frame past KCSAN's own below kcsan_report_*().
 */
static bool kcsan_origin(const struct lines *l, int i, char *fn, size_t len)
{
	int j = trace_of(l, i, 80), k, last;
	bool in_report = false;

	if (j < 0)
		return false;
	last = trace_last(l, j);
	for (k = j + 1; k <= last; k++) {
		const char *b = body(l->v[k]);

		if (context_end(b))
			return false;
		if (!frame(b, true, fn, len))
			continue;
		if (glob_in(fn, kcsan_report, (size_t)-1))
			in_report = true;
		else if (in_report && !glob_in(fn, kcsan_frames, (size_t)-1))
			return true;
	}
	return false;
}

/* The header's own text after the matched prefix, shortened to its class. */
static void header_text(const char *after, const char *cut, char *out, size_t len)
{
	static const char *const stops[] = {
		", ", ": ", " at ", " on CPU", " (", " [", "!", " - ", " for address",
		" address", "\t", "  ", NULL
	};
	const char *const *s;
	size_t n, m;

	while (*after == ' ')
		after++;
	n = strlen(after);

	if (cut && strstr(after, cut)) {
		n = strstr(after, cut) - after;
	} else {
		for (s = stops; *s; s++) {
			const char *p = strstr(after, *s);

			if (p && (size_t)(p - after) < n)
				n = p - after;
		}
	}
	/* and before the first word with a number in it: addresses, pids */
	for (m = 0; m < n; m++) {
		if (isdigit((unsigned char)after[m]) && (m == 0 || after[m - 1] == ' ' ||
							 after[m - 1] == '#')) {
			n = m;
			break;
		}
	}
	while (n && (after[n - 1] == ' ' || after[n - 1] == ':' || after[n - 1] == '.' ||
		     after[n - 1] == '#'))
		n--;
	if (n >= len)
		n = len - 1;
	snprintf(out, len, "%.*s", (int)n, after);
	if (!*out)
		snprintf(out, len, "unknown");
}

/* "func+0x../0x.." -> "func" everywhere in s; for KCSAN's "a / b". */
static void strip_offsets(const char *s, char *out, size_t len)
{
	size_t n = 0;

	while (*s && n + 1 < len) {
		if (s[0] == '+' && s[1] == '0' && s[2] == 'x') {
			s += strcspn(s, " \t");
			continue;
		}
		out[n++] = *s++;
	}
	out[n] = '\0';
	while (n && out[n - 1] == ' ')
		out[--n] = '\0';
}

static const struct pattern ip_fallback = { "", "", AT_IP };

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
			const char *bj = body(l->v[j]);
			size_t bl = strlen(bj);

			at = strstr(bj, " at: ");
			if (at && frame(at, false, fn, len))
				return true;
			/* "... release lock (x) at:" and the frame on the next line */
			if (bl > 3 && !strcmp(bj + bl - 3, "at:") && j + 1 < l->n &&
			    frame(body(l->v[j + 1]), false, fn, len))
				return true;
			if (!strncmp(body(l->v[j]), "stack backtrace:", 16))
				break;
		}
		return trace_fn(l, i, 200, p->helpers, fn, len);
	case AT_WARN:
		at = strstr(b, " at ");
		if (at && frame(at, false, fn, len) && !is_boring(fn, p->helpers))
			return true;
		return trace_fn(l, i, 60, p->helpers, fn, len);
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
			if (at && frame(at, false, fn, len) && !is_boring(fn, p->helpers))
				return true;
		}
		return trace_fn(l, i, 60, p->helpers, fn, len);
	case AT_RCU:
		/* "kernel/foo.c:123 suspicious rcu_dereference_check() usage!" */
		for (j = i + 1; j < l->n && j < i + 5; j++) {
			size_t n;

			b = tree_path(body(l->v[j]));
			n = strcspn(b, " ");
			if (n && n < len && b[n - 1] != ':' && memchr(b, ':', n) &&
			    isdigit((unsigned char)b[n - 1]) && memchr(b, '.', n) &&
			    !strstr(b, "ainted")) {
				snprintf(fn, len, "%.*s", (int)n, b);
				return true;
			}
		}
		return false;
	case AT_KASAN:
		at = strstr(b, " in ");
		if (!at || !frame(at, false, fn, len))
			return false;
		return true;
	case AT_KCSAN:
		at = strstr(b, " in ");
		if (!at)
			return false;
		strip_offsets(at + 4, fn, len);
		return true;
	case AT_WORKFN:
		for (j = i; j < l->n && j < i + 3; j++) {
			at = strstr(body(l->v[j]), "workfn=");
			if (at) {
				snprintf(fn, len, "%.*s", (int)strcspn(at + 7, " \t"), at + 7);
				return true;
			}
		}
		return false;
	case AT_LEAK:
		for (j = i + 1; j < l->n && j < i + 40; j++) {
			b = body(l->v[j]);
			if (j > i + 1 && !strncmp(b, "unreferenced object", 19))
				break;
			if (frame(b, false, fn, len) && !is_boring(fn, p->helpers))
				return true;
		}
		return false;
	case AT_LINE:
		at = strstr(b, " @ ");
		if (at) {
			snprintf(fn, len, "%.*s", (int)strcspn(at + 3, " +\t"), at + 3);
			return true;
		}
		at = strstr(b, p->match);
		if (frame(at, false, fn, len))
			return true;
		return where_fn(&ip_fallback, l, i, fn, len);
	case AT_TRACE:
		return trace_fn(l, i, 80, p->helpers, fn, len);
	}
	return false;
}

static const struct pattern *match(const char *b)
{
	size_t k;

	if (starts_any(b, not_reports))
		return NULL;
	for (k = 0; k < ARRAY_SIZE(patterns); k++) {
		const struct pattern *p = &patterns[k];

		if (p->flags & F_ANCHOR ? anchored(b, p->match) : !!strstr(b, p->match))
			return p;
	}
	return NULL;
}

static bool is_header(const char *b)
{
	return !!match(b);
}

/* Replace {fn} and {text} in a title format. */
static void fill(const char *fmt, const char *fn, const char *text, char *out, size_t len)
{
	size_t n = 0;

	while (*fmt && n + 1 < len) {
		const char *v = NULL;

		if (!strncmp(fmt, "{fn}", 4)) {
			v = fn;
			fmt += 4;
		} else if (!strncmp(fmt, "{text}", 6)) {
			v = text;
			fmt += 6;
		}
		if (v) {
			n += snprintf(out + n, len - n, "%s", v);
			if (n >= len)
				n = len - 1;
			continue;
		}
		out[n++] = *fmt++;
	}
	out[n] = '\0';
}

/* "WARNING: CPU: 0 PID: 1 at ../../src/mm/foo.c:12 f+0x1/0x2": "mm/foo.c:12" */
static void warn_site(const char *b, char *site, size_t len)
{
	const char *at = strstr(b, " at ");

	site[0] = '\0';
	if (!at)
		return;
	snprintf(site, len, "%.*s", (int)strcspn(tree_path(at + 4), " "), tree_path(at + 4));
	if (!strchr(site, ':'))
		site[0] = '\0';
}

/* Mark lines i..(end of its call trace) as part of one report or dump. */
static void claim(struct lines *l, int i, int window)
{
	int j = trace_of(l, i, window), k, last;

	l->claimed[i] = 1;
	if (j < 0)
		return;
	last = trace_last(l, j);
	for (k = i; k <= last; k++)
		l->claimed[k] = 1;
}

static void scan_line(struct lines *l, int i, int *last_report, struct titles *out)
{
	const char *b = body(l->v[i]);
	const struct pattern *p = match(b);
	char fn[160], text[128], title[320], site[160] = "";
	int j;

	if (!p) {
		/* a register dump may come first: powerpc's is twenty lines */
		if (starts_any(b, dump_owners))
			claim(l, i, 40);
		return;
	}
	if ((p->flags & F_AFTERMATH) && *last_report >= 0 && i - *last_report < 400)
		return;
	header_text(p->from && strstr(b, p->from) ? strstr(b, p->from) + strlen(p->from) :
		    strstr(b, p->match) + strlen(p->match), p->cut, text, sizeof(text));
	if (p->where != AT_KCSAN && kcsan_origin(l, i, fn, sizeof(fn))) {
		fill("KCSAN: report failed in {fn}", fn, text, title, sizeof(title));
		goto add;
	}
	if (p->where == AT_KASAN || p->where == AT_KCSAN) {
		/* "BUG: KASAN: TYPE in func+0x..", "BUG: KCSAN: data-race in a / b" */
		const char *type = strstr(b, p->match) + strlen(p->match);
		const char *in = strstr(type, " in ");
		const char *nb = i + 1 < l->n ? body(l->v[i + 1]) : "";

		if (!where_fn(p, l, i, fn, sizeof(fn)))
			snprintf(fn, sizeof(fn), "unknown");
		snprintf(text, sizeof(text), "%.*s%s in %s", in ? (int)(in - type) : 40, type,
			 !strncmp(nb, "Read of size", 12) ? " Read" :
			 !strncmp(nb, "Write of size", 13) ? " Write" : "", fn);
		fill(p->title, fn, text, title, sizeof(title));
		goto add;
	}
	if (!where_fn(p, l, i, fn, sizeof(fn))) {
		snprintf(fn, sizeof(fn), "unknown");
		if (p->where == AT_TRACE && strstr(p->title, " in {fn}")) {
			/* no trace at all: the title is the class alone */
			char fmt[128];

			snprintf(fmt, sizeof(fmt), "%.*s", (int)(strstr(p->title, " in {fn}") -
				 p->title), p->title);
			fill(fmt, fn, text, title, sizeof(title));
			goto add;
		}
	}
	fill(p->title, fn, text, title, sizeof(title));
add:
	if (!strcmp(p->match, "WARNING: CPU:"))
		warn_site(b, site, sizeof(site));
	titles_add_site(out, title, site);
	*last_report = i;
	claim(l, i, p->where == AT_LOCKDEP ? 200 : 80);
	if (!(p->flags & F_SWALLOW))
		return;
	/* the WARN, BUG or Oops this report is printed with */
	for (j = i + 1; j < l->n && j < i + 12; j++) {
		b = body(l->v[j]);
		if (!starts_any(b, continuations))
			continue;
		if (!strncmp(b, "WARNING: CPU:", 13) && !site[0]) {
			warn_site(b, site, sizeof(site));
			if (site[0])
				titles_set_site(out, title, site);
		}
		claim(l, j, 80);
	}
}

void titles_add_site(struct titles *t, const char *title, const char *site)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->t[i], title))
			return;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->t = realloc(t->t, t->cap * sizeof(*t->t));
		t->site = realloc(t->site, t->cap * sizeof(*t->site));
		if (!t->t || !t->site)
			die("out of memory");
	}
	t->t[t->n] = xstrdup(title);
	t->site[t->n++] = xstrdup(site ? site : "");
}

void titles_add(struct titles *t, const char *title)
{
	titles_add_site(t, title, "");
}

void titles_set_site(struct titles *t, const char *title, const char *site)
{
	int i;

	for (i = 0; i < t->n; i++) {
		if (!strcmp(t->t[i], title) && !t->site[i][0]) {
			free(t->site[i]);
			t->site[i] = xstrdup(site);
		}
	}
}

void titles_free(struct titles *t)
{
	int i;

	for (i = 0; i < t->n; i++) {
		free(t->t[i]);
		free(t->site[i]);
	}
	free(t->t);
	free(t->site);
	memset(t, 0, sizeof(*t));
}

void scan_text(const char *text, struct titles *out)
{
	struct lines l = { 0 };
	char *copy = xstrdup(text), *save = NULL, *s, fn[160], title[256];
	int i, cap = 0, last_report = -1;

	for (s = strtok_r(copy, "\r\n", &save); s; s = strtok_r(NULL, "\r\n", &save)) {
		if (l.n == cap) {
			cap = cap ? cap * 2 : 1024;
			l.v = realloc(l.v, cap * sizeof(*l.v));
			if (!l.v)
				die("out of memory");
		}
		l.v[l.n++] = s;
	}
	l.claimed = calloc(l.n + 1, 1);
	if (!l.claimed)
		die("out of memory");
	for (i = 0; i < l.n; i++)
		if (!l.claimed[i])
			scan_line(&l, i, &last_report, out);
	/* a call trace that no report and no task dump explains */
	for (i = 1; i < l.n; i++) {
		int k, last;

		if (l.claimed[i] || strncmp(body(l.v[i]), "Call Trace:", 11))
			continue;
		if (!trace_fn(&l, i - 1, 1, NULL, fn, sizeof(fn)))
			snprintf(fn, sizeof(fn), "unknown");
		snprintf(title, sizeof(title), "call trace without a report in %s", fn);
		titles_add(out, title);
		last = trace_last(&l, i);
		for (k = i; k <= last; k++)
			l.claimed[k] = 1;
	}
	free(l.claimed);
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
