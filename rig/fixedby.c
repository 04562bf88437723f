// SPDX-License-Identifier: GPL-2.0
/*
 * Results that fail until a patch of the series is applied, from
 * tests/fixed-by.tbl: "RESULT-PATTERN | PATCH SUBJECT [| sometimes]" per
 * line, the pattern a shell glob over result names (ARCH/SCENARIO[/...]).
 *
 * A variant that lacks the patch (the base, a prefix of the series when
 * bisecting) must fail such a result: it is then reported as an expected
 * failure (TAP "# TODO").  If it passes there, the run fails, because the
 * test did not detect the defect the patch is said to fix - unless the row
 * says "sometimes": a workload that only may run into the defect.  On a
 * variant that has every fixing patch the row changes nothing.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

#define MAX_FIXED_BY 32

static struct {
	char *pattern;
	char *subject;
	bool sometimes;		/* may pass without the patch */
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
	char line[512], *bar, *pat, *subj, *flag;
	FILE *f = fopen(table, "r");
	int lineno = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		pat = trim(line);
		if (!*pat || *pat == '#')
			continue;
		bar = strchr(pat, '|');
		if (!bar)
			die("%s:%d: expected 'RESULT-PATTERN | PATCH SUBJECT'", table, lineno);
		*bar = '\0';
		pat = trim(pat);
		subj = bar + 1;
		bar = strchr(subj, '|');
		if (bar) {
			*bar = '\0';
			flag = trim(bar + 1);
			if (strcmp(flag, "sometimes"))
				die("%s:%d: unknown flag '%s' (known: sometimes)", table, lineno,
				    flag);
		}
		subj = trim(subj);
		if (!*pat || !*subj)
			die("%s:%d: expected 'RESULT-PATTERN | PATCH SUBJECT'", table, lineno);
		if (!series_has_subject(series, subj))
			die("%s:%d: no patch of %s has the subject '%s'", table, lineno, series,
			    subj);
		if (nrows == MAX_FIXED_BY)
			die("%s:%d: more than %d rows", table, lineno, MAX_FIXED_BY);
		rows[nrows].pattern = xstrdup(pat);
		rows[nrows].subject = xstrdup(subj);
		rows[nrows].sometimes = !!bar;
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

const char *fixed_by_missing(const char *build, const char *variant, const char *result,
			     bool *sometimes)
{
	char arch[32];
	int r;

	snprintf(arch, sizeof(arch), "%.*s", (int)strcspn(result, "/"), result);
	for (r = 0; r < nrows; r++) {
		if (fnmatch(rows[r].pattern, result, 0) ||
		    kernel_has(build, variant, arch, rows[r].subject))
			continue;
		*sometimes = rows[r].sometimes;
		return rows[r].subject;
	}
	return NULL;
}
