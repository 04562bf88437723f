/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host rig: boots a kernel in QEMU, drives memory and CPU hotplug
 * through QMP and the guest agent, and turns the console into verdicts.
 */
#ifndef RIG_H
#define RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct json_object;
struct json_tokener;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define fallthrough	__attribute__((__fallthrough__))

#define MAX_ARGS	16
#define MAX_DEVICES	8
#define MAX_ARCHES	8

/* util.c */
void die(const char *fmt, ...) __printf(1, 2) __attribute__((noreturn));
void info(const char *fmt, ...) __printf(1, 2);
double now(void);
bool kernel_option_set(const char *image, const char *option);
int parse_size(const char *s, unsigned long long *out);
int parse_delta(const char *s, long long *out);
void fmt_size(unsigned long long bytes, char *buf, size_t len);
char *xstrdup(const char *s);
char *trim(char *s);
int mkdir_p(const char *path);
FILE *fopen_in(const char *dir, const char *name, const char *mode);
int split_bars(char *line, char **field, int max);
bool stop_requested(void);
void install_signal_handlers(void);
void on_second_signal(void (*hook)(void));

/* arch.c: one row of arches.tbl */
struct arch {
	char name[32];
	char karch[16];
	char cross[64];
	char image[128];
	char qemu[64];
	char cpu[32];
	char machine[96];
	char console[16];
	char accel[64];
	char sysrq[16];		/* how the console takes a SysRq: break, ctrl-o */
	char config[128];	/* configs/NAME.config fragments, comma-separated */
	char debarch[16];	/* Debian's name: the guest's busybox-static */
	char scenarios[32];	/* the row whose scenarios it runs; "": its own */
	char retaddr[16];	/* kprobe fetch arg: the return address at entry */
};

/* The row a scenario's arches, slow_on and races_on name for this row. */
static inline const char *arch_scenario_row(const struct arch *a)
{
	return a->scenarios[0] ? a->scenarios : a->name;
}

int arch_load(const char *table, const char *name, struct arch *out);
int arch_print(const char *table, const char *name, const char *column);

/* scenario.c: a scenario file, validated */
enum verb {
	V_DIMM_ADD,
	V_DIMM_DEL,
	V_ONLINE,
	V_OFFLINE,
	V_VMEM_RESIZE,
	V_EXPECT_MEMTOTAL,
	V_EXPECT_LOCKDEP,
	V_WRITE,
	V_BG_WRITE,
	V_WAIT_CONSOLE,
	V_LOOP_START,
	V_LOOP_FOR,
	V_LOOP_STOP,
	V_SELFTEST,
	V_EXPECT_READ,
	V_HOLD,
	V_RELEASE,
	V_CPU_ADD,
	V_CPU_DEL,
	V_NVDIMM_ADD,
	V_DAX,
	V_SHELL_TEST,
	V_FAULT_SWEEP,
	V_FAULT_TWICE,
	V_LOCKDEP_AFTER,
	V_LOCK_STAT,
	V_READ_HOLDS,
	V_SLEEP,
	V_EXPECT_NO_LEAK,
	V_WAIT_ONLINE,
	V_EXPECT_BLOCKS,
	V_NR_VERBS
};

struct step {
	enum verb verb;
	int line;
	int nargs;
	char *args[MAX_ARGS];
	char *metric;		/* "measure NAME STEP": what it measured (metrics.c) */
};

struct vmem_dev {
	char id[32];
	unsigned long long size;
};

/* A NUMA node of the guest: its CPUs ("0,2" or "0-1"; "" for none) and boot memory. */
struct numa_node {
	char cpus[32];
	unsigned long long memory;
};

/*
 * A console line to count: reported, and zero fails the scenario.  A
 * forbidden one (forbid = NAME REGEX) is the opposite: any line matching
 * the extended regular expression fails it.
 */
struct counter {
	char name[32];
	char text[200];
	bool forbid;
};

struct scenario {
	char *path;
	char *name;
	char *arches[MAX_ARCHES];
	int narches;
	char *slow_on[MAX_ARCHES];	/* rows of arches where it needs --slow */
	int nslow;
	char *races_on[MAX_ARCHES];	/* rows of arches judged by make races */
	int nraces;
	int cpus;
	unsigned long long memory;
	unsigned long long maxmem;
	int slots;
	struct vmem_dev vmem[MAX_DEVICES];
	int nvmem;
	struct vmem_dev nvdimm[MAX_DEVICES];	/* cold-plugged NVDIMMs */
	int nnvdimm;
	char *machine;			/* options added to the row's machine */
	struct numa_node numa[MAX_DEVICES];	/* none: one node, QEMU's default */
	int nnuma;
	struct counter counters[MAX_DEVICES];
	int ncounters;
	char *expect_reports[MAX_DEVICES];	/* titles the run must produce */
	char *expect_failure;		/* the run must fail, saying this */
	int nexpect;
	char *kunit[MAX_DEVICES];		/* KUnit suites reported from the console */
	char *kunit_opt[MAX_DEVICES];		/* ... and the option that builds each */
	int nkunit;
	char *kunit_skip[MAX_DEVICES];		/* SUITE/CASE that skips without ... */
	char *kunit_skip_opt[MAX_DEVICES];	/* ... this option */
	int nkunit_skip;
	char *cmdline;
	int timeout;
	char *torture_seeds;		/* "1,2": the steps are generated (torture.c) */
	int torture_ops;		/* operations per seed */
	unsigned int torture_kinds;	/* TK_* bits: what the generator may do */
	struct step *steps;
	int nsteps;
};

int dimm_add_node(const struct step *s);
bool dimm_add_nowait(const struct step *s);
const char *verb_name(enum verb v);
int scenario_load(const char *path, struct scenario *sc, char *err, size_t len);
int scenario_step(struct scenario *sc, const char *origin, int line, const char *text,
		  char *err, size_t len);
bool scenario_for_arch(const struct scenario *sc, const char *arch);
bool scenario_slow_on(const struct scenario *sc, const char *arch);
bool scenario_races_on(const struct scenario *sc, const char *arch);
void scenario_free(struct scenario *sc);
void unescape_spaces(const char *in, char *out, size_t len);
int forbid_verdict(const struct counter *c, const char *path, char *why, size_t len);

/* torture.c: steps generated from a seed (torture = SEEDS OPS) */
enum {
	TK_DIMM = 1 << 0,	/* DIMM add, remove, online (every type), offline */
	TK_VMEM = 1 << 1,	/* virtio-mem grow and shrink */
	TK_CPU = 1 << 2,	/* CPU offline/online, from the host's side and in loops */
	TK_CPU_ADD = 1 << 3,	/* vCPU hot-add and removal */
	TK_LRUGEN = 1 << 4,	/* lru_gen on/off, also in a loop */
	TK_KSM = 1 << 5,	/* KSM run and pages_to_scan */
	TK_HUGETLB = 1 << 6,	/* hugetlb pool size */
	TK_HPT = 1 << 7,	/* pseries HPT resizes in a loop */
};

#define TORTURE_KINDS	"dimm vmem cpu cpu_add lrugen ksm hugetlb hpt"

struct run;
struct opts;
unsigned int torture_kind(const char *name);
int torture_check(const struct scenario *sc, char *err, size_t len);
bool torture_run(struct run *r, const struct opts *o);
void torture_plan(const struct scenario *sc, const struct opts *o, unsigned long block);
struct report;
void torture_plan_check(struct report *rep, const struct scenario *sc);

/* scan.c: console verdicts */
/* Report titles, each with its source site ("mm/foo.c:12") where known. */
struct titles {
	int n, cap;
	char **t;
	char **site;
};

void scan_text(const char *text, struct titles *out);
int scan_file(const char *path, struct titles *out);

/* kmemleak.c: objects two consecutive kmemleak listings both name */
int kmemleak_confirmed(const char *text, FILE *out, struct titles *t);
void titles_add(struct titles *t, const char *title);
void titles_add_site(struct titles *t, const char *title, const char *site);
void titles_set_site(struct titles *t, const char *title, const char *site);
void titles_free(struct titles *t);

/* ktap.c: KUnit results printed on the console */
struct ktap_case {
	char name[128];
	char note[128];
	bool ok;
	bool skipped;
};

int ktap_suite(const char *console, const char *suite, struct ktap_case *cases, int max,
	       int *plan);
bool ktap_result(const char *line, struct ktap_case *c);

/* vm.c: one QEMU instance and its three channels */
struct event {
	char name[48];
	char device[64];
	double when;
};

struct vm {
	pid_t pid;
	int qmp_fd, agent_fd, con_fd;
	FILE *console_log, *qmp_log, *agent_log;
	struct json_tokener *tok;
	struct json_object *reply;	/* response to the pending QMP command */
	long long qmp_seq, qmp_want;	/* "id" of the last command sent */
	struct event events[64];
	int nevents;
	char agent_buf[65536];
	size_t agent_len;
	char con_tail[4096];
	size_t con_tail_len;
	char *con_all;			/* everything the console printed */
	size_t con_all_len, con_all_cap;
	FILE *stream;			/* where "| " lines of a running command go */
	char dir[512];
	char err[512];
	const struct arch *arch;
	bool timed_out;			/* a wait for the guest ran out of time */
	double started, ready_at;
	char guest[128];
	unsigned long block_size;
	bool dead;
	bool echo;			/* console output to stdout too (rig shell) */
};

struct boot {
	const struct arch *arch;
	const struct scenario *sc;
	const char *kernel;
	const char *initrd;
	const char *dir;
};

int vm_start(struct vm *vm, const struct boot *b);
int vm_wait_ready(struct vm *vm, int timeout);
int vm_pump(struct vm *vm, int timeout_ms);
void vm_stop(struct vm *vm);
void vm_console_tail(struct vm *vm, FILE *out, int lines);
void vm_sysrq(struct vm *vm, const char *keys, int settle);

/* qmp.c */
int qmp_handle(struct vm *vm, struct json_object *msg);
struct json_object *qmp_cmd(struct vm *vm, const char *execute,
			    struct json_object *args, int timeout);
bool qmp_take_event(struct vm *vm, const char *name, const char *device);
int qmp_wait_event(struct vm *vm, const char *name, const char *device,
		   int timeout, char *which, size_t len);
int qmp_get_size(struct vm *vm, const char *id, const char *prop,
		 unsigned long long *out);
int qmp_device_range(struct vm *vm, const char *id,
		     unsigned long long *addr, unsigned long long *size);

/* agent.c */
int agent_line(struct vm *vm, char *line, size_t len, int timeout);
int agent_cmd(struct vm *vm, char *out, size_t len, int timeout,
	      const char *fmt, ...) __printf(5, 6);
long agent_field(const char *reply, const char *key);
int agent_busybox(struct vm *vm, const char *applet, const char *arg, int timeout,
		  char **buf, char *out, size_t len);
int agent_cat(struct vm *vm, const char *path, int timeout, char **buf, char *out,
	      size_t len);
/* where the guest's tracefs is mounted, and kmemleak's file in its debugfs */
#define TRACEFS		"/sys/kernel/tracing"
#define KMEMLEAK	"/sys/kernel/debug/kmemleak"

/* steps.c: what a scenario does */
struct counts {
	long blocks_onlined;
	long blocks_offlined;
	long dimms_added;
	long dimms_removed;
	long cpus_added;
	long cpus_removed;
	unsigned long long vmem_plugged;
	unsigned long long vmem_unplugged;
	long checks;
	long dax_mapped;		/* device-dax bound: memremap_pages() */
	long dax_unmapped;
	long kmem_added;		/* dax kmem bound: add_memory_driver_managed() */
	long kmem_removed;
	char loops[768];		/* "loop_ID=N ..." of stopped loops */
};

/* One case of a selftest run inside the guest, reported on its own. */
struct sub_result {
	char name[160];
	char why[160];
	char diag[256];
	bool ok;
};

#define MAX_SUB_RESULTS	32

struct run {
	struct vm *vm;
	struct sub_result subs[MAX_SUB_RESULTS];
	int nsubs;
	int selftests;			/* selftest steps so far (log file names) */
	const struct scenario *sc;
	struct counts counts;
	long memtotal_kb;		/* at READY */
	double deadline;		/* of the scenario */
	int nstep;			/* steps begun so far */
	size_t step_off;		/* console length when the current step began */
	size_t prev_step_off;		/* ... and when the step before it began */
	char why[1024];
	FILE *report;			/* human progress, may be NULL */
	bool measured;			/* the current step recorded its own metrics */
	double quiet_until;		/* host time a loop_for loop has surely ended */
	const char *quiet_loop;		/* ... its ID: until then the guest is not asked */
	char holds_armed[128];		/* "LOCK UNLOCK" read_holds probes, or "" */
};

int step_run(struct run *r, const struct step *s);

/* metrics.c: what "measure NAME STEP" records, in metrics.tsv */
void metric_add(struct run *r, const char *name, const char *unit, double value);
long loop_metrics(struct run *r, const struct step *s, FILE *f);
long lockdep_after(FILE *proc, const char *class, FILE *list);

struct lock_hold {
	double acquisitions;
	double max_us;		/* the longest single hold */
	double total_us;
};

int lock_stat_read(FILE *f, const char *class, struct lock_hold *out);

/* The read holds of a lock, per caller of its lock function (read_holds) */
#define MAX_HOLD_CALLERS 32

struct hold_caller {
	char name[64];
	double holds, max_us, total_us;
};

struct read_holds {
	struct lock_hold all;
	struct hold_caller callers[MAX_HOLD_CALLERS];
	int ncallers;
	long lost;		/* events the trace buffer dropped */
	long open;		/* lock events with no unlock yet */
};

int read_holds_parse(FILE *f, struct read_holds *out);
int saved_lock_file(const char *cmd, const char *path, const char *class);
int saved_holds_file(const char *path);

/* callers.c: the per-function hit counts (tests/callers.tbl) */
int callers_load(const char *path);
void callers_arm(struct run *r, const char *kernel);
void callers_collect(struct run *r);
int callers_judge(const char *table, const char *dir, FILE *out, char *why, size_t len,
		  char *diag, size_t dlen);
int callers_main(int argc, char **argv);
void callers_report(struct report *rep);

/* lines.c: line coverage on the gcov rows (make lines) */
void lines_collect(struct run *r, const char *kernel);
int lines_table(const char *dir, char *why, size_t len);
int lines_main(int argc, char **argv);

/* stats.c: the table of make bench */
int stats_main(int argc, char **argv);
void run_sub_add(struct run *r, const char *name, bool ok, const char *why,
		 const char *diag);
int run_final_checks(struct run *r);
int run_lockdep_state(struct run *r);
int run_baseline(struct run *r);

/* report.c: TAP, junit.xml, results directory */
struct result {
	char *name;
	bool ok;
	double seconds;
	bool xfail;			/* failed as expected (fixed-by.tbl) */
	bool skipped;			/* not run here, with the reason in why */
	char *why;
	char *diag;
	struct titles titles;
};

struct report {
	char dir[512];
	int n, cap;
	struct result *res;
	bool quiet;			/* no TAP on stdout (human report) */
	FILE *tap;			/* the same TAP, always, in DIR/tap.txt */
	const char *build, *variant;	/* whose series.txt fixed-by.tbl reads */
	FILE *spool;			/* a job's results, for its parent (jobs.c) */
};

void report_open(struct report *rep, const char *root, bool quiet);
void report_add(struct report *rep, const char *name, bool ok, double secs,
		const char *why, const char *diag, const struct titles *t);
void report_skip(struct report *rep, const char *name, const char *why);
int report_close(struct report *rep);

struct opts;

/* jobs.c: scenarios run in parallel, reported in a fixed order */
struct job {
	struct arch arch;
	const struct scenario *sc;
	const char *skip;		/* not run: the reason */
	int weight;			/* host cores its guest keeps busy */
	char name[200];			/* ARCH/SCENARIO */
	pid_t pid;
	bool done;
	int status;			/* the child's, once done */
	char spool[600];
};

void spool_add(FILE *f, const char *name, bool ok, double secs, const char *why,
	       const char *diag, const struct titles *t);
void spool_skip(FILE *f, const char *name, const char *why);
int job_weight(const struct arch *arch, const struct scenario *sc, int width);
void run_jobs(struct report *rep, const struct opts *o, struct job *jobs, int n);

/* fixedby.c */
void fixed_by_load(const char *table, const char *series);
const char *fixed_by_missing(const char *build, const char *variant, const char *result,
			     bool *sometimes, const char **failure);
void fixed_by_stale(bool (*ran)(const char *scenario, void *ctx), void *ctx,
		    void (*stale)(int line, const char *pattern, void *ctx));
enum fb_verdict { FB_NONE, FB_XFAIL, FB_UNDETECTED, FB_OTHERWISE, FB_OWN_DEFECT };
enum fb_verdict fixed_by_judge(const char *build, const char *variant, const char *result,
			       bool ok, const char *why, const struct titles *t,
			       const char **fix, const char **failure);

/* known.c */
bool known_issue(const char *arch, const char *scenario, const char *title, const char *site);
struct report;
void known_recheck(struct report *rep, const char *const *arches, int narches);

/* main.c: the command line */
struct opts {
	const char *arches[MAX_ARCHES];
	int narches;
	const char *variant;
	const char *build;
	const char *fixtures;
	const char *refuse;
	const char *judge;
	const char *record;
	bool human;
	bool known_issues;		/* every known issue must show up */
	int jobs;			/* guests at once, in host cores (-j) */
	bool slow;			/* also the scenarios' slow_on rows */
	bool races;			/* races_on pairs; KCSAN reports listed */
	const char *seeds;		/* torture: seeds instead of the scenario's */
	int ops;			/* ... operations per seed (0: the scenario's) */
	int duration;			/* ... seconds, then stop generating (0: none) */
	bool arch_given;		/* --arch was on the command line */
	bool callers;			/* judge the per-function hit counts */
};

extern const char *base_version;
char *slurp_line(const char *path);

/* run.c, fixtures.c, accel.c */
bool file_exists(const char *path);
void run_scenario(struct report *rep, const struct opts *o, const struct arch *arch,
		  const struct scenario *sc);
void console_titles(const char *arch, const struct scenario *sc, bool races,
		    const struct titles *all, struct titles *out, char *diag, size_t len);
bool same_reports(const struct scenario *sc, const struct titles *got, char *why, size_t len);

/* shell.c: rig shell, rig ctl */
int shell_main(const struct opts *o, const char *machine);
int ctl_main(const struct opts *o, bool arch_given, int argc, char **argv);

/* rescan.c: rig rescan RESULTS-DIR... */
int rescan_dir(const char *dir);
void record_fixture(const char *log, const char *dir, const char *arch,
		    const char *variant, const char *name);
void run_fixtures(struct report *rep, const char *dir);
void run_refusals(struct report *rep, const char *dir);
void run_judge_tests(struct report *rep, const char *dir);
void choose_accel(const struct opts *o, struct arch *arch);

#endif
