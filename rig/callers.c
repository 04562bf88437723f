// SPDX-License-Identifier: GPL-2.0
/*
 * How often each function of tests/callers.tbl ran, counted by the
 * kernel under test.
 *
 * With --callers, each guest gets one kprobe event per symbol of the
 * table (group "rig"), armed once the agent is up and read back from
 * kprobe_profile before the guest goes; callers.log in the result's
 * directory keeps what was armed, what could not be and the hits.  The
 * table of a whole run (callers.tsv: function, hits, scenarios, reason,
 * counted at; coverage.tsv: every function of the files the table names)
 * is made from those logs, at the end of the run and by 'rig callers' on
 * any earlier one.
 *
 * Why kprobes: they count in the kernel's own text, unchanged.  gcov
 * would rebuild the files under test with instrumentation, and the ftrace
 * function profiler would put a call at the entry of every function of
 * the kernel; both move the timing of the races the suite looks for.  A
 * kprobe costs a breakpoint per hit of the functions listed, and its hit
 * count does not depend on tracing being on.  The probes stay plain
 * breakpoints: kprobe optimization is switched off first, because its
 * worker takes cpu_hotplug_lock and text_mutex in the middle of a
 * scenario.  Arming takes cpu_hotplug_lock too, before the first step.
 * What kprobes cannot count: a function the compiler inlined (the table
 * names where it was inlined), a name several symbols share (the kernel
 * refuses an ambiguous probe), __init text (freed after boot), and what
 * ran before the probes were armed.
 */
#include <errno.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

#define MAX_CALLERS	128
#define MAX_PROBES	4
#define MAX_EXCEPT	8
#define MAX_KARCH	3
#define MAX_NAMED	5	/* failing rows named in the verdict */

/* a function of a "file:PATH" row, on one architecture */
struct fn {
	char *sym;
	char karch[16];
	long hits;
	bool armed;
	char why[64];			/* why it could not be armed */
};

struct caller {
	char *func, *karch, *reason;
	bool file;			/* "file:PATH": every function of PATH */
	char *probe[MAX_PROBES];	/* or, for a file, the ones left out */
	int nprobes;
	/* one run's table */
	struct fn *fns;
	int nfns;
	long hits;
	bool armed, judged;
	char unarmed[128];		/* why a probe of it was not armed */
	char *scenarios;
	size_t slen;
};

static struct caller callers[MAX_CALLERS];
static int ncallers;

static void callers_reset(struct caller *c)
{
	int j;

	for (j = 0; j < c->nfns; j++)
		free(c->fns[j].sym);
	free(c->fns);
	free(c->scenarios);
	c->fns = NULL;
	c->scenarios = NULL;
	c->nfns = 0;
	c->slen = 0;
	c->hits = 0;
	c->armed = false;
	c->judged = false;
	c->unarmed[0] = '\0';
}

static void callers_free(void)
{
	int i, j;

	for (i = 0; i < ncallers; i++) {
		callers_reset(&callers[i]);
		free(callers[i].func);
		free(callers[i].karch);
		free(callers[i].reason);
		for (j = 0; j < callers[i].nprobes; j++)
			free(callers[i].probe[j]);
	}
	memset(callers, 0, sizeof(callers));
	ncallers = 0;
}

static struct caller *by_func(const char *func)
{
	int i;

	for (i = 0; i < ncallers; i++)
		if (!strcmp(callers[i].func, func))
			return &callers[i];
	return NULL;
}

/* A row's symbols: "-", "A,B" or, for a file, "-" or "except A,B". */
static int parse_symbols(struct caller *c, char *f, const char *path, int n)
{
	char *tok, *save = NULL;
	int j, max = c->file ? MAX_EXCEPT : MAX_PROBES;

	if (!strcmp(f, "-")) {
		if (!c->file)
			c->probe[c->nprobes++] = xstrdup(c->func);
		return 0;
	}
	if (c->file) {
		if (strncmp(f, "except ", 7)) {
			info("%s:%d: a file row's symbols are '-' or 'except A,B'", path, n);
			return -1;
		}
		f += 7;
	}
	for (tok = strtok_r(f, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (c->nprobes == max) {
			info("%s:%d: more than %d symbols", path, n, max);
			return -1;
		}
		for (j = 0; j < c->nprobes; j++) {
			if (!strcmp(c->probe[j], tok)) {
				info("%s:%d: symbol %s twice", path, n, tok);
				return -1;
			}
		}
		c->probe[c->nprobes++] = xstrdup(tok);
	}
	return 0;
}

/* The table; 0, or -1 with a message naming the line. */
int callers_load(const char *path)
{
	char line[1024], *f[4];
	FILE *in = fopen(path, "r");
	int n = 0;

	callers_free();
	if (!in)
		return -1;
	while (fgets(line, sizeof(line), in)) {
		struct caller *c = &callers[ncallers];

		n++;
		line[strcspn(line, "#\n")] = '\0';
		if (!*trim(line))
			continue;
		if (split_bars(line, f, 4) != 4 || !*f[0] || !*f[1] || !*f[2] || !*f[3]) {
			info("%s:%d: want 'function | all|x86|powerpc | symbols|- | reason|-'",
			     path, n);
			goto bad;
		}
		if (strcmp(f[1], "all") && strcmp(f[1], "x86") && strcmp(f[1], "powerpc")) {
			info("%s:%d: unknown architecture '%s' (all, x86 or powerpc)", path, n,
			     f[1]);
			goto bad;
		}
		if (by_func(f[0])) {
			info("%s:%d: %s has a row already", path, n, f[0]);
			goto bad;
		}
		if (ncallers == MAX_CALLERS) {
			info("%s:%d: more than %d functions", path, n, MAX_CALLERS);
			goto bad;
		}
		c->func = xstrdup(f[0]);
		c->karch = xstrdup(f[1]);
		c->reason = xstrdup(f[3]);
		c->file = !strncmp(f[0], "file:", 5);
		ncallers++;
		if (parse_symbols(c, f[2], path, n))
			goto bad;
	}
	fclose(in);
	return 0;
bad:
	fclose(in);
	callers_free();
	return -1;
}

static bool for_karch(const struct caller *c, const char *karch)
{
	return !strcmp(c->karch, "all") || !strcmp(c->karch, karch);
}

/* System.map, sorted by name */
struct sym {
	char *name;
	unsigned long long addr;
	char type;
};

struct symbols {
	struct sym *s;
	size_t n;
	unsigned long long init_start, init_end;	/* freed after boot */
};

static int sym_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sym *)a)->name, ((const struct sym *)b)->name);
}

static int symbols_load(const char *path, struct symbols *m)
{
	char line[512], name[256], type;
	unsigned long long addr;
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	memset(m, 0, sizeof(*m));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (!strcmp(name, "_sinittext"))
			m->init_start = addr;
		else if (!strcmp(name, "_einittext"))
			m->init_end = addr;
		if (m->n == cap) {
			cap = cap ? 2 * cap : 65536;
			m->s = realloc(m->s, cap * sizeof(*m->s));
			if (!m->s)
				die("out of memory");
		}
		m->s[m->n].name = xstrdup(name);
		m->s[m->n].addr = addr;
		m->s[m->n].type = type;
		m->n++;
	}
	fclose(f);
	qsort(m->s, m->n, sizeof(*m->s), sym_cmp);
	return 0;
}

static void symbols_free(struct symbols *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->s[i].name);
	free(m->s);
}

/* the first entry whose name is not below name */
static size_t symbols_from(const struct symbols *m, const char *name)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(m->s[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

/* The probes of one guest: each symbol gets one event, whichever rows name it. */
struct arming {
	struct run *r;
	struct symbols map;
	FILE *log;
	char **done;			/* symbols armed so far */
	int ndone;
	bool lost;			/* the agent channel failed: stop */
};

/* An event name for a symbol: letters, digits and '_' only. */
static void event_name(const char *sym, char *out, size_t len)
{
	size_t i;

	for (i = 0; sym[i] && i + 1 < len; i++)
		out[i] = (sym[i] == '.') ? '_' : sym[i];
	out[i] = '\0';
}

/* One agent write; false (and a line in the log) when it failed. */
static bool arm_write(struct arming *a, const char *func, const char *sym, const char *what,
		      const char *fmt, const char *ev, const char *arg)
{
	char reply[256] = "";
	int rc = agent_cmd(a->r->vm, reply, sizeof(reply), 20, fmt, ev, arg);

	if (rc < 0) {
		fprintf(a->log, "lost %s\n", a->r->vm->err);
		a->lost = true;
		return false;
	}
	if (rc) {
		reply[strcspn(reply, " ")] = '\0';
		fprintf(a->log, "refused %s %s %s%s\n", func, sym, what, reply[0] ? reply : "?");
		return false;
	}
	return true;
}

/* An event for one exact symbol of the map, enabled on its own. */
static void arm_symbol(struct arming *a, const char *func, const char *sym)
{
	char ev[256];
	int i;

	event_name(sym, ev, sizeof(ev));
	for (i = 0; i < a->ndone; i++) {
		if (!strcmp(a->done[i], sym)) {
			fprintf(a->log, "armed %s %s %s\n", func, sym, ev);
			return;
		}
	}
	/* the kernel's limit on event names (MAX_EVENT_NAME_LEN) */
	if (strlen(ev) >= 64) {
		fprintf(a->log, "refused %s %s name-too-long\n", func, sym);
		return;
	}
	if (!arm_write(a, func, sym, "", "write " TRACEFS "/kprobe_events p:rig/%s\\s%s", ev,
		       sym) ||
	    !arm_write(a, func, sym, "enable-", "write " TRACEFS "/events/rig/%s/enable %s", ev,
		       "1"))
		return;
	a->done = realloc(a->done, (a->ndone + 1) * sizeof(*a->done));
	if (!a->done)
		die("out of memory");
	a->done[a->ndone++] = xstrdup(sym);
	fprintf(a->log, "armed %s %s %s\n", func, sym, ev);
}

/*
 * A name of the table: the symbol of that name and its compiler clones
 * ("name.isra.0", "name.constprop.0", "name.part.0"; not the ".cold"
 * parts), each its own event.  The kernel refuses a name that several
 * kallsyms entries share, of any type.
 */
static void arm_name(struct arming *a, const char *func, const char *name)
{
	size_t i, n = strlen(name), first = symbols_from(&a->map, name);
	int exact = 0, text = 0, armed = 0;
	const struct sym *s;

	for (i = first; i < a->map.n && !strcmp(a->map.s[i].name, name); i++) {
		exact++;
		text += is_text(a->map.s[i].type);
	}
	if (exact > 1) {
		fprintf(a->log, "ambiguous %s %s %d\n", func, name, exact);
		return;
	}
	for (i = first; i < a->map.n && !a->lost; i++) {
		s = &a->map.s[i];
		if (strncmp(s->name, name, n))
			break;
		if ((s->name[n] != '\0' && s->name[n] != '.') || !is_text(s->type) ||
		    strstr(s->name + n, ".cold"))
			continue;
		if (s->addr >= a->map.init_start && s->addr < a->map.init_end) {
			fprintf(a->log, "init %s %s\n", func, s->name);
			armed++;
			continue;
		}
		if (s->name[n] == '.' && i + 1 < a->map.n &&
		    !strcmp(a->map.s[i + 1].name, s->name)) {
			fprintf(a->log, "ambiguous %s %s 2\n", func, s->name);
			continue;
		}
		arm_symbol(a, func, s->name);
		armed++;
	}
	if (!armed && !text)
		fprintf(a->log, "absent %s %s\n", func, name);
}

static bool listed(char *const *list, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/*
 * Every function the kernel's functions.txt places in the row's file, by
 * its name without a clone suffix (arm_name finds the clones).
 */
static void arm_file(struct arming *a, const struct caller *c, FILE *fns)
{
	char line[512], file[256], sym[256], **names = NULL;
	int i, n = 0;

	rewind(fns);
	while (fgets(line, sizeof(line), fns)) {
		if (sscanf(line, "%255s %255s", file, sym) != 2 || strcmp(file, c->func + 5))
			continue;
		sym[strcspn(sym, ".")] = '\0';
		if (listed(names, n, sym))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (!names)
			die("out of memory");
		names[n++] = xstrdup(sym);
	}
	if (!n)
		fprintf(a->log, "absent %s -\n", c->func);
	for (i = 0; i < n; i++) {
		if (!a->lost && listed(c->probe, c->nprobes, names[i]))
			fprintf(a->log, "excepted %s %s\n", c->func, names[i]);
		else if (!a->lost)
			arm_name(a, c->func, names[i]);
		free(names[i]);
	}
	free(names);
}

/*
 * After READY: an event for every symbol of the table that the kernel of
 * this run has, once; callers.log says what was armed and why the rest
 * was not.  Nothing here fails the scenario: the run's table judges what
 * was counted.
 */
void callers_arm(struct run *r, const char *kernel)
{
	char path[800], reply[256] = "", *slash;
	struct arming a = { .r = r };
	FILE *fns;
	int i, j;

	if (!ncallers)
		return;
	snprintf(path, sizeof(path), "%s/callers.log", r->vm->dir);
	a.log = fopen(path, "w");
	if (!a.log)
		return;
	fprintf(a.log, "run %s/%s %s\n", r->vm->arch->name, r->sc->name, r->vm->arch->karch);
	snprintf(path, sizeof(path), "%s", kernel);
	slash = strrchr(path, '/');
	slash = slash ? slash + 1 : path;
	snprintf(slash, sizeof(path) - (slash - path), "System.map");
	if (symbols_load(path, &a.map)) {
		fprintf(a.log, "unavailable no %s\n", path);
		fclose(a.log);
		return;
	}
	snprintf(slash, sizeof(path) - (slash - path), "functions.txt");
	fns = fopen(path, "r");
	/*
	 * Tracing on or off, the kernel counts the hits: the buffer stays
	 * empty.  Plain breakpoints: the optimizer would run in the middle of
	 * the scenario, with cpu_hotplug_lock and text_mutex held.
	 */
	if (agent_cmd(r->vm, reply, sizeof(reply), 10, "write " TRACEFS "/tracing_on 0") ||
	    agent_cmd(r->vm, reply, sizeof(reply), 10,
		      "write /proc/sys/debug/kprobes-optimization 0")) {
		fprintf(a.log, "unavailable %s (a kernel without kprobe events?)\n",
			reply[0] ? reply : r->vm->err);
		goto out;
	}
	for (i = 0; i < ncallers && !a.lost; i++) {
		const struct caller *c = &callers[i];

		if (!for_karch(c, r->vm->arch->karch))
			continue;
		if (c->file && fns)
			arm_file(&a, c, fns);
		else if (c->file)
			fprintf(a.log, "absent %s no-functions.txt\n", c->func);
		for (j = 0; !c->file && j < c->nprobes && !a.lost; j++)
			arm_name(&a, c->func, c->probe[j]);
	}
out:
	for (i = 0; i < a.ndone; i++)
		free(a.done[i]);
	free(a.done);
	if (fns)
		fclose(fns);
	symbols_free(&a.map);
	fclose(a.log);
}

/* Before the guest goes: the hits of every armed probe, into callers.log. */
void callers_collect(struct run *r)
{
	char path[800], reply[256] = "", *buf, *line, *save = NULL;
	char name[256];
	unsigned long hits, missed;
	FILE *log;
	int rc;

	if (!ncallers || r->vm->dead)
		return;
	snprintf(path, sizeof(path), "%s/callers.log", r->vm->dir);
	/* only a guest that was armed */
	if (!file_exists(path))
		return;
	log = fopen(path, "a");
	if (!log)
		return;
	rc = agent_cat(r->vm, TRACEFS "/kprobe_profile", 20, &buf, reply, sizeof(reply));
	if (rc) {
		fprintf(log, "lost %s\n", rc < 0 ? r->vm->err : reply);
	} else {
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			if (sscanf(line, "%255s %lu %lu", name, &hits, &missed) == 3)
				fprintf(log, "hits %s %lu %lu\n", name, hits, missed);
		fprintf(log, "collected\n");
	}
	free(buf);
	fclose(log);
}

static bool has_scenario(const struct caller *c, const char *run)
{
	size_t n = strlen(run);
	const char *p = c->scenarios;

	while (p && (p = strstr(p, run))) {
		if ((p == c->scenarios || p[-1] == ',') && (!p[n] || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

static void add_scenario(struct caller *c, const char *run)
{
	size_t n = strlen(run) + 2;
	char *p = realloc(c->scenarios, c->slen + n);

	if (!p)
		die("out of memory");
	c->scenarios = p;
	c->slen += snprintf(p + c->slen, n, "%s%s", c->slen ? "," : "", run);
}

static struct fn *file_fn(struct caller *c, const char *karch, const char *sym)
{
	int i;

	for (i = 0; i < c->nfns; i++)
		if (!strcmp(c->fns[i].sym, sym) && !strcmp(c->fns[i].karch, karch))
			return &c->fns[i];
	c->fns = realloc(c->fns, (c->nfns + 1) * sizeof(*c->fns));
	if (!c->fns)
		die("out of memory");
	memset(&c->fns[c->nfns], 0, sizeof(*c->fns));
	c->fns[c->nfns].sym = xstrdup(sym);
	snprintf(c->fns[c->nfns].karch, sizeof(c->fns->karch), "%s", karch);
	return &c->fns[c->nfns++];
}

/* A function of a file without its clone suffix ("x.isra.0" counts as x). */
static void base_name(const char *sym, char *out, size_t len)
{
	snprintf(out, len, "%s", sym);
	out[strcspn(out, ".")] = '\0';
}

struct probe_event {
	char ev[64], func[128], sym[128];
};

/* callers.log as lines of up to four words */
struct log_line {
	char w[4][256];
};

static struct log_line *slurp_log(const char *path, int *n)
{
	struct log_line *l = NULL;
	char line[1100];
	FILE *f = fopen(path, "r");

	*n = 0;
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		l = realloc(l, (*n + 1) * sizeof(*l));
		if (!l)
			die("out of memory");
		memset(&l[*n], 0, sizeof(*l));
		if (sscanf(line, "%255s %255s %255s %255s", l[*n].w[0], l[*n].w[1], l[*n].w[2],
			   l[*n].w[3]) >= 1)
			(*n)++;
	}
	fclose(f);
	return l;
}

/*
 * Why nothing of one guest counts, if so: its arming failed (no kprobe
 * events), or (*cut) the guest went silent or never got to the reading:
 * it hung or died, and its scenario failed (or failed as
 * tests/fixed-by.tbl expects) for that.
 */
static const char *guest_lost(const struct log_line *l, int n, char *buf, size_t len,
			      bool *cut)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!strcmp(l[i].w[0], "unavailable") || !strcmp(l[i].w[0], "lost")) {
			snprintf(buf, len, "%s: %s %s", l[0].w[1], l[i].w[0], l[i].w[1]);
			*cut = !strcmp(l[i].w[0], "lost");
			return buf;
		}
	}
	for (i = 0; i < n; i++)
		if (!strcmp(l[i].w[0], "collected"))
			return NULL;
	snprintf(buf, len, "%s: never read back", l[0].w[1]);
	*cut = true;
	return buf;
}

/* One result's callers.log into the table; karch gets the arch it ran on. */
static void read_log(const char *path, char *karch, size_t klen, int *runs, char *lost,
		     size_t llen, char *cut, size_t clen)
{
	struct probe_event *evs = NULL;
	struct log_line *l;
	struct caller *cl;
	char why[300], fname[256];
	const char *gone;
	int n, i, j, nev = 0;
	bool short_run = false;
	long hits;

	l = slurp_log(path, &n);
	if (!n || strcmp(l[0].w[0], "run")) {
		free(l);
		return;
	}
	snprintf(karch, klen, "%s", l[0].w[2]);
	(*runs)++;
	gone = guest_lost(l, n, why, sizeof(why), &short_run);
	if (gone && !lost[0])
		snprintf(lost, llen, "%s", gone);
	if (short_run && strlen(cut) + strlen(l[0].w[1]) + 3 < clen)
		snprintf(cut + strlen(cut), clen - strlen(cut), "%s%s", cut[0] ? ", " : "",
			 l[0].w[1]);
	for (i = 1; i < n; i++) {
		char (*w)[256] = l[i].w;

		cl = by_func(w[1]);
		/* a guest cut short armed its probes; only the reading is lost */
		if (!strcmp(w[0], "armed") && cl && (!gone || short_run)) {
			for (j = 0; j < nev; j++)
				if (!strcmp(evs[j].ev, w[3]) && !strcmp(evs[j].func, w[1]))
					break;
			if (j < nev)
				continue;
			evs = realloc(evs, (nev + 1) * sizeof(*evs));
			if (!evs)
				die("out of memory");
			snprintf(evs[nev].ev, sizeof(evs->ev), "%s", w[3]);
			snprintf(evs[nev].func, sizeof(evs->func), "%s", w[1]);
			snprintf(evs[nev].sym, sizeof(evs->sym), "%s", w[2]);
			nev++;
			cl->armed = true;
			if (cl->file) {
				base_name(w[2], fname, sizeof(fname));
				file_fn(cl, karch, fname)->armed = true;
			}
		} else if (cl && (!strcmp(w[0], "absent") || !strcmp(w[0], "ambiguous") ||
				  !strcmp(w[0], "refused") || !strcmp(w[0], "init") ||
				  !strcmp(w[0], "excepted"))) {
			if (cl->file && strcmp(w[2], "-") && strcmp(w[2], "no-functions.txt")) {
				base_name(w[2], fname, sizeof(fname));
				snprintf(file_fn(cl, karch, fname)->why, sizeof(cl->fns->why),
					 "%s%s%s", w[0], w[3][0] ? " " : "", w[3]);
			} else if (!cl->unarmed[0]) {
				snprintf(cl->unarmed, sizeof(cl->unarmed), "%s %s%s%s", w[2], w[0],
					 w[3][0] ? " " : "", w[3]);
			}
		} else if (!strcmp(w[0], "hits") && !gone) {
			/* a missed hit ran too: the probe was busy elsewhere */
			hits = strtol(w[2], NULL, 10) + strtol(w[3], NULL, 10);
			for (j = 0; j < nev && hits > 0; j++) {
				if (strcmp(evs[j].ev, w[1]))
					continue;
				cl = by_func(evs[j].func);
				if (!has_scenario(cl, l[0].w[1]))
					add_scenario(cl, l[0].w[1]);
				cl->hits += hits;
				if (cl->file) {
					base_name(evs[j].sym, fname, sizeof(fname));
					file_fn(cl, karch, fname)->hits += hits;
				}
			}
		}
	}
	free(evs);
	free(l);
}

/*
 * "file:" rows: per architecture, how many of the file's functions ran;
 * each function into coverage.tsv.
 */
static void file_coverage(const struct caller *c, FILE *cov, char (*seen)[16],
			  char *at, size_t len)
{
	int i, k, ran, total, unarmed;
	size_t w = 0;

	at[0] = '\0';
	for (k = 0; k < MAX_KARCH && seen[k][0]; k++) {
		ran = 0;
		total = 0;
		unarmed = 0;
		for (i = 0; i < c->nfns; i++) {
			const struct fn *fn = &c->fns[i];

			if (strcmp(fn->karch, seen[k]))
				continue;
			total++;
			ran += fn->hits > 0;
			unarmed += !fn->armed;
			fprintf(cov, "%s\t%s\t%s\t%ld\t%s\n", c->func + 5, fn->karch, fn->sym,
				fn->hits, fn->armed ? "-" : fn->why[0] ? fn->why : "not armed");
		}
		if (total && w < len)
			w += snprintf(at + w, len - w, "%s%s: %d of %d functions ran (%d %s)",
				      w ? "; " : "", seen[k], ran, total, unarmed, "not armed");
	}
}

static int fn_cmp(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;

	return strcmp(x->karch, y->karch) ?: strcmp(x->sym, y->sym);
}

/*
 * The table of the run in DIR into DIR/callers.tsv and DIR/coverage.tsv
 * (and callers.tsv to out, if given); the count of rows that fail, the
 * first few named in why.
 */
int callers_judge(const char *table, const char *dir, FILE *out, char *why, size_t len,
		  char *diag, size_t dlen)
{
	char path[1024], karch[16] = "", seen[MAX_KARCH][16] = { "" }, lost[300] = "";
	char cut[300] = "";
	int i, j, k, nde, runs = 0, bad = 0, ran = 0, explained = 0, unjudged = 0;
	struct dirent **de;
	size_t w = 0;
	FILE *tsv, *cov;

	why[0] = '\0';
	snprintf(diag, dlen, "functions=%d", ncallers);
	for (i = 0; i < ncallers; i++)
		callers_reset(&callers[i]);
	nde = scandir(dir, &de, NULL, alphasort);
	if (nde < 0) {
		snprintf(why, len, "cannot read %s", dir);
		return 1;
	}
	for (k = 0; k < nde; k++) {
		karch[0] = '\0';
		if (de[k]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s/callers.log", dir, de[k]->d_name);
			read_log(path, karch, sizeof(karch), &runs, lost, sizeof(lost), cut,
				 sizeof(cut));
		}
		for (j = 0; karch[0] && j < MAX_KARCH; j++) {
			if (!strcmp(seen[j], karch))
				break;
			if (!seen[j][0]) {
				snprintf(seen[j], sizeof(seen[j]), "%s", karch);
				break;
			}
		}
		free(de[k]);
	}
	free(de);
	if (!runs) {
		snprintf(why, len, "no guest of this run counted anything (no callers.log in %s)",
			 dir);
		return 1;
	}
	cov = fopen_in(dir, "coverage.tsv", "w");
	tsv = fopen_in(dir, "callers.tsv", "w");
	snprintf(path, sizeof(path), "%s/callers.tsv", dir);
	if (!tsv || !cov) {
		snprintf(why, len, "cannot write %s or coverage.tsv beside it", path);
		if (tsv)
			fclose(tsv);
		if (cov)
			fclose(cov);
		return 1;
	}
	fprintf(tsv, "function\thits\tscenarios\treason\tcounted at\n");
	fprintf(cov, "file\tarch\tfunction\thits\tnot armed\n");
	for (i = 0; i < ncallers; i++) {
		struct caller *c = &callers[i];
		const char *problem = NULL;
		char at[512] = "", never[300];

		for (j = 0; j < MAX_KARCH; j++)
			c->judged |= seen[j][0] && for_karch(c, seen[j]);
		for (j = 0; !c->file && j < c->nprobes; j++)
			snprintf(at + strlen(at), sizeof(at) - strlen(at), "%s%s", j ? "," : "",
				 c->probe[j]);
		if (c->file) {
			qsort(c->fns, c->nfns, sizeof(*c->fns), fn_cmp);
			file_coverage(c, cov, seen, at, sizeof(at));
		}
		fprintf(tsv, "%s\t%ld\t%s\t%s\t%s\n", c->func, c->hits,
			c->scenarios ?: "-", c->reason, at);
		if (!c->judged)
			continue;
		if (c->hits)
			ran++;
		else if (strcmp(c->reason, "-"))
			explained++;
		snprintf(never, sizeof(never), "0 hits: never armed, %s",
			 c->unarmed[0] ? c->unarmed : lost[0] ? lost : "no guest tried");
		/*
		 * A guest cut short may have run it: that scenario failed, and
		 * says so itself; this function is then not judged, and the
		 * verdict names the guests.
		 */
		if (!c->hits && !strcmp(c->reason, "-") && c->armed && cut[0])
			unjudged++;
		else if (!c->hits && !strcmp(c->reason, "-"))
			problem = c->armed ? "0 hits" : never;
		else if (c->hits && strcmp(c->reason, "-"))
			problem = "ran, but the table gives a reason why it does not";
		if (!problem)
			continue;
		if (!bad++)
			w = snprintf(why, len, "%s:", table);
		if (bad <= MAX_NAMED && w < len)
			w += snprintf(why + w, len - w, " %s (%s);", c->func, problem);
	}
	if (bad > MAX_NAMED && w < len)
		snprintf(why + w, len - w, " and %d more (callers.tsv)", bad - MAX_NAMED);
	fclose(tsv);
	fclose(cov);
	w = snprintf(diag, dlen, "functions=%d ran=%d explained=%d failing=%d guests=%d",
		     ncallers, ran, explained, bad, runs);
	if (unjudged && w < dlen)
		snprintf(diag + w, dlen - w, " unjudged=%d (0 hits, counts lost with %s)",
			 unjudged, cut);
	if (out) {
		tsv = fopen(path, "r");
		while (tsv && fgets(path, sizeof(path), tsv))
			fputs(path, out);
		if (tsv)
			fclose(tsv);
	}
	return bad;
}

/* At the end of a run with --callers: one more result, "callers". */
void callers_report(struct report *rep)
{
	char why[1024], diag[256];
	int bad;

	bad = callers_judge("tests/callers.tbl", rep->dir, NULL, why, sizeof(why), diag,
			    sizeof(diag));
	report_add(rep, "callers", !bad, 0, why, diag, NULL);
}

/* rig callers [--table TABLE] RESULTS-DIR: an earlier run's table, judged again. */
int callers_main(int argc, char **argv)
{
	const char *table = "tests/callers.tbl";
	char why[1024], diag[256];
	int bad;

	if (argc == 5 && !strcmp(argv[2], "--table")) {
		table = argv[3];
		argv += 2;
		argc -= 2;
	}
	if (argc != 3)
		die("usage: rig callers [--table TABLE] RESULTS-DIR");
	if (callers_load(table))
		die("cannot load %s", table);
	bad = callers_judge(table, argv[2], stdout, why, sizeof(why), diag, sizeof(diag));
	printf("# %s%s%s\n", diag, bad ? "; FAIL: " : "", bad ? why : "");
	return bad ? 1 : 0;
}
