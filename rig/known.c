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
 */
#include <fnmatch.h>
#include <string.h>

#include "rig.h"

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
		for (n = 0; n < 3 && p; n++) {
			f[n] = p;
			p = strchr(p, '|');
			if (p)
				*p++ = '\0';
			f[n] = trim(f[n]);
		}
		if (p || n != 3 || !*f[1] || !*f[2])
			die("tests/known-issues.tbl:%d: %s", lineno,
			    "expected 'ARCH REPORT | SCENARIOS | REASON'");
		al = strcspn(f[0], " \t");
		if (strlen(arch) != al || strncmp(f[0], arch, al))
			continue;
		p = trim(f[0] + al);
		if (strcmp(p, title) && (!site || !*site || strcmp(p, site)))
			continue;
		known = in_scenarios(f[1], scenario);
	}
	fclose(fp);
	return known;
}
