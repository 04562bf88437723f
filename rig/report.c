// SPDX-License-Identifier: GPL-2.0
/*
 * Results: one TAP line per scenario or fixture on stdout, and under
 * build/results/<run-id>/ a junit.xml next to each scenario's logs;
 * build/results/latest points at the newest run.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rig.h"

/* TAP goes to DIR/tap.txt, and to stdout unless the report is for humans. */
static void tap(struct report *rep, const char *fmt, ...) __printf(2, 3);

static void tap(struct report *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(rep->tap, fmt, ap);
	va_end(ap);
	if (rep->quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void report_open(struct report *rep, const char *root, bool quiet)
{
	char id[64], link[600];
	time_t t = time(NULL);
	struct tm tm;
	int i;

	memset(rep, 0, sizeof(*rep));
	rep->quiet = quiet;
	localtime_r(&t, &tm);
	strftime(id, sizeof(id), "%Y%m%d-%H%M%S", &tm);
	if (mkdir_p(root))
		die("cannot create %s: %s", root, strerror(errno));
	for (i = 0; i < 100; i++) {
		snprintf(rep->dir, sizeof(rep->dir), "%s/%s%s%.0d", root, id, i ? "-" : "", i);
		if (!mkdir(rep->dir, 0755))
			break;
		if (errno != EEXIST)
			die("cannot create %s: %s", rep->dir, strerror(errno));
	}
	snprintf(link, sizeof(link), "%s/latest", root);
	unlink(link);
	if (symlink(strrchr(rep->dir, '/') + 1, link))
		info("rig: cannot link %s: %s", link, strerror(errno));
	snprintf(link, sizeof(link), "%s/tap.txt", rep->dir);
	rep->tap = fopen(link, "w");
	if (!rep->tap)
		die("cannot write %s", link);
	tap(rep, "TAP version 13\n");
}

static struct result *new_result(struct report *rep)
{
	struct result *res;

	if (rep->n == rep->cap) {
		rep->cap = rep->cap ? rep->cap * 2 : 32;
		rep->res = realloc(rep->res, rep->cap * sizeof(*rep->res));
		if (!rep->res)
			die("out of memory");
	}
	res = &rep->res[rep->n++];
	memset(res, 0, sizeof(*res));
	return res;
}

void report_add(struct report *rep, const char *name, bool ok, double secs,
		const char *why, const char *diag, const struct titles *t)
{
	const char *fix = NULL, *failure = "";
	enum fb_verdict v = FB_NONE;
	char xwhy[1200], xname[700];
	struct result *res;
	int i;

	if (rep->spool) {
		spool_add(rep->spool, name, ok, secs, why, diag, t);
		return;
	}
	if (rep->build && rep->variant)
		v = fixed_by_judge(rep->build, rep->variant, name, ok, why, t, &fix, &failure);
	if (v == FB_UNDETECTED) {
		/* a pass without the fix: the test cannot see the defect */
		snprintf(xwhy, sizeof(xwhy),
			 "passed without \"%s\", which fixes it: the test does not detect the defect",
			 fix);
		ok = false;
		why = xwhy;
	} else if (v == FB_OTHERWISE) {
		/* failed, but not in the way the defect shows */
		snprintf(xwhy, sizeof(xwhy),
			 "without \"%s\" this must fail with '%s'; it failed otherwise: %.600s",
			 fix, failure, why ? why : "");
		why = xwhy;
	} else if (v == FB_OWN_DEFECT) {
		/* an own tree (KSRC=) that lacks a fix of the series */
		snprintf(xwhy, sizeof(xwhy),
			 "%.600s - the defect that \"%s\" of the series fixes (tests/fixed-by.tbl): does this tree have that fix?",
			 why ? why : "", fix);
		why = xwhy;
	} else if (v == FB_XFAIL) {
		snprintf(xname, sizeof(xname), "%s # TODO fails until \"%s\"", name, fix);
		name = xname;
	}
	fix = v == FB_XFAIL ? fix : NULL;
	res = new_result(rep);
	res->name = xstrdup(name);
	res->ok = ok;
	res->xfail = fix;
	res->seconds = secs;
	res->why = xstrdup(why);
	res->diag = xstrdup(diag);
	for (i = 0; t && i < t->n; i++)
		titles_add(&res->titles, t->t[i]);

	tap(rep, "%s %d - %s (%.1f s)\n", ok ? "ok" : "not ok", rep->n, name, secs);
	if (diag && *diag)
		tap(rep, "# %s\n", diag);
	if (!ok && why && *why)
		tap(rep, "# FAIL: %s\n", why);
	for (i = 0; t && i < t->n; i++)
		tap(rep, "# console: %s\n", t->t[i]);
	fflush(stdout);
}

/*
 * A result that was not run here (a scenario for another architecture, a
 * KUnit suite the kernel does not have): TAP "# SKIP", junit <skipped>,
 * counted apart from passes.
 */
void report_skip(struct report *rep, const char *name, const char *why)
{
	struct result *res;

	if (rep->spool) {
		spool_skip(rep->spool, name, why);
		return;
	}
	res = new_result(rep);
	res->name = xstrdup(name);
	res->skipped = true;
	res->why = xstrdup(why);
	res->diag = xstrdup("");
	tap(rep, "ok %d - %s # SKIP %s\n", rep->n, name, why);
}

static void xml(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		const char *ent = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" :
				  *s == '&' ? "&amp;" : *s == '"' ? "&quot;" : NULL;

		if (ent)
			fputs(ent, f);
		else if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
			fputc(*s, f);
	}
}

/* Did a result of scenario "ARCH/NAME" run in this report? */
static bool scenario_ran(const char *scenario, void *ctx)
{
	struct report *rep = ctx;
	size_t n = strlen(scenario);
	int i;

	for (i = 0; i < rep->n; i++)
		if (!rep->res[i].skipped && !strncmp(rep->res[i].name, scenario, n) &&
		    (!rep->res[i].name[n] || rep->res[i].name[n] == '/' ||
		     rep->res[i].name[n] == ' '))
			return true;
	return false;
}

static void stale_row(int line, const char *pattern, void *ctx)
{
	char name[300], why[400];

	snprintf(name, sizeof(name), "fixed-by.tbl:%d", line);
	snprintf(why, sizeof(why), "the row '%s' matches no result of this run: stale", pattern);
	report_add(ctx, name, false, 0, why, "", NULL);
}

/*
 * What the scenario runs showed, from their diagnostics: in how many
 * lockdep was still on at the end, and how many reports the consoles had
 * (known issues and expected reports included).
 */
static void print_proof(struct report *rep)
{
	int i, runs = 0, on = 0, reports = 0;
	char line[200];
	const char *p;

	for (i = 0; i < rep->n; i++) {
		p = rep->res[i].diag ? strstr(rep->res[i].diag, "lockdep_end=") : NULL;
		if (!p)
			continue;
		runs++;
		on += !strncmp(p + 12, "on", 2);
		p = strstr(p, " reports=");
		if (p)
			reports += atoi(p + 9);
	}
	if (!runs)
		return;
	snprintf(line, sizeof(line),
		 "# proved: lockdep on at the end of %d of %d scenario run(s); %d report(s) on their consoles\n",
		 on, runs, reports);
	tap(rep, "%s", line);
	if (rep->quiet)
		printf("%s", line);
}

/* Writes junit.xml, prints the plan and the closing line; returns failures. */
int report_close(struct report *rep)
{
	char path[600];
	int i, j, failed = 0, xfailed = 0, skipped = 0;
	double total = 0;
	char summary[128];
	FILE *f;

	if (rep->build && rep->variant)
		fixed_by_stale(scenario_ran, rep, stale_row);

	for (i = 0; i < rep->n; i++) {
		skipped += rep->res[i].skipped;
		failed += !rep->res[i].ok && !rep->res[i].xfail && !rep->res[i].skipped;
		xfailed += rep->res[i].xfail;
		total += rep->res[i].seconds;
	}
	snprintf(path, sizeof(path), "%s/junit.xml", rep->dir);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s", path);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuite name=\"memory-hotplug\" tests=\"%d\" failures=\"%d\" skipped=\"%d\"",
		rep->n, failed, xfailed + skipped);
	fprintf(f, " time=\"%.1f\">\n", total);
	fprintf(f, "  <properties><property name=\"base\" value=\"");
	xml(f, base_version);
	fprintf(f, "\"/></properties>\n");
	for (i = 0; i < rep->n; i++) {
		struct result *r = &rep->res[i];

		fprintf(f, "  <testcase name=\"");
		xml(f, r->name);
		fprintf(f, "\" time=\"%.1f\">\n", r->seconds);
		if (r->skipped) {
			fprintf(f, "    <skipped message=\"");
			xml(f, r->why);
			fprintf(f, "\"/>\n");
		} else if (r->xfail) {
			fprintf(f, "    <skipped message=\"expected failure: ");
			xml(f, r->why);
			fprintf(f, "\"/>\n");
		} else if (!r->ok) {
			fprintf(f, "    <failure message=\"");
			xml(f, r->why);
			fprintf(f, "\">");
			for (j = 0; j < r->titles.n; j++) {
				xml(f, r->titles.t[j]);
				fputc('\n', f);
			}
			fprintf(f, "</failure>\n");
		}
		fprintf(f, "    <system-out>");
		xml(f, r->diag);
		fprintf(f, "</system-out>\n  </testcase>\n");
	}
	fprintf(f, "</testsuite>\n");
	fclose(f);
	tap(rep, "1..%d\n", rep->n);
	print_proof(rep);
	printf("# results: %s\n", rep->dir);
	if (xfailed) {
		tap(rep, "# %d failed as expected (tests/fixed-by.tbl)\n", xfailed);
		if (rep->quiet)
			printf("# %d failed as expected (tests/fixed-by.tbl)\n", xfailed);
	}
	snprintf(summary, sizeof(summary), "%d passed, %d failed, %d skipped",
		 rep->n - failed - xfailed - skipped, failed, skipped);
	fprintf(rep->tap, "%s\n", summary);
	printf("%s\n", summary);
	fclose(rep->tap);
	fflush(stdout);
	for (i = 0; i < rep->n; i++) {
		free(rep->res[i].name);
		free(rep->res[i].why);
		free(rep->res[i].diag);
		titles_free(&rep->res[i].titles);
	}
	free(rep->res);
	return failed;
}
