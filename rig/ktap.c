// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit results on the console: the KTAP of one suite, case by case.
 *
 *     # Subtest: SUITE
 *     1..N
 *     ok 1 case_name
 *     not ok 2 other_case
 *     ok 3 skipped_case # SKIP reason
 * ok K SUITE
 */
#include <ctype.h>
#include <string.h>

#include "rig.h"

/* The text of a console line after the time stamp and indentation. */
static const char *ktap_text(const char *line)
{
	const char *p = line;

	if (*p == '[' && strchr(p, ']'))
		p = strchr(p, ']') + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Fills "cases"; returns how many, or -1 when the suite never reported. */
int ktap_suite(const char *console, const char *suite, struct ktap_case *cases, int max)
{
	char line[1024], subtest[160], *hash;
	bool inside = false, ended = false;
	int n = 0, num, off;
	FILE *f;

	f = fopen(console, "r");
	if (!f)
		return -1;
	snprintf(subtest, sizeof(subtest), "# Subtest: %s", suite);
	while (!ended && fgets(line, sizeof(line), f)) {
		const char *t = ktap_text(line);
		struct ktap_case *c;
		bool ok;

		line[strcspn(line, "\r\n")] = '\0';
		if (!inside) {
			inside = !strcmp(t, subtest);
			continue;
		}
		ok = !strncmp(t, "ok ", 3);
		if (!ok && strncmp(t, "not ok ", 7))
			continue;
		if (sscanf(t + (ok ? 3 : 7), "%d %n", &num, &off) != 1)
			continue;
		t += (ok ? 3 : 7) + off;
		if (!strncmp(t, suite, strlen(suite)) &&
		    (!t[strlen(suite)] || isspace((unsigned char)t[strlen(suite)]))) {
			ended = true;	/* the suite's own result line */
			continue;
		}
		if (n == max)
			continue;
		c = &cases[n++];
		memset(c, 0, sizeof(*c));
		c->ok = ok;
		snprintf(c->name, sizeof(c->name), "%s", t);
		hash = strstr(c->name, " # ");
		if (hash) {
			c->skipped = !strncmp(hash, " # SKIP", 7);
			snprintf(c->note, sizeof(c->note), "%s", hash + 3);
			*hash = '\0';
		}
	}
	fclose(f);
	return inside ? n : -1;
}
