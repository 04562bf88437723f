// SPDX-License-Identifier: GPL-2.0
/*
 * The rig's own test of tests/fixed-by.tbl verdicts, without a guest:
 * DIR/fixed-by.tbl holds rows (patterns "ARCH/judge-*", subjects of the
 * real series), DIR/cases.tbl synthetic results, one per line:
 *
 *     RESULT | ok|fail | REASON | TITLE | VERDICT
 *
 * VERDICT is what the row must make of it on a kernel that lacks every
 * patch: none, xfail, undetected, otherwise, or stale (the row whose
 * pattern is RESULT matched nothing while its scenario ran), or fresh (no
 * row whose pattern is RESULT is stale).  A RESULT
 * written "own:RESULT" is judged on an own tree (KSRC=), which counts as
 * having every patch: own-defect is a failure showing a fixed defect.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

#define MAX_CASES	32

static const char *const verdicts[] = {
	"none", "xfail", "undetected", "otherwise", "own-defect"
};

static struct {
	char *result;
	char *want;
	bool stale_seen;
} cases[MAX_CASES];
static int ncases;

static bool case_ran(const char *scenario, void *ctx)
{
	size_t n = strlen(scenario);
	int i;

	(void)ctx;
	for (i = 0; i < ncases; i++) {
		/* a case on an own tree ran its scenario too */
		const char *res = cases[i].result;

		if (!strncmp(res, "own:", 4))
			res += 4;
		if (!strncmp(res, scenario, n) && (!res[n] || res[n] == '/'))
			return true;
	}
	return false;
}

static void case_stale(int line, const char *pattern, void *ctx)
{
	int i;

	(void)line;
	(void)ctx;
	for (i = 0; i < ncases; i++)
		if ((!strcmp(cases[i].want, "stale") || !strcmp(cases[i].want, "fresh")) &&
		    !strcmp(cases[i].result, pattern))
			cases[i].stale_seen = true;
}

void run_judge_tests(struct report *rep, const char *dir)
{
	char path[600], build[600], line[1024], name[300], why[600], *f[5];
	const char *fix, *failure;
	int lineno = 0, i, n;
	bool own;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/fixed-by.tbl", dir);
	fixed_by_load(path, "patches/series");
	/* a kernel with none of the series: an empty series.txt */
	snprintf(build, sizeof(build), "build/judge");
	snprintf(path, sizeof(path), "%s/kernels/judge/x86_64", build);
	if (mkdir_p(path))
		die("cannot create %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/kernels/judge/x86_64/series.txt", build);
	fp = fopen(path, "w");
	if (!fp)
		die("cannot write %s", path);
	fclose(fp);

	snprintf(path, sizeof(path), "%s/cases.tbl", dir);
	fp = fopen(path, "r");
	if (!fp)
		die("cannot read %s", path);
	while (fgets(line, sizeof(line), fp)) {
		struct titles t = { 0 };
		enum fb_verdict v;
		char *p = trim(line);

		lineno++;
		if (!*p || *p == '#')
			continue;
		n = split_bars(p, f, 5);
		if (n != 5 || ncases == MAX_CASES)
			die("%s:%d: expected 'RESULT | ok|fail | REASON | TITLE | VERDICT'", path,
			    lineno);
		cases[ncases].result = xstrdup(f[0]);
		cases[ncases].want = xstrdup(f[4]);
		ncases++;
		if (!strcmp(f[4], "stale") || !strcmp(f[4], "fresh"))
			continue;
		if (*f[3])
			titles_add(&t, f[3]);
		own = !strncmp(f[0], "own:", 4);
		v = fixed_by_judge(build, own ? "own" : "judge", f[0] + (own ? 4 : 0),
				   !strcmp(f[1], "ok"), f[2], &t, &fix, &failure);
		titles_free(&t);
		snprintf(name, sizeof(name), "judge/cases.tbl:%d", lineno);
		snprintf(why, sizeof(why), "%s %s: verdict %s, want %s", f[0], f[1], verdicts[v],
			 f[4]);
		report_add(rep, name, !strcmp(verdicts[v], f[4]), 0, why, "", NULL);
	}
	fclose(fp);
	fixed_by_stale(case_ran, NULL, case_stale);
	for (i = 0; i < ncases; i++) {
		bool fresh = !strcmp(cases[i].want, "fresh");

		if (strcmp(cases[i].want, "stale") && !fresh)
			continue;
		snprintf(name, sizeof(name), "judge/%s:%s", cases[i].want, cases[i].result);
		if (fresh)
			report_add(rep, name, !cases[i].stale_seen, 0,
				   "a row that a result matched was reported stale", "", NULL);
		else
			report_add(rep, name, cases[i].stale_seen, 0,
				   "the row matched nothing and was not reported stale", "", NULL);
	}
}
