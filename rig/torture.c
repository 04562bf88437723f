// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded hotplug torture.  A scenario with "torture = SEEDS OPS" has no
 * steps of its own: for each seed in turn, a model of what the guest has
 * (DIMMs and their block states, virtio-mem sizes, which CPUs are online
 * or hot-added, which background loops run, the knobs) picks OPS random
 * operations that are valid in the model's state, and every operation is
 * followed by the invariants the model predicts: MemTotal, the state of
 * every block of every device, the present and online CPUs, lockdep on.
 * Then the seed's teardown brings the guest back to where it started.
 *
 * The choices depend only on the seed and the model, never on what the
 * guest answered (an answer that differs from the model is a failure), so
 * the same seeds and OPS give the same steps.  Every step is written to
 * torture.scn in the scenario's results, a plain scenario file that
 * replays them exactly; a failure names the seed, the operation and the
 * make command that repeats the run.
 *
 * Memory onlined to a kernel zone (online_kernel, or "online" where the
 * kernel picks the zone) cannot be offlined reliably: the kernel may have
 * put unmovable pages there.  Such a DIMM is "sticky": at most one per
 * boot, never offlined or removed, and later seeds of the same boot
 * start with it (so a replay repeats the seeds before the failing one).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rig.h"

static const char *const kinds[] = {
	"dimm", "vmem", "cpu", "cpu_add", "lrugen", "ksm", "hugetlb", "hpt", NULL
};

unsigned int torture_kind(const char *name)
{
	for (int i = 0; kinds[i]; i++)
		if (!strcmp(name, kinds[i]))
			return 1u << i;
	return 0;
}

int torture_check(const struct scenario *sc, char *err, size_t len)
{
	unsigned int k = sc->torture_kinds;

	if (!sc->torture_seeds) {
		if (k)
			return snprintf(err, len, "torture_ops: only with 'torture = SEEDS OPS'");
		return 0;
	}
	if (sc->nsteps)
		return snprintf(err, len, "torture: the steps are generated from the seeds; %s",
				"the file may not have steps of its own");
	if (!k)
		return snprintf(err, len, "torture: say what it may do (torture_ops = %s)",
				TORTURE_KINDS);
	if ((k & TK_DIMM) && !sc->slots)
		return snprintf(err, len, "torture_ops: dimm needs slots");
	if ((k & TK_VMEM) && !sc->nvmem)
		return snprintf(err, len, "torture_ops: vmem needs a virtio_mem device");
	if ((k & TK_CPU) && sc->cpus < 2)
		return snprintf(err, len, "torture_ops: cpu needs cpus >= 2 (CPU 0 stays online)");
	if ((k & TK_CPU_ADD) && sc->cpus >= 4)
		return snprintf(err, len, "torture_ops: cpu_add needs cpus < 4 (maxcpus is 4)");
	if (sc->nexpect || sc->expect_failure)
		return snprintf(err, len, "torture: a torture run expects no report or failure");
	return 0;
}

/* Operations the generator picks from, each with its weight. */
enum op {
	O_DIMM_ADD, O_DIMM_DEL, O_ONLINE, O_OFFLINE, O_VMEM, O_CPU, O_CPU_LOOP,
	O_CPU_ADD, O_CPU_DEL, O_LRUGEN, O_KSM, O_HUGETLB, O_HPT, O_NR
};

static const struct {
	const char *name;
	unsigned int kind;
	int weight;
} ops[O_NR] = {
	[O_DIMM_ADD] = { "dimm_add", TK_DIMM, 4 },
	[O_DIMM_DEL] = { "dimm_del", TK_DIMM, 3 },
	[O_ONLINE] = { "online", TK_DIMM, 3 },
	[O_OFFLINE] = { "offline", TK_DIMM, 3 },
	[O_VMEM] = { "vmem_resize", TK_VMEM, 4 },
	[O_CPU] = { "cpu_write", TK_CPU, 3 },
	[O_CPU_LOOP] = { "cpu_loop", TK_CPU, 2 },
	[O_CPU_ADD] = { "cpu_add", TK_CPU_ADD, 2 },
	[O_CPU_DEL] = { "cpu_del", TK_CPU_ADD, 2 },
	[O_LRUGEN] = { "lrugen", TK_LRUGEN, 1 },
	[O_KSM] = { "ksm", TK_KSM, 1 },
	[O_HUGETLB] = { "hugetlb", TK_HUGETLB, 1 },
	[O_HPT] = { "hpt_loop", TK_HPT, 1 },
};

enum { D_ABSENT, D_OFFLINE, D_MOVABLE, D_STICKY };

#define MAX_CPUS	8
#define LOOP_AGE	2	/* operations a loop runs before it may stop */

struct model {
	int dimm[MAX_DEVICES];			/* D_* */
	unsigned long long dsize[MAX_DEVICES];
	unsigned long long vmem[MAX_DEVICES];	/* plugged, all online movable */
	bool on[MAX_CPUS];			/* boot CPUs */
	int added;				/* hot-added vCPUs, all online */
	int loop_cpu;				/* the CPU a loop toggles, or -1 */
	int cpu_age, lrugen_age, hpt_age;	/* ops since the loop started, or -1 */
	bool lrugen, sticky;
	int ksm_run, ksm_scan, ksm_nodes, hugepages;
	long long delta;			/* MemTotal since boot, bytes */
};

struct torture {
	struct run *r;
	const struct scenario *sc;
	struct scenario steps;		/* the generated steps, parsed */
	struct model m;
	unsigned long long rng;
	unsigned long block;
	FILE *log;
	char log_path[600];
	int line;			/* of the log file */
	int count[O_NR];
	int duration;
	bool last_seed;			/* its teardown removes the hot-added vCPUs */
	bool failed;
};

/* splitmix64: the same numbers from the same seed on every host */
static unsigned long long next_rand(struct torture *t)
{
	unsigned long long z = (t->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int pick(struct torture *t, int n)
{
	return n > 0 ? (int)(next_rand(t) % (unsigned long long)n) : 0;
}

/* One step: logged, parsed as a scenario line, run; false when it failed. */
static bool step(struct torture *t, const char *fmt, ...) __printf(2, 3);

static bool step(struct torture *t, const char *fmt, ...)
{
	char text[512], err[600];
	struct step *s;
	va_list ap;
	int rc;

	if (t->failed)
		return false;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(t->log, "%s\n", text);
	fflush(t->log);
	t->line++;
	if (scenario_step(&t->steps, t->log_path, t->line, text, err, sizeof(err)))
		die("torture: the generator made an invalid line: %s", err);
	s = &t->steps.steps[t->steps.nsteps - 1];
	if (!t->r)
		return true;	/* a plan: generated, not run */
	if (now() > t->r->deadline) {
		snprintf(t->r->why, sizeof(t->r->why), "scenario timeout before line %d",
			 s->line);
		t->r->vm->timed_out = true;
		t->failed = true;
		return false;
	}
	rc = step_run(t->r, s);
	if (t->r->report) {
		fprintf(t->r->report, "  %s%s\n", text, rc ? "  FAILED" : "");
		fflush(t->r->report);
	}
	if (rc) {
		char why[1024];

		snprintf(why, sizeof(why), "line %d %s: %s", s->line, verb_name(s->verb),
			 t->r->why);
		snprintf(t->r->why, sizeof(t->r->why), "%s", why);
		t->failed = true;
	}
	return !rc;
}

static void comment(struct torture *t, const char *text)
{
	fprintf(t->log, "# %s\n", text);
	t->line++;
}

static void fmt_mib(long long bytes, char *buf, size_t len)
{
	if (!bytes)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%+lldM", bytes >> 20);
}

/* "0-2,4": the CPUs the model has online */
static void cpu_list(const struct torture *t, bool online_only, char *buf, size_t len)
{
	int n = t->sc->cpus + t->m.added, i, start = -1;
	size_t w = 0;

	buf[0] = '\0';
	for (i = 0; i <= n; i++) {
		bool on = i < n && (!online_only || i >= t->sc->cpus || t->m.on[i]);

		if (on && start < 0)
			start = i;
		if (!on && start >= 0) {
			if (start == i - 1)
				w += snprintf(buf + w, len - w, "%s%d", w ? "," : "", start);
			else
				w += snprintf(buf + w, len - w, "%s%d-%d", w ? "," : "", start,
					      i - 1);
			start = -1;
		}
	}
}

/* What the model predicts, checked after every operation. */
static bool invariants(struct torture *t)
{
	char buf[128];
	int i;

	fmt_mib(t->m.delta, buf, sizeof(buf));
	step(t, "expect_memtotal %s", buf);
	for (i = 0; i < t->sc->slots && i < MAX_DEVICES; i++)
		if (t->m.dimm[i] != D_ABSENT)
			step(t, "expect_blocks t%d %s", i,
			     t->m.dimm[i] == D_OFFLINE ? "offline" : "online");
	if (t->sc->torture_kinds & TK_VMEM)
		for (i = 0; i < t->sc->nvmem; i++)
			step(t, "expect_blocks %s online", t->sc->vmem[i].id);
	cpu_list(t, false, buf, sizeof(buf));
	step(t, "expect_read /sys/devices/system/cpu/present %s", buf);
	if (t->m.loop_cpu < 0) {
		cpu_list(t, true, buf, sizeof(buf));
		step(t, "expect_read /sys/devices/system/cpu/online %s", buf);
	}
	return step(t, "expect_lockdep");
}

static int count_dimms(const struct torture *t, int state)
{
	int i, n = 0;

	for (i = 0; i < t->sc->slots && i < MAX_DEVICES; i++)
		n += t->m.dimm[i] == state;
	return n;
}

/* The index of a random DIMM in that state (one exists). */
static int pick_dimm(struct torture *t, int state)
{
	int k = pick(t, count_dimms(t, state)), i;

	for (i = 0; i < t->sc->slots && i < MAX_DEVICES; i++)
		if (t->m.dimm[i] == state && !k--)
			return i;
	return -1;
}

static int pick_cpu(struct torture *t, bool loop_ok)
{
	int c = 1 + pick(t, t->sc->cpus - 1);

	return !loop_ok && c == t->m.loop_cpu ? -1 : c;
}

static bool possible(const struct torture *t, enum op op)
{
	const struct model *m = &t->m;

	if (!(t->sc->torture_kinds & ops[op].kind))
		return false;
	switch (op) {
	case O_DIMM_ADD:
		return count_dimms(t, D_ABSENT) > 0;
	case O_DIMM_DEL:
		return count_dimms(t, D_OFFLINE) + count_dimms(t, D_MOVABLE) > 0;
	case O_ONLINE:
		return count_dimms(t, D_OFFLINE) > 0;
	case O_OFFLINE:
		return count_dimms(t, D_MOVABLE) > 0;
	case O_CPU:
		return t->sc->cpus > 2 || m->loop_cpu < 0;
	case O_CPU_LOOP:
		return m->loop_cpu < 0 || m->cpu_age >= LOOP_AGE;
	case O_CPU_ADD:
		return t->sc->cpus + m->added < 4;
	case O_CPU_DEL:
		/*
		 * QEMU 7.2's pseries machine crashes on the next DIMM
		 * device_add or device_del once a vCPU was removed (a
		 * segfault, or "double free or corruption"): vCPUs go only
		 * in the teardown of the last seed, after the DIMMs.
		 */
		return false;
	case O_LRUGEN:
		return m->lrugen_age < 0 || m->lrugen_age >= LOOP_AGE;
	case O_HPT:
		return m->hpt_age < 0 || m->hpt_age >= LOOP_AGE;
	case O_VMEM:
	case O_KSM:
	case O_HUGETLB:
		return true;
	case O_NR:
		break;
	}
	return false;
}

static void op_dimm(struct torture *t, enum op op)
{
	struct model *m = &t->m;
	int i;

	switch (op) {
	case O_DIMM_ADD: {
		int nodes = t->sc->nnuma;
		char node[32] = "";

		i = pick_dimm(t, D_ABSENT);
		m->dsize[i] = t->block * (1 + pick(t, 2));
		if (nodes)
			snprintf(node, sizeof(node), " node=%d", pick(t, nodes));
		/* the guest onlines it movable itself (memhp_default_state) */
		step(t, "dimm_add t%d %lluM%s", i, m->dsize[i] >> 20, node);
		step(t, "wait_online t%d", i);
		m->dimm[i] = D_MOVABLE;
		m->delta += m->dsize[i];
		break;
	}
	case O_DIMM_DEL:
		i = pick(t, 2) && count_dimms(t, D_MOVABLE) ? pick_dimm(t, D_MOVABLE) :
			count_dimms(t, D_OFFLINE) ? pick_dimm(t, D_OFFLINE) :
						    pick_dimm(t, D_MOVABLE);
		/* online memory is offlined by the guest as part of the eject */
		step(t, "dimm_del t%d", i);
		if (m->dimm[i] == D_MOVABLE)
			m->delta -= m->dsize[i];
		m->dimm[i] = D_ABSENT;
		break;
	case O_ONLINE: {
		static const char *const types[] = { "online_kernel", "online" };
		const char *type = "online_movable";

		i = pick_dimm(t, D_OFFLINE);
		if (!m->sticky && !pick(t, 4)) {
			type = types[pick(t, 2)];
			m->sticky = true;
			m->dimm[i] = D_STICKY;
		} else {
			m->dimm[i] = D_MOVABLE;
		}
		step(t, "online t%d %s", i, type);
		m->delta += m->dsize[i];
		break;
	}
	case O_OFFLINE:
		i = pick_dimm(t, D_MOVABLE);
		step(t, "offline t%d", i);
		m->dimm[i] = D_OFFLINE;
		m->delta -= m->dsize[i];
		break;
	default:
		break;
	}
}

static void op_vmem(struct torture *t)
{
	int i = pick(t, t->sc->nvmem), blocks = t->sc->vmem[i].size / t->block;
	unsigned long long size, old = t->m.vmem[i];
	const char *id = t->sc->vmem[i].id;

	if (blocks < 1)
		die("virtio_mem %s: smaller than one memory block of the guest", id);
	do
		size = t->block * pick(t, (blocks < 4 ? blocks : 4) + 1);
	while (size == old);
	step(t, "vmem_resize %s %lluM", id, size >> 20);
	if (size > old)
		step(t, "wait_online %s", id);
	t->m.vmem[i] = size;
	t->m.delta += (long long)size - (long long)old;
}

#define CPU_ONLINE	"/sys/devices/system/cpu/cpu%d/online"

static void op_cpu(struct torture *t, enum op op)
{
	struct model *m = &t->m;
	char path[96];
	int c;

	switch (op) {
	case O_CPU:
		do
			c = pick_cpu(t, false);
		while (c < 0);
		snprintf(path, sizeof(path), CPU_ONLINE, c);
		m->on[c] = !m->on[c];
		step(t, "write %s %d", path, m->on[c]);
		break;
	case O_CPU_LOOP:
		if (m->loop_cpu < 0) {
			m->loop_cpu = pick_cpu(t, true);
			snprintf(path, sizeof(path), CPU_ONLINE, m->loop_cpu);
			step(t, "loop_start cpuloop %s 0 1", path);
			m->cpu_age = 0;
			break;
		}
		snprintf(path, sizeof(path), CPU_ONLINE, m->loop_cpu);
		step(t, "loop_stop cpuloop");
		/* the loop stops after either write: bring the CPU back */
		step(t, "write %s 1", path);
		m->on[m->loop_cpu] = true;
		m->loop_cpu = -1;
		m->cpu_age = -1;
		break;
	case O_CPU_ADD:
		step(t, "cpu_add c%d", m->added++);
		break;
	case O_CPU_DEL:
		/* the last one added: the guest numbers CPUs densely */
		step(t, "cpu_del c%d", --m->added);
		break;
	default:
		break;
	}
}

#define LRUGEN	"/sys/kernel/mm/lru_gen/enabled"
#define KSM	"/sys/kernel/mm/ksm/"
#define HPT	"/sys/kernel/debug/powerpc/hpt_order"

static void op_knob(struct torture *t, enum op op)
{
	static const int scan[] = { 100, 1000, 5000 };
	struct model *m = &t->m;
	int v;

	switch (op) {
	case O_LRUGEN:
		if (m->lrugen_age >= 0) {
			step(t, "loop_stop lrugen");
			step(t, "write " LRUGEN " n");
			m->lrugen = false;
			m->lrugen_age = -1;
		} else if (!pick(t, 3)) {
			step(t, "loop_start lrugen " LRUGEN " n y");
			m->lrugen_age = 0;
		} else {
			m->lrugen = !m->lrugen;
			step(t, "write " LRUGEN " %s", m->lrugen ? "y" : "n");
		}
		break;
	case O_KSM:
		switch (pick(t, 3)) {
		case 0:
			do
				v = pick(t, 3);
			while (v == m->ksm_run);
			m->ksm_run = v;
			step(t, "write " KSM "run %d", v);
			break;
		case 1:
			m->ksm_scan = scan[pick(t, 3)];
			step(t, "write " KSM "pages_to_scan %d", m->ksm_scan);
			break;
		default:
			/* nothing is merged (no MADV_MERGEABLE user): always allowed */
			m->ksm_nodes = !m->ksm_nodes;
			step(t, "write " KSM "merge_across_nodes %d", m->ksm_nodes);
			break;
		}
		break;
	case O_HUGETLB:
		do
			v = pick(t, 5);
		while (v == m->hugepages);
		m->hugepages = v;
		step(t, "write /proc/sys/vm/nr_hugepages %d", v);
		break;
	case O_HPT:
		if (m->hpt_age < 0) {
			step(t, "loop_start hpt " HPT " 22 23");
			m->hpt_age = 0;
		} else {
			/*
			 * Its writes fail as in hpt-cpu-stress.scn when a
			 * DIMM resizes the HPT meanwhile, and a loop of a few
			 * writes may lose most of them that way (seed 14: 2
			 * of 7; seed 8: 2 of 5, no whole cycle; ETIMEDOUT):
			 * one write must succeed, and every failure must be
			 * one of those errnos (the scenario forbids the
			 * console lines of any other resize error).
			 */
			step(t, "loop_stop hpt 0 100%% EIO,ETIMEDOUT");
			m->hpt_age = -1;
		}
		break;
	default:
		break;
	}
}

static void run_op(struct torture *t, enum op op)
{
	t->count[op]++;
	switch (op) {
	case O_DIMM_ADD:
	case O_DIMM_DEL:
	case O_ONLINE:
	case O_OFFLINE:
		op_dimm(t, op);
		break;
	case O_VMEM:
		op_vmem(t);
		break;
	case O_CPU:
	case O_CPU_LOOP:
	case O_CPU_ADD:
	case O_CPU_DEL:
		op_cpu(t, op);
		break;
	default:
		op_knob(t, op);
		break;
	}
	if (t->m.cpu_age >= 0)
		t->m.cpu_age++;
	if (t->m.lrugen_age >= 0)
		t->m.lrugen_age++;
	if (t->m.hpt_age >= 0)
		t->m.hpt_age++;
}

static enum op choose(struct torture *t)
{
	int total = 0, k, op;

	for (op = 0; op < O_NR; op++)
		if (possible(t, op))
			total += ops[op].weight;
	k = pick(t, total);
	for (op = 0; op < O_NR; op++) {
		if (!possible(t, op))
			continue;
		if (k < ops[op].weight)
			break;
		k -= ops[op].weight;
	}
	return op;
}

/* Back to the state a seed starts from; only a sticky DIMM stays. */
static void teardown(struct torture *t)
{
	struct model *m = &t->m;
	int i;

	comment(t, "teardown");
	if (m->cpu_age >= 0)
		op_cpu(t, O_CPU_LOOP);
	if (m->lrugen_age >= 0)
		op_knob(t, O_LRUGEN);
	if (m->hpt_age >= 0)
		op_knob(t, O_HPT);
	for (i = 1; i < t->sc->cpus && i < MAX_CPUS; i++) {
		if (!m->on[i]) {
			step(t, "write " CPU_ONLINE " 1", i);
			m->on[i] = true;
		}
	}
	for (i = 0; i < t->sc->nvmem; i++) {
		if (m->vmem[i]) {
			step(t, "vmem_resize %s 0", t->sc->vmem[i].id);
			m->delta -= m->vmem[i];
			m->vmem[i] = 0;
		}
	}
	for (i = 0; i < t->sc->slots && i < MAX_DEVICES; i++) {
		if (m->dimm[i] == D_OFFLINE || m->dimm[i] == D_MOVABLE) {
			step(t, "dimm_del t%d", i);
			if (m->dimm[i] == D_MOVABLE)
				m->delta -= m->dsize[i];
			m->dimm[i] = D_ABSENT;
		}
	}
	/* the last seed: the vCPUs too, now that no DIMM will come or go */
	while (t->last_seed && m->added) {
		t->count[O_CPU_DEL]++;
		op_cpu(t, O_CPU_DEL);
	}
	if (m->hugepages)
		step(t, "write /proc/sys/vm/nr_hugepages 0");
	if (m->ksm_run)
		step(t, "write " KSM "run 0");
	if (m->ksm_scan != 100)
		step(t, "write " KSM "pages_to_scan 100");
	if (!m->ksm_nodes)
		step(t, "write " KSM "merge_across_nodes 1");
	if (m->lrugen)
		step(t, "write " LRUGEN " n");
	m->hugepages = 0;
	m->ksm_run = 0;
	m->ksm_scan = 100;
	m->ksm_nodes = 1;
	m->lrugen = false;
	invariants(t);
}

/* The scenario's keys, so that the log is a scenario file of its own. */
static void log_header(struct torture *t, const char *seeds, int nops)
{
	char buf[1024], *p;
	FILE *f = fopen(t->sc->path, "r");

	if (nops == INT_MAX)
		fprintf(t->log, "# generated by the torture of %s: seed %s, for %d s\n",
			t->sc->path, seeds, t->duration);
	else
		fprintf(t->log, "# generated by the torture of %s: seeds %s, %d operations each\n",
			t->sc->path, seeds, nops);
	fprintf(t->log, "# replay: build/bin/rig run --arch ARCH %s\n", t->log_path);
	t->line = 2;
	while (f && fgets(buf, sizeof(buf), f)) {
		p = buf + strspn(buf, " \t");
		if (*p == '#' || *p == '\n' || !strchr(p, '=') || !strncmp(p, "torture", 7) ||
		    !strncmp(p, "timeout", 7))
			continue;
		fputs(p, t->log);
		t->line++;
	}
	if (f)
		fclose(f);
	fprintf(t->log, "timeout = 3600\n");
	t->line++;
}

static void counts_diag(const struct torture *t, unsigned long long seed, int done,
			char *buf, size_t len)
{
	size_t w = snprintf(buf, len, "seed=%llu ops=%d", seed, done);

	for (int op = 0; op < O_NR && w < len; op++)
		if (t->count[op])
			w += snprintf(buf + w, len - w, " %s=%d", ops[op].name, t->count[op]);
}

/*
 * The scenario's seeds (or o->seeds), o->ops or the scenario's operations
 * each, until o->duration seconds have passed.  With a run, each seed is
 * a result of its own (ARCH/torture/seed-N).
 */
static void generate(struct torture *t, const struct opts *o)
{
	const struct scenario *sc = t->sc;
	const char *seeds = o->seeds ? o->seeds : sc->torture_seeds;
	/* for a time: as many operations as fit, unless OPS is given */
	int nops = o->ops ? o->ops : o->duration ? INT_MAX : sc->torture_ops;
	char list[256], *tok, *save = NULL, chain[256] = "", diag[256], name[64];
	double start = now();
	bool stopped = false;
	int i;

	t->duration = o->duration;
	log_header(t, seeds, nops);
	t->m.loop_cpu = -1;
	t->m.cpu_age = -1;
	t->m.lrugen_age = -1;
	t->m.hpt_age = -1;
	t->m.ksm_scan = 100;
	t->m.ksm_nodes = 1;
	for (i = 0; i < MAX_CPUS; i++)
		t->m.on[i] = true;
	snprintf(list, sizeof(list), "%s", seeds);
	for (tok = strtok_r(list, ",", &save); tok && !t->failed && !stopped;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long long seed = strtoull(tok, NULL, 10);
		int done;

		snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain), "%s%s",
			 chain[0] ? "," : "", tok);
		t->last_seed = !save || !*save;
		memset(t->count, 0, sizeof(t->count));
		t->rng = seed;
		snprintf(name, sizeof(name), "seed %llu", seed);
		comment(t, name);
		for (done = 0; done < nops && !t->failed; done++) {
			enum op op;

			if (o->duration && now() - start > o->duration) {
				stopped = true;
				t->last_seed = true;
				break;
			}
			op = choose(t);
			snprintf(name, sizeof(name), "op %d: %s", done + 1, ops[op].name);
			comment(t, name);
			run_op(t, op);
			invariants(t);
		}
		if (!t->failed)
			teardown(t);
		if (!t->r)
			continue;
		counts_diag(t, seed, done, diag, sizeof(diag));
		snprintf(name, sizeof(name), "seed-%llu", seed);
		if (t->failed) {
			struct run *r = t->r;
			char why[1200];

			snprintf(why, sizeof(why),
				 "seed %llu, op %d: %.700s; replay: make torture ARCH=%s SEED=%s OPS=%d (steps: %s)",
				 seed, done, r->why, r->vm->arch->name, chain,
				 nops == INT_MAX ? done : nops, t->log_path);
			snprintf(r->why, sizeof(r->why), "%s", why);
		}
		run_sub_add(t->r, name, !t->failed, t->failed ? t->r->why : "", diag);
	}
	if (stopped && !t->failed)
		comment(t, "stopped: duration reached");
}

/* Boot done: generate and run; false if a step failed. */
bool torture_run(struct run *r, const struct opts *o)
{
	struct torture t = { .r = r, .sc = r->sc, .block = r->vm->block_size };

	if (!t.block) {
		snprintf(r->why, sizeof(r->why), "the guest did not report its block size");
		return false;
	}
	if (o->duration && r->deadline < now() + o->duration + 900)
		r->deadline = now() + o->duration + 900;
	snprintf(t.log_path, sizeof(t.log_path), "%s/torture.scn", r->vm->dir);
	t.log = fopen(t.log_path, "w");
	if (!t.log) {
		snprintf(r->why, sizeof(r->why), "cannot write %s", t.log_path);
		return false;
	}
	generate(&t, o);
	fclose(t.log);
	scenario_free(&t.steps);
	return !t.failed;
}

/*
 * rig torture-plan: print the steps the seeds give, without a guest, for
 * a guest whose memory blocks are BLOCK bytes (what the run would do as
 * long as the guest agrees with the model at every step).
 */
void torture_plan(const struct scenario *sc, const struct opts *o, unsigned long block)
{
	struct torture t = { .sc = sc, .block = block, .log = stdout };

	snprintf(t.log_path, sizeof(t.log_path), "%s", "torture.scn");
	generate(&t, o);
	scenario_free(&t.steps);
}

/* A plan as a string (open_memstream); the caller frees it. */
static char *plan_text(const struct scenario *sc, const struct opts *o, unsigned long block)
{
	struct torture t = { .sc = sc, .block = block };
	char *buf = NULL;
	size_t len = 0;

	t.log = open_memstream(&buf, &len);
	if (!t.log)
		die("out of memory");
	snprintf(t.log_path, sizeof(t.log_path), "%s", "plan");
	generate(&t, o);
	fclose(t.log);
	scenario_free(&t.steps);
	return buf;
}

/*
 * make check, without a guest: the same seeds give the same steps, a long
 * plan is a valid scenario file, and it does every kind of operation the
 * scenario allows (a weight or a precondition that never lets one happen
 * would leave it untested).  Result "plan/NAME".
 */
void torture_plan_check(struct report *rep, const struct scenario *sc)
{
	struct opts longer = { .seeds = "1,2,3", .ops = 200 };
	struct opts own = { 0 };
	char name[200], why[600] = "", path[] = "/tmp/rig-plan-XXXXXX", *a, *b, *c;
	struct scenario parsed;
	double t0 = now();
	int fd, op;
	FILE *f;

	snprintf(name, sizeof(name), "plan/%s", strrchr(sc->path, '/') ?
		 strrchr(sc->path, '/') + 1 : sc->path);
	a = plan_text(sc, &own, 128 << 20);
	b = plan_text(sc, &own, 128 << 20);
	c = plan_text(sc, &longer, 128 << 20);
	if (strcmp(a, b))
		snprintf(why, sizeof(why), "two plans of the same seeds differ");
	fd = mkstemp(path);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f)
		die("cannot write %s", path);
	fputs(c, f);
	fclose(f);
	if (!why[0] && scenario_load(path, &parsed, why, sizeof(why)) == 0)
		scenario_free(&parsed);
	unlink(path);
	for (op = 0; op < O_NR && !why[0]; op++) {
		char mark[64];

		if (!(sc->torture_kinds & ops[op].kind))
			continue;
		/* vCPUs are removed in a teardown only, not as an operation */
		if (op == O_CPU_DEL)
			snprintf(mark, sizeof(mark), "\ncpu_del ");
		else
			snprintf(mark, sizeof(mark), ": %s\n", ops[op].name);
		if (!strstr(c, mark))
			snprintf(why, sizeof(why), "3 seeds of 200 operations never do %s",
				 ops[op].name);
	}
	report_add(rep, name, !why[0], now() - t0, why, "", NULL);
	free(a);
	free(b);
	free(c);
}
