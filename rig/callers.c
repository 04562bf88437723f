// SPDX-License-Identifier: GPL-2.0
/*
 * How often each function of tests/callers.tbl ran, counted by the
 * kernel under test.
 *
 * Each guest gets one kprobe event per symbol of the table (group "rig"),
 * armed once the agent is up and read back from kprobe_profile before the
 * guest goes; callers.log in the result's directory keeps what was armed,
 * what could not be and the hits.  The table of a whole run
 * (callers.tsv: function, hits, scenarios, reason, counted at) is made
 * from those logs, at the end of make check and by 'rig callers' on any
 * earlier run.
 *
 * Why kprobes: they count in the kernel's own text, unchanged.  gcov
 * would rebuild the files under test with instrumentation, and the ftrace
 * function profiler would put a call at the entry of every function of
 * the kernel; both move the timing of the races the suite looks for.  A
 * kprobe costs a breakpoint per hit of the few functions listed, and its
 * hit count does not depend on tracing being on.  What it cannot count:
 * a function the compiler inlined (the table names where it was inlined),
 * a name several functions share (the kernel refuses an ambiguous probe),
 * and what ran before the probes were armed (boot).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

#define TRACEFS		"/sys/kernel/tracing"
#define MAX_CALLERS	128
#define MAX_PROBES	4

/* a function of a "file:PATH" row */
struct fn {
	char *sym;
	long hits;
	bool armed;
	char why[64];			/* why it could not be armed */
};

struct caller {
	char *func, *karch, *reason;
	bool file;			/* "file:PATH": every function of PATH */
	struct fn *fns;
	int nfns;
	char *probe[MAX_PROBES];
	int nprobes;
	/* one run's table */
	long hits;
	bool armed, judged;
	char unarmed[96];		/* why a probe of it was not armed */
	char *scenarios;
	size_t slen;
};

static struct caller callers[MAX_CALLERS];
static int ncallers;

static void callers_free(void)
{
	int i, j;

	for (i = 0; i < ncallers; i++) {
		free(callers[i].func);
		free(callers[i].karch);
		free(callers[i].reason);
		free(callers[i].scenarios);
		for (j = 0; j < callers[i].nprobes; j++)
			free(callers[i].probe[j]);
		for (j = 0; j < callers[i].nfns; j++)
			free(callers[i].fns[j].sym);
		free(callers[i].fns);
	}
	memset(callers, 0, sizeof(callers));
	ncallers = 0;
}

/* The table; 0, or -1 with a message naming the line. */
int callers_load(const char *path)
{
	char line[1024], *f[4], *tok, *save;
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
		if (ncallers == MAX_CALLERS) {
			info("%s:%d: more than %d functions", path, n, MAX_CALLERS);
			goto bad;
		}
		c->func = xstrdup(f[0]);
		c->karch = xstrdup(f[1]);
		c->reason = xstrdup(f[3]);
		c->file = !strncmp(f[0], "file:", 5);
		if (c->file && strcmp(f[2], "-")) {
			info("%s:%d: a file row counts every function of the file: symbols '-'",
			     path, n);
			ncallers++;
			goto bad;
		}
		if (!c->file && !strcmp(f[2], "-"))
			c->probe[c->nprobes++] = xstrdup(f[0]);
		else if (!c->file)
			for (tok = strtok_r(f[2], ", ", &save); tok && c->nprobes < MAX_PROBES;
			     tok = strtok_r(NULL, ", ", &save))
				c->probe[c->nprobes++] = xstrdup(tok);
		ncallers++;
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

/*
 * A text symbol of System.map: the count of exact matches, else of its
 * compiler clones ("sym.isra.0", "sym.constprop.0"), the first one into
 * out.
 */
static int symbol_lookup(FILE *map, const char *sym, char *out, size_t len)
{
	char line[512], type, name[256];
	size_t n = strlen(sym);
	int exact = 0, clones = 0;

	rewind(map);
	while (fgets(line, sizeof(line), map)) {
		if (sscanf(line, "%*s %c %255s", &type, name) != 2 || (type != 't' && type != 'T'))
			continue;
		if (!strcmp(name, sym))
			exact++;
		else if (!strncmp(name, sym, n) && name[n] == '.' && !clones++)
			snprintf(out, len, "%s", name);
	}
	if (exact) {
		snprintf(out, len, "%s", sym);
		return exact;
	}
	return clones;
}

/* An event name for a symbol: letters, digits and '_' only. */
static void event_name(const char *sym, char *out, size_t len)
{
	size_t i;

	for (i = 0; sym[i] && i + 1 < len; i++)
		out[i] = (sym[i] == '.') ? '_' : sym[i];
	out[i] = '\0';
}

/* The probes of one guest: each symbol gets one event, whichever rows name it. */
struct arming {
	struct run *r;
	FILE *map, *log;
	char **done;			/* symbols armed so far, and their events */
	int ndone, failed;
};

static void arm_one(struct arming *a, const char *func, const char *probe)
{
	char sym[256], ev[256], reply[256];
	int i, same;

	same = symbol_lookup(a->map, probe, sym, sizeof(sym));
	if (!same) {
		fprintf(a->log, "absent %s %s\n", func, probe);
		return;
	}
	if (same > 1) {
		fprintf(a->log, "ambiguous %s %s %d\n", func, probe, same);
		return;
	}
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
	if (agent_cmd(a->r->vm, reply, sizeof(reply), 20,
		      "write " TRACEFS "/kprobe_events p:rig/%s\\s%s", ev, sym)) {
		reply[strcspn(reply, " ")] = '\0';
		fprintf(a->log, "refused %s %s %s\n", func, sym, reply[0] ? reply : "?");
		a->failed += a->r->vm->dead;
		return;
	}
	a->done = realloc(a->done, (a->ndone + 1) * sizeof(*a->done));
	if (!a->done)
		die("out of memory");
	a->done[a->ndone++] = xstrdup(sym);
	fprintf(a->log, "armed %s %s %s\n", func, sym, ev);
}

/* Every function the kernel's functions.txt places in the row's file. */
static void arm_file(struct arming *a, const struct caller *c, FILE *fns)
{
	char line[512], file[256], sym[256];

	rewind(fns);
	while (!a->failed && fgets(line, sizeof(line), fns))
		if (sscanf(line, "%255s %255s", file, sym) == 2 && !strcmp(file, c->func + 5))
			arm_one(a, c->func, sym);
}

/*
 * After READY: a kprobe event for every symbol of the table that the
 * kernel of this run has, once; callers.log says what was armed and why
 * the rest was not.  Nothing here fails the scenario: the run's table
 * judges what was counted.
 */
void callers_arm(struct run *r, const char *kernel)
{
	char path[800], reply[256], *slash;
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
	a.map = fopen(path, "r");
	if (!a.map) {
		fprintf(a.log, "unavailable no %s\n", path);
		fclose(a.log);
		return;
	}
	snprintf(slash, sizeof(path) - (slash - path), "functions.txt");
	fns = fopen(path, "r");
	/* tracing on or off, the kernel counts the hits; the buffer stays empty */
	if (agent_cmd(r->vm, reply, sizeof(reply), 10, "write " TRACEFS "/tracing_on 0")) {
		fprintf(a.log, "unavailable %s (a kernel without tracing?)\n", reply);
		goto out;
	}
	for (i = 0; i < ncallers && !a.failed; i++) {
		const struct caller *c = &callers[i];

		if (!for_karch(c, r->vm->arch->karch))
			continue;
		if (c->file && fns)
			arm_file(&a, c, fns);
		else if (c->file)
			fprintf(a.log, "unavailable %s: no functions.txt beside the kernel\n",
				c->func);
		for (j = 0; j < c->nprobes && !a.failed; j++)
			arm_one(&a, c->func, c->probe[j]);
	}
	if (a.ndone && agent_cmd(r->vm, reply, sizeof(reply), 20,
				 "write " TRACEFS "/events/rig/enable 1"))
		fprintf(a.log, "unavailable enabling the events: %s\n", reply);
out:
	for (i = 0; i < a.ndone; i++)
		free(a.done[i]);
	free(a.done);
	if (fns)
		fclose(fns);
	fclose(a.map);
	fclose(a.log);
}

/* Before the guest goes: the hits of every armed probe, into callers.log. */
void callers_collect(struct run *r)
{
	char path[800], reply[256], *buf = NULL, *line, *save = NULL;
	char name[256];
	unsigned long hits, missed;
	size_t len = 0;
	FILE *log, *out;

	if (!ncallers || r->vm->dead)
		return;
	snprintf(path, sizeof(path), "%s/callers.log", r->vm->dir);
	log = fopen(path, "a");
	if (!log)
		return;
	out = open_memstream(&buf, &len);
	if (!out) {
		fclose(log);
		return;
	}
	r->vm->stream = out;
	if (agent_cmd(r->vm, reply, sizeof(reply), 20,
		      "run /bin/busybox cat " TRACEFS "/kprobe_profile"))
		fprintf(log, "unreadable %s\n", r->vm->dead ? r->vm->err : reply);
	r->vm->stream = NULL;
	fclose(out);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%255s %lu %lu", name, &hits, &missed) == 3)
			fprintf(log, "hits %s %lu %lu\n", name, hits, missed);
	free(buf);
	fclose(log);
}

static struct caller *by_func(const char *func)
{
	int i;

	for (i = 0; i < ncallers; i++)
		if (!strcmp(callers[i].func, func))
			return &callers[i];
	return NULL;
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

static struct fn *file_fn(struct caller *c, const char *sym)
{
	int i;

	for (i = 0; i < c->nfns; i++)
		if (!strcmp(c->fns[i].sym, sym))
			return &c->fns[i];
	c->fns = realloc(c->fns, (c->nfns + 1) * sizeof(*c->fns));
	if (!c->fns)
		die("out of memory");
	memset(&c->fns[c->nfns], 0, sizeof(*c->fns));
	c->fns[c->nfns].sym = xstrdup(sym);
	return &c->fns[c->nfns++];
}

struct probe_event {
	char ev[64], func[128], sym[128];
};

/* One result's callers.log into the table; karch gets the arch it ran on. */
static void read_log(const char *path, char *karch, size_t klen, int *runs)
{
	char line[512], a[256], b[256], c[256], d[256], run[256] = "";
	struct probe_event *evs = NULL;
	struct caller *cl;
	int nev = 0, i;
	long hits;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		d[0] = '\0';
		if (sscanf(line, "%255s %255s %255s %255s", a, b, c, d) < 3)
			continue;
		if (!strcmp(a, "run")) {
			snprintf(run, sizeof(run), "%s", b);
			snprintf(karch, klen, "%s", c);
			(*runs)++;
		} else if (!strcmp(a, "armed") && d[0]) {
			evs = realloc(evs, (nev + 1) * sizeof(*evs));
			if (!evs)
				die("out of memory");
			snprintf(evs[nev].ev, sizeof(evs->ev), "%s", d);
			snprintf(evs[nev].func, sizeof(evs->func), "%s", b);
			snprintf(evs[nev].sym, sizeof(evs->sym), "%s", c);
			nev++;
			cl = by_func(b);
			if (cl)
				cl->armed = true;
			if (cl && cl->file)
				file_fn(cl, c)->armed = true;
		} else if (!strcmp(a, "absent") || !strcmp(a, "ambiguous") ||
			   !strcmp(a, "refused")) {
			cl = by_func(b);
			if (cl && cl->file)
				snprintf(file_fn(cl, c)->why, sizeof(cl->fns->why), "%s%s%s", a,
					 d[0] ? " " : "", d);
			else if (cl && !cl->unarmed[0])
				snprintf(cl->unarmed, sizeof(cl->unarmed), "%s %s%s%s", c, a,
					 d[0] ? " " : "", d);
		} else if (!strcmp(a, "hits") && strtol(c, NULL, 10) > 0) {
			hits = strtol(c, NULL, 10);
			for (i = 0; i < nev; i++) {
				if (strcmp(evs[i].ev, b))
					continue;
				cl = by_func(evs[i].func);
				if (!cl)
					continue;
				if (!has_scenario(cl, run))
					add_scenario(cl, run);
				cl->hits += hits;
				if (cl->file)
					file_fn(cl, evs[i].sym)->hits += hits;
			}
		}
	}
	free(evs);
	fclose(f);
}

/* "file:" rows: how many of the file's functions ran; each into coverage.tsv. */
static void file_coverage(const struct caller *c, FILE *cov, char *at, size_t len)
{
	int i, ran = 0, unarmed = 0;

	for (i = 0; i < c->nfns; i++) {
		const struct fn *fn = &c->fns[i];

		ran += fn->hits > 0;
		unarmed += !fn->armed;
		fprintf(cov, "%s\t%s\t%ld\t%s\n", c->func + 5, fn->sym, fn->hits,
			fn->armed ? "-" : fn->why[0] ? fn->why : "not armed");
	}
	snprintf(at, len, "%d of %d functions ran (%d could not be armed)", ran, c->nfns,
		 unarmed);
}

/*
 * The table of the run in DIR into DIR/callers.tsv (and out, if given);
 * the count of rows that fail, with the first few named in why.
 */
int callers_judge(const char *table, const char *dir, FILE *out, char *why, size_t len,
		  char *diag, size_t dlen)
{
	char path[1024], karch[16] = "", seen[3][16] = { "" };
	int i, j, k, nde, runs = 0, bad = 0, ran = 0, explained = 0;
	struct dirent **de;
	size_t w = 0;
	FILE *tsv, *cov;

	why[0] = '\0';
	snprintf(diag, dlen, "functions=%d", ncallers);
	for (i = 0; i < ncallers; i++) {
		callers[i].hits = 0;
		callers[i].armed = false;
		callers[i].judged = false;
		callers[i].unarmed[0] = '\0';
		free(callers[i].scenarios);
		callers[i].scenarios = NULL;
		callers[i].slen = 0;
		for (j = 0; j < callers[i].nfns; j++)
			free(callers[i].fns[j].sym);
		free(callers[i].fns);
		callers[i].fns = NULL;
		callers[i].nfns = 0;
	}
	nde = scandir(dir, &de, NULL, alphasort);
	if (nde < 0) {
		snprintf(why, len, "cannot read %s", dir);
		return 1;
	}
	for (k = 0; k < nde; k++) {
		if (de[k]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s/callers.log", dir, de[k]->d_name);
			karch[0] = '\0';
			read_log(path, karch, sizeof(karch), &runs);
		}
		for (j = 0; karch[0] && j < 3; j++) {
			if (!strcmp(seen[j], karch))
				break;
			if (!seen[j][0]) {
				snprintf(seen[j], sizeof(seen[j]), "%s", karch);
				break;
			}
		}
		karch[0] = '\0';
		free(de[k]);
	}
	free(de);
	if (!runs) {
		snprintf(why, len, "no guest of this run counted anything (no callers.log in %s)",
			 dir);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/coverage.tsv", dir);
	cov = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/callers.tsv", dir);
	tsv = fopen(path, "w");
	if (!tsv || !cov) {
		snprintf(why, len, "cannot write %s or coverage.tsv beside it", path);
		if (tsv)
			fclose(tsv);
		if (cov)
			fclose(cov);
		return 1;
	}
	fprintf(tsv, "function\thits\tscenarios\treason\tcounted at\n");
	fprintf(cov, "file\tfunction\thits\tnot armed\n");
	for (i = 0; i < ncallers; i++) {
		struct caller *c = &callers[i];
		const char *problem = NULL;
		char at[512] = "", never[160];

		for (j = 0; j < 3; j++)
			c->judged |= seen[j][0] && for_karch(c, seen[j]);
		for (j = 0; j < c->nprobes; j++)
			snprintf(at + strlen(at), sizeof(at) - strlen(at), "%s%s", j ? "," : "",
				 c->probe[j]);
		if (c->file)
			file_coverage(c, cov, at, sizeof(at));
		fprintf(tsv, "%s\t%ld\t%s\t%s\t%s\n", c->func, c->hits,
			c->scenarios ?: "-", c->reason, at);
		if (!c->judged)
			continue;
		if (c->hits)
			ran++;
		else if (strcmp(c->reason, "-"))
			explained++;
		snprintf(never, sizeof(never), "0 hits: never armed, %s",
			 c->unarmed[0] ? c->unarmed : "no guest tried");
		if (!c->hits && !strcmp(c->reason, "-"))
			problem = c->armed ? "0 hits" : never;
		else if (c->hits && strcmp(c->reason, "-"))
			problem = "ran, but the table gives a reason why it does not";
		if (!problem)
			continue;
		if (!bad++)
			w = snprintf(why, len, "%s:", table);
		if (w < len)
			w += snprintf(why + w, len - w, " %s (%s);", c->func, problem);
	}
	fclose(tsv);
	fclose(cov);
	snprintf(diag, dlen, "functions=%d ran=%d explained=%d failing=%d guests=%d", ncallers, ran,
		 explained, bad, runs);
	if (out) {
		tsv = fopen(path, "r");
		while (tsv && fgets(path, sizeof(path), tsv))
			fputs(path, out);
		if (tsv)
			fclose(tsv);
	}
	return bad;
}

/* At the end of make check: one more result, "callers". */
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
