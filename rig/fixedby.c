// SPDX-License-Identifier: GPL-2.0
/*
 * Results that fail until a patch of the series is applied, from
 * tests/fixed-by.tbl: "RESULT-PATTERN | PATCH SUBJECT | FAILURE
 * [| sometimes]" per line, the pattern a shell glob over result names
 * (ARCH/SCENARIO[/...]) and FAILURE the text the failure must show (in its
 * reason or one of its report titles).
 *
 * A variant that lacks the patch (the base, a prefix of the series when
 * bisecting) must fail such a result in that way: it is then reported as
 * an expected failure (TAP "# TODO").  Failing in another way (a boot
 * failure, a timeout, another report) is a real failure.  Passing there
 * fails too, because the test did not detect the defect the patch is said
 * to fix - unless the row says "sometimes": a workload that only may run
 * into the defect.  On a variant that has every fixing patch the row
 * changes nothing.  A row whose scenario ran but which matched none of its
 * results is stale, and reported (fixed_by_stale()).
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

#define MAX_FIXED_BY 32

static struct {
	char *pattern;
	char *subject;
	char *failure;		/* what the failure shows */
	bool sometimes;		/* may pass without the patch */
	int line;
	bool matched;		/* by a result of this run */
} rows[MAX_FIXED_BY];
static int nrows;

/* "Subject: [PATCH n/m] text", folded over lines as format-patch does */
static bool patch_has_subject(const char *path, const char *subject)
{
	char line[512], subj[1024] = "";
	bool in = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (in && line[0] == ' ') {
			strncat(subj, " ", sizeof(subj) - strlen(subj) - 1);
			strncat(subj, trim(line), sizeof(subj) - strlen(subj) - 1);
			continue;
		}
		if (in || line[0] == '\n')
			break;
		if (!strncmp(line, "Subject: ", 9)) {
			char *s = line + 9;

			if (*s == '[')
				s = strchr(s, ']') ? strchr(s, ']') + 1 : s;
			snprintf(subj, sizeof(subj), "%s", trim(s));
			in = true;
		}
	}
	fclose(f);
	return in && !strcmp(subj, subject);
}

/* Is SUBJECT the subject of a patch named in SERIES (paths under its dir)? */
static bool series_has_subject(const char *series, const char *subject)
{
	char line[512], path[1024], dir[512];
	bool found = false;
	FILE *f = fopen(series, "r");
	char *slash;

	if (!f)
		die("cannot read %s", series);
	snprintf(dir, sizeof(dir), "%s", series);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	while (!found && fgets(line, sizeof(line), f)) {
		char *p;

		line[strcspn(line, "#")] = '\0';
		p = trim(line);
		if (!*p)
			continue;
		snprintf(path, sizeof(path), "%s/%s", slash ? dir : ".", p);
		found = patch_has_subject(path, subject);
	}
	fclose(f);
	return found;
}

void fixed_by_load(const char *table, const char *series)
{
	char line[1024], *field[4], *p;
	FILE *f = fopen(table, "r");
	int lineno = 0, n;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		p = trim(line);
		if (!*p || *p == '#')
			continue;
		n = split_bars(p, field, 4);
		if (n < 3 || !*field[0] || !*field[1] || !*field[2])
			die("%s:%d: %s", table, lineno,
			    "expected 'RESULT-PATTERN | PATCH SUBJECT | FAILURE [| sometimes]'");
		if (n == 4 && strcmp(field[3], "sometimes"))
			die("%s:%d: unknown flag '%s' (known: sometimes)", table, lineno, field[3]);
		if (!series_has_subject(series, field[1]))
			die("%s:%d: no patch of %s has the subject '%s'", table, lineno, series,
			    field[1]);
		if (nrows == MAX_FIXED_BY)
			die("%s:%d: more than %d rows", table, lineno, MAX_FIXED_BY);
		rows[nrows].pattern = xstrdup(field[0]);
		rows[nrows].subject = xstrdup(field[1]);
		rows[nrows].failure = xstrdup(field[2]);
		rows[nrows].sometimes = n == 4;
		rows[nrows].line = lineno;
		nrows++;
	}
	fclose(f);
}

/*
 * Was the kernel built with the patch SUBJECT?  series.txt beside it has
 * "COMMIT SUBJECT" per applied patch.  No kernel counts as "yes": its
 * result fails for that reason anyway.
 */
static bool kernel_has(const char *build, const char *variant, const char *arch,
		       const char *subject)
{
	char path[600], line[512];
	bool have = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/kernels/%s/%s/series.txt", build, variant, arch);
	f = fopen(path, "r");
	if (!f)
		return true;
	while (!have && fgets(line, sizeof(line), f))
		have = !strcmp(trim(line + strcspn(line, " ")), subject);
	fclose(f);
	return have;
}

/*
 * The row for RESULT on this build, if the kernel lacks its patch: its
 * subject, whether it may pass, and the failure it expects.  With two rows
 * for one result (x86_64/hvo fails one way until patch 2 and another until
 * patch 7), the first that applies decides, and every row the result
 * matches counts as matched: none of them is stale.
 */
const char *fixed_by_missing(const char *build, const char *variant, const char *result,
			     bool *sometimes, const char **failure)
{
	const char *subject = NULL;
	char arch[32];
	int r;

	snprintf(arch, sizeof(arch), "%.*s", (int)strcspn(result, "/"), result);
	for (r = 0; r < nrows; r++) {
		if (fnmatch(rows[r].pattern, result, 0))
			continue;
		rows[r].matched = true;
		if (subject || kernel_has(build, variant, arch, rows[r].subject))
			continue;
		*sometimes = rows[r].sometimes;
		*failure = rows[r].failure;
		subject = rows[r].subject;
	}
	return subject;
}

/*
 * Rows that matched no result although their scenario ("ARCH/SCENARIO",
 * the pattern's first two parts) ran: renamed cases, removed scenarios.
 * Calls stale() for each with the table's line and the pattern.
 */
void fixed_by_stale(bool (*ran)(const char *scenario, void *ctx), void *ctx,
		    void (*stale)(int line, const char *pattern, void *ctx))
{
	char scen[160];
	int r;

	for (r = 0; r < nrows; r++) {
		const char *slash = strchr(rows[r].pattern, '/');
		size_t n = strlen(rows[r].pattern);

		if (slash && strchr(slash + 1, '/'))
			n = strchr(slash + 1, '/') - rows[r].pattern;
		snprintf(scen, sizeof(scen), "%.*s", (int)n, rows[r].pattern);
		if (!rows[r].matched && !strpbrk(scen, "*?[") && ran(scen, ctx))
			stale(rows[r].line, rows[r].pattern, ctx);
	}
}

/* Does a failure show FAILURE, in its reason or in one of its titles? */
static bool fails_as(const char *why, const struct titles *t, const char *failure)
{
	int i;

	if (why && strstr(why, failure))
		return true;
	for (i = 0; t && i < t->n; i++)
		if (strstr(t->t[i], failure))
			return true;
	return false;
}

/*
 * The verdict of tests/fixed-by.tbl on a result of this kernel: no row
 * applies, an expected failure, a pass that shows the test cannot see
 * the defect, or a failure other than the one the row names.
 */
enum fb_verdict fixed_by_judge(const char *build, const char *variant, const char *result,
			       bool ok, const char *why, const struct titles *t,
			       const char **fix, const char **failure)
{
	bool sometimes = false;

	*failure = "";
	/*
	 * An own tree (KSRC=) is judged as if it had every patch, since
	 * nothing says which it has; a failure that shows the defect a
	 * patch fixes still fails there, and says which patch.  As on the
	 * base, every row the result matches counts as matched (x86_64/hvo
	 * has two, and a failure shows one of them).
	 */
	if (!strcmp(variant, "own")) {
		*fix = NULL;
		for (int r = 0; r < nrows; r++) {
			if (fnmatch(rows[r].pattern, result, 0))
				continue;
			rows[r].matched = true;
			if (ok || *fix || !fails_as(why, t, rows[r].failure))
				continue;
			*fix = rows[r].subject;
			*failure = rows[r].failure;
		}
		if (*fix)
			return FB_OWN_DEFECT;
	}
	*fix = fixed_by_missing(build, variant, result, &sometimes, failure);
	if (!*fix)
		return FB_NONE;
	if (ok)
		return sometimes ? FB_NONE : FB_UNDETECTED;
	return fails_as(why, t, *failure) ? FB_XFAIL : FB_OTHERWISE;
}
