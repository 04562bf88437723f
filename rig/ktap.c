// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP results: of a KUnit suite on the console, case by case, and the
 * result lines of a kselftest run in the guest.
 *
 *     # Subtest: SUITE
 *     1..N
 *     ok 1 case_name
 *     not ok 2 other_case
 *     ok 3 skipped_case # SKIP reason
 * ok K SUITE
 *
 * A parameterised case nests its own results one level deeper:
 *
 *         # Subtest: case_name
 *         ok 1 param=2
 *     ok 1 case_name
 *
 * so a suite's cases are the results at the indentation of its
 * "# Subtest:" line, and nothing deeper.
 */
#include <stdio.h>
#include <string.h>

#include "rig.h"

/*
 * The text of a console line after the time stamp and indentation;
 * *indent is the indentation, counted from the time stamp.
 */
static const char *ktap_text(const char *line, int *indent)
{
	const char *p = line, *start;

	if (*p == '[' && strchr(p, ']'))
		p = strchr(p, ']') + 1;
	start = p;
	while (*p == ' ' || *p == '\t')
		p++;
	*indent = p - start;
	return p;
}

/*
 * "ok N name [# SKIP reason]" or "not ok N name": fills c (with the
 * directive, if any, in c->note) and returns true.
 */
bool ktap_result(const char *t, struct ktap_case *c)
{
	bool ok = !strncmp(t, "ok ", 3);
	char *hash;
	int num, off;

	if (!ok && strncmp(t, "not ok ", 7))
		return false;
	if (sscanf(t + (ok ? 3 : 7), "%d %n", &num, &off) != 1)
		return false;
	memset(c, 0, sizeof(*c));
	c->ok = ok;
	snprintf(c->name, sizeof(c->name), "%s", t + (ok ? 3 : 7) + off);
	hash = strstr(c->name, " # ");
	if (hash) {
		c->skipped = !strncmp(hash, " # SKIP", 7);
		snprintf(c->note, sizeof(c->note), "%s", hash + 3);
		*hash = '\0';
	}
	return true;
}

/*
 * Fills "cases"; returns how many, or -1 when the suite never reported.
 * *plan is the suite's "1..N" (-1 if it printed none).
 */
int ktap_suite(const char *console, const char *suite, struct ktap_case *cases, int max,
	       int *plan)
{
	char line[1024], subtest[160];
	bool inside = false, ended = false;
	int level = 0, indent;
	struct ktap_case c;
	size_t sl = strlen(suite);
	int n = 0;
	FILE *f;

	*plan = -1;
	f = fopen(console, "r");
	if (!f)
		return -1;
	snprintf(subtest, sizeof(subtest), "# Subtest: %s", suite);
	while (!ended && fgets(line, sizeof(line), f)) {
		const char *t = ktap_text(line, &indent);

		line[strcspn(line, "\r\n")] = '\0';
		if (!inside) {
			inside = !strcmp(t, subtest);
			level = indent;
			continue;
		}
		if (indent > level)
			continue;	/* a parameterised case's own results */
		if (*plan < 0 && sscanf(t, "1..%d", plan) == 1)
			continue;
		if (!ktap_result(t, &c))
			continue;
		if (indent < level || (!strncmp(c.name, suite, sl) && !c.name[sl])) {
			ended = true;	/* the suite's own result line */
			continue;
		}
		if (n < max)
			cases[n++] = c;
	}
	fclose(f);
	return inside ? n : -1;
}
