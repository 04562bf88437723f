// SPDX-License-Identifier: GPL-2.0
/*
 * tests/known-issues.tbl: console reports of the base tree that are not
 * this work's, one per line:
 *
 *     ARCH  REPORT | SCENARIOS | REASON
 *
 * REPORT is a source site "file.c:LINE" (matched against the site of a
 * WARNING, from its "at FILE:LINE" line) or a report title; SCENARIOS is a
 * space-separated list of scenario names (shell globs) the report may
 * appear in.  A report that matches is listed, not failed; the same
 * report in another scenario, or from another line, still fails.
 *
 * "rig check --known-issues" (make known-issues, on the base) also asks
 * the opposite: every row of the architectures that ran must have been
 * seen, else the row is out of date.
 */
#include <fnmatch.h>
#include <string.h>

#include "rig.h"

#define MAX_KNOWN	64

static bool seen[MAX_KNOWN];	/* by table line, this run */

static bool in_scenarios(char *list, const char *scenario)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(list, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		if (!fnmatch(tok, scenario, 0))
			return true;
	return false;
}

bool known_issue(const char *arch, const char *scenario, const char *title, const char *site)
{
	char line[1024], *f[3], *p;
	bool known = false;
	int lineno = 0, n;
	size_t al;
	FILE *fp;

	fp = fopen("tests/known-issues.tbl", "r");
	if (!fp)
		return false;
	while (!known && fgets(line, sizeof(line), fp)) {
		lineno++;
		p = trim(line);
		if (!*p || *p == '#')
			continue;
		n = split_bars(p, f, 3);
		if (n != 3 || !*f[1] || !*f[2])
			die("tests/known-issues.tbl:%d: %s", lineno,
			    "expected 'ARCH REPORT | SCENARIOS | REASON'");
		al = strcspn(f[0], " \t");
		if (strlen(arch) != al || strncmp(f[0], arch, al))
			continue;
		p = trim(f[0] + al);
		if (strcmp(p, title) && (!site || !*site || strcmp(p, site)))
			continue;
		known = in_scenarios(f[1], scenario);
		if (known && lineno < MAX_KNOWN)
			seen[lineno] = true;
	}
	fclose(fp);
	return known;
}

/* One result per row of the architectures that ran: was it seen? */
void known_recheck(struct report *rep, const char *const *arches, int narches)
{
	char line[1024], name[64], why[300];
	int lineno = 0, i;
	FILE *fp;

	fp = fopen("tests/known-issues.tbl", "r");
	if (!fp)
		die("cannot read tests/known-issues.tbl");
	while (fgets(line, sizeof(line), fp)) {
		char *p = trim(line);
		size_t al = strcspn(p, " \t");

		lineno++;
		if (!*p || *p == '#')
			continue;
		for (i = 0; i < narches; i++)
			if (strlen(arches[i]) == al && !strncmp(p, arches[i], al))
				break;
		if (i == narches)
			continue;
		snprintf(name, sizeof(name), "known-issues.tbl:%d", lineno);
		snprintf(why, sizeof(why), "not seen in this run: '%.*s' no longer occurs here",
			 (int)strcspn(p, "|"), p);
		report_add(rep, name, lineno < MAX_KNOWN && seen[lineno], 0, why, "", NULL);
	}
	fclose(fp);
}
