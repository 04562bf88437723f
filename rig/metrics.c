// SPDX-License-Identifier: GPL-2.0
/*
 * Measurements of a scenario run, for make bench: a step prefixed with
 * "measure NAME" records what it measured in metrics.tsv of the run's
 * results (one line per sample: name, unit, value).  What a step measures
 * depends on the step:
 *
 *   loop_stop ID        every write of the loop, as timed inside the guest:
 *                       NAME.VALUE in microseconds (one name per value the
 *                       loop writes, e.g. cpu.0 and cpu.1 for offline and
 *                       online of a CPU)
 *   lockdep_after CLASS how many lock classes lockdep saw taken after
 *                       CLASS, directly or not (its forward dependencies)
 *   lock_stat CLASS     the read-side holds of CLASS since the last
 *                       lock_stat step (or the boot): NAME.hold_max and
 *                       NAME.hold_total in microseconds, NAME.reads
 *                       (CONFIG_LOCK_STAT)
 *   read_holds LOCK UNLOCK the same three from kprobes on the lock's
 *                       functions (any kernel with kprobe events), and per
 *                       caller of LOCK in holds.tsv: NAME, caller, holds,
 *                       longest and total in microseconds
 *   any other step      its wall time, NAME in seconds
 *
 * The table and plots of make bench are made from these files (stats.c,
 * scripts/bench.sh).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

void metric_add(struct run *r, const char *name, const char *unit, double value)
{
	char path[600];
	FILE *f;

	r->measured = true;
	snprintf(path, sizeof(path), "%s/metrics.tsv", r->vm->dir);
	f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "%s\t%s\t%.9g\n", name, unit, value);
	fclose(f);
}

/*
 * The value a loop writes at INDEX: from the last loop_start of ID before
 * the loop_stop at LINE (an ID may be started again with other values).
 */
static const char *loop_value(const struct scenario *sc, const char *id, int line,
			      unsigned int index)
{
	const char *v = NULL;

	for (int i = 0; i < sc->nsteps && sc->steps[i].line < line; i++) {
		const struct step *s = &sc->steps[i];

		/* loop_start ID PATH V...; loop_for ID SECONDS PATH V... */
		int first = s->verb == V_LOOP_FOR ? 3 : 2;

		if ((s->verb == V_LOOP_START || s->verb == V_LOOP_FOR) && !strcmp(s->args[0], id))
			v = (int)index + first < s->nargs ? s->args[index + first] : NULL;
	}
	return v;
}

/*
 * The samples a "stop ID samples" streamed into F ("VALUE-INDEX US" per
 * line) for the loop_stop step S become metrics NAME.VALUE.  Returns how
 * many there were, or -1 at a line that is not a sample.
 */
long loop_metrics(struct run *r, const struct step *s, FILE *f)
{
	char metric[160], line[128], extra;
	unsigned int index, us;
	const char *v;
	long n = 0;

	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %u %c", &index, &us, &extra) != 2)
			return -1;
		v = loop_value(r->sc, s->args[0], s->line, index);
		if (!v)
			return -1;
		snprintf(metric, sizeof(metric), "%s.%s", s->metric, v);
		metric_add(r, metric, "us", us);
		n++;
	}
	return n;
}

/*
 * The lock graph of a /proc/lockdep: classes, and the direct edges between
 * them.  A class is its key's address and its name: the subclasses of one
 * key ("name/1") share the address.
 */
struct lock_graph {
	struct lock_class {
		char addr[24];
		char *name;
		long fd;
		int first, n;		/* its edges: to[first .. first + n) */
		bool seen;
	} *c;
	int nc, capc;
	struct lock_edge {	/* the class an edge leads to */
		char addr[24];
		char *name;
	} *to;
	int nto, capto;
};

static void graph_grow(void **p, int *cap, int n, size_t size)
{
	if (n < *cap)
		return;
	*cap = *cap ? 2 * *cap : 1024;
	*p = realloc(*p, *cap * size);
	if (!*p)
		die("out of memory");
}

/*
 * /proc/lockdep lists every class as "ADDR FD: N BD: N USAGE: NAME",
 * followed by one " -> [ADDR] NAME" line per class taken directly after
 * it.  Returns false if no line has FD and BD (no CONFIG_PROVE_LOCKING).
 */
static bool graph_load(FILE *proc, struct lock_graph *g)
{
	char line[512], *name, *bd, *fd_at, *end;
	bool deps = false;

	memset(g, 0, sizeof(*g));
	rewind(proc);
	while (fgets(line, sizeof(line), proc)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, " -> [", 5)) {
			end = strchr(line, ']');
			if (!g->nc || !end || end - line - 5 >= 24)
				continue;
			graph_grow((void **)&g->to, &g->capto, g->nto, sizeof(*g->to));
			g->to[g->nto].name = xstrdup(end[1] == ' ' ? end + 2 : end + 1);
			snprintf(g->to[g->nto++].addr, 24, "%.*s", (int)(end - line - 5), line + 5);
			g->c[g->nc - 1].n++;
			continue;
		}
		bd = strstr(line, " BD:");
		fd_at = strstr(line, " FD:");
		name = bd && fd_at ? strstr(bd + 4, ": ") : NULL;
		if (!name || strcspn(line, " ") >= 24)
			continue;
		deps = true;
		graph_grow((void **)&g->c, &g->capc, g->nc, sizeof(*g->c));
		memset(&g->c[g->nc], 0, sizeof(g->c[0]));
		snprintf(g->c[g->nc].addr, 24, "%.*s", (int)strcspn(line, " "), line);
		g->c[g->nc].name = xstrdup(name + 2);
		g->c[g->nc].fd = atol(fd_at + 4);
		g->c[g->nc].first = g->nto;
		g->nc++;
	}
	return deps;
}

static int graph_find(const struct lock_graph *g, int edge)
{
	for (int i = 0; i < g->nc; i++)
		if (!strcmp(g->c[i].addr, g->to[edge].addr) &&
		    !strcmp(g->c[i].name, g->to[edge].name))
			return i;
	return -1;
}

static void graph_free(struct lock_graph *g)
{
	for (int i = 0; i < g->nc; i++)
		free(g->c[i].name);
	for (int i = 0; i < g->nto; i++)
		free(g->to[i].name);
	free(g->c);
	free(g->to);
}

/*
 * How many lock classes are taken after CLASS, directly or not: lockdep's
 * own count of its forward dependencies (FD), less the class itself.
 * Returns -1 if CLASS is absent, -2 if the file has no dependencies at all
 * (a kernel without CONFIG_PROVE_LOCKING).
 *
 * LIST gets the names of the classes that the file's edges reach from
 * CLASS (a breadth-first walk, the direct ones first).  That is fewer than
 * the count: /proc/lockdep prints only the edges of distance 1 (NEXT taken
 * with PREV on top of the held locks), while lockdep's walk also follows
 * those recorded past held trylocks and unchecked locks.  The same rule
 * on both kernels keeps the lists comparable.
 */
long lockdep_after(FILE *proc, const char *class, FILE *list)
{
	struct lock_graph g;
	int *queue, head = 0, tail = 0, start = -1;
	long n;

	if (!graph_load(proc, &g)) {
		graph_free(&g);
		return -2;
	}
	for (int i = 0; i < g.nc && start < 0; i++)
		if (!strcmp(g.c[i].name, class))
			start = i;
	if (start < 0) {
		graph_free(&g);
		return -1;
	}
	queue = malloc(g.nc * sizeof(*queue));
	if (!queue)
		die("out of memory");
	g.c[start].seen = true;
	queue[tail++] = start;
	while (head < tail) {
		struct lock_class *c = &g.c[queue[head++]];

		for (int e = c->first; e < c->first + c->n; e++) {
			int k = graph_find(&g, e);

			if (k < 0 || g.c[k].seen)
				continue;
			g.c[k].seen = true;
			queue[tail++] = k;
			if (list)
				fprintf(list, "%s\n", g.c[k].name);
		}
	}
	n = g.c[start].fd - 1;
	free(queue);
	graph_free(&g);
	return n;
}

/*
 * /proc/lock_stat (CONFIG_LOCK_STAT) has one line per class and kind of
 * acquisition: "NAME-R:" for read holds when the class has write holds
 * too, else "NAME:", then con-bounces, the wait time (contentions, min,
 * max, total, avg), acq-bounces and the hold time (acquisitions, min, max,
 * total, avg), times in microseconds.  Reads the read-side hold time of
 * CLASS (its "-R" line; a class taken only for read shows it as NAME-R
 * too).  Returns 0, -1 if CLASS has no read holds in the file, -2 if the
 * file is not a lock_stat.
 */
int lock_stat_read(FILE *f, const char *class, struct lock_hold *out)
{
	char line[1024], want[80], *p;
	double v[12];
	bool header = false;

	snprintf(want, sizeof(want), "%s-R:", class);
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		header |= !strncmp(line, "lock_stat version", 17);
		p = line + strspn(line, " ");
		if (strncmp(p, want, strlen(want)))
			continue;
		p += strlen(want);
		for (int i = 0; i < 12; i++) {
			char *end;

			v[i] = strtod(p, &end);
			if (end == p)
				return -2;
			p = end;
		}
		out->acquisitions = v[7];
		out->max_us = v[9];
		out->total_us = v[10];
		return 0;
	}
	return header ? -1 : -2;
}

/*
 * The trace of read_holds' two kprobes (TRACEFS/trace): a line per event,
 *
 *   TASK-PID  [CPU] FLAGS  SECONDS: rig_rlock: (FUNC+0x8/0x1b8) caller=SYM+0x38/0x390
 *   TASK-PID  [CPU] FLAGS  SECONDS: rig_runlock: (FUNC+0x8/0xc)
 *
 * A hold runs from a task's lock event to its next unlock event; a task
 * that nests read locks (a recursive reader) pairs them innermost first,
 * so the outer hold spans the inner ones.  An unlock with no lock before it
 * in the window (taken before the window began) is left out, as is a lock
 * with no unlock yet (counted in OPEN).  The header tells how many events
 * were written and how many are in the buffer: the difference was lost.
 */
#define MAX_HOLD_TASKS	64	/* holding at once */
#define MAX_HOLD_DEPTH	8

struct hold_task {
	long pid;
	int depth;
	double since[MAX_HOLD_DEPTH];
	char caller[MAX_HOLD_DEPTH][64];
};

static struct hold_caller *hold_find(struct read_holds *h, const char *caller)
{
	for (int i = 0; i < h->ncallers; i++)
		if (!strcmp(h->callers[i].name, caller))
			return &h->callers[i];
	return NULL;
}

static void hold_add(struct read_holds *h, const char *caller, double us)
{
	struct hold_caller *c = hold_find(h, caller);

	/* the last slot takes every caller the others have no room for */
	if (!c && h->ncallers >= MAX_HOLD_CALLERS - 1)
		caller = "(other callers)";
	if (!c)
		c = hold_find(h, caller);
	if (!c) {
		c = &h->callers[h->ncallers++];
		snprintf(c->name, sizeof(c->name), "%s", caller);
	}
	c->holds++;
	c->total_us += us;
	if (us > c->max_us)
		c->max_us = us;
	h->all.acquisitions++;
	h->all.total_us += us;
	if (us > h->all.max_us)
		h->all.max_us = us;
}

/* "TASK-PID [CPU] FLAGS SECONDS: EVENT: ...": the pid and the time, or -1 */
static int hold_event(const char *line, const char *ev, long *pid, double *t)
{
	const char *e = strstr(line, ev), *b = NULL, *p;

	/* the CPU field is the last " [" before the event: a comm may have one */
	for (p = strstr(line, " ["); p && e && p < e; p = strstr(p + 1, " ["))
		b = p;
	if (!e || !b)
		return -1;
	for (p = b; p > line && p[-1] != '-'; p--)
		;
	if (p == line || !isdigit((unsigned char)*p))
		return -1;
	*pid = strtol(p, NULL, 10);
	for (p = e; p > b && p[-1] != ' '; p--)
		;
	return sscanf(p, "%lf:", t) == 1 ? 0 : -1;
}

int read_holds_parse(FILE *f, struct read_holds *out)
{
	static struct hold_task tasks[MAX_HOLD_TASKS];
	char line[1024], name[64];
	long in, written, pid;
	size_t n;
	int ntasks = 0, i;
	bool header = false;
	double t;

	memset(out, 0, sizeof(*out));
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		struct hold_task *k = NULL;
		const char *c;
		bool lock;

		if (sscanf(line, "# entries-in-buffer/entries-written: %ld/%ld", &in,
			   &written) == 2) {
			header = true;
			out->lost = written - in;
			continue;
		}
		lock = !hold_event(line, ": rig_rlock: ", &pid, &t);
		if (!lock && hold_event(line, ": rig_runlock: ", &pid, &t))
			continue;
		for (i = 0; i < ntasks && !k; i++)
			if (tasks[i].pid == pid && tasks[i].depth)
				k = &tasks[i];
		if (!lock) {
			/* an unlock with no lock in the window (taken before it): left out */
			if (k) {
				k->depth--;
				hold_add(out, k->caller[k->depth], (t - k->since[k->depth]) * 1e6);
			}
			continue;
		}
		/* a task holding nothing takes the first free slot */
		for (i = 0; i < ntasks && !k; i++)
			if (!tasks[i].depth)
				k = &tasks[i];
		if (!k && ntasks < MAX_HOLD_TASKS)
			k = &tasks[ntasks++];
		if (!k)
			return -2;
		if (!k->depth)
			k->pid = pid;
		if (k->depth == MAX_HOLD_DEPTH)
			return -2;
		c = strstr(line, " caller=");
		n = c ? strcspn(c + 8, "+\t\n ") : 0;
		snprintf(name, sizeof(name), "%.*s", n ? (int)n : 1, n ? c + 8 : "?");
		k->since[k->depth] = t;
		snprintf(k->caller[k->depth++], sizeof(k->caller[0]), "%s", name);
	}
	for (i = 0; i < ntasks; i++)
		out->open += tasks[i].depth;
	return header ? 0 : -1;
}

static int by_longest(const void *a, const void *b)
{
	const struct hold_caller *x = a, *y = b;

	return x->max_us < y->max_us ? 1 : x->max_us > y->max_us ? -1 : 0;
}

/* rig read-holds FILE: what a saved trace of read_holds says, per caller */
int saved_holds_file(const char *path)
{
	struct read_holds h;
	FILE *f = fopen(path, "r");
	int rc;

	if (!f)
		die("cannot read %s", path);
	rc = read_holds_parse(f, &h);
	fclose(f);
	if (rc == -1)
		die("%s is not a trace of tracefs", path);
	if (rc == -2)
		die("%s: more tasks or nested holds than the parser keeps", path);
	printf("reads=%.0f hold_max_us=%.2f hold_total_us=%.2f lost=%ld open=%ld\n",
	       h.all.acquisitions, h.all.max_us, h.all.total_us, h.lost, h.open);
	qsort(h.callers, h.ncallers, sizeof(h.callers[0]), by_longest);
	for (int i = 0; i < h.ncallers; i++)
		printf("%s holds=%.0f max_us=%.2f total_us=%.2f\n", h.callers[i].name,
		       h.callers[i].holds, h.callers[i].max_us, h.callers[i].total_us);
	return 0;
}

/*
 * rig lock-stat FILE CLASS, rig lockdep-after FILE CLASS: what a saved
 * /proc/lock_stat says of CLASS's read holds, or a saved /proc/lockdep of
 * the classes taken after it.
 */
int saved_lock_file(const char *cmd, const char *path, const char *class)
{
	struct lock_hold h;
	FILE *f = fopen(path, "r");
	long n;

	if (!f)
		die("cannot read %s", path);
	if (!strcmp(cmd, "lock-stat")) {
		n = lock_stat_read(f, class, &h);
		fclose(f);
		if (n == -2)
			die("%s is not a /proc/lock_stat", path);
		if (n == -1)
			die("%s has no read holds of %s", path, class);
		printf("reads=%.0f hold_max_us=%.2f hold_total_us=%.2f\n", h.acquisitions,
		       h.max_us, h.total_us);
		return 0;
	}
	n = lockdep_after(f, class, stdout);
	fclose(f);
	if (n == -2)
		die("%s lists no dependencies (no CONFIG_PROVE_LOCKING?)", path);
	if (n < 0)
		die("%s lists no lock class %s", path, class);
	printf("%ld classes after %s, directly or not (lockdep's count)\n", n, class);
	return 0;
}
