// SPDX-License-Identifier: GPL-2.0
/*
 * rig rescan RESULTS-DIR: judge the consoles of an earlier run again with
 * today's scanner, tests/known-issues.tbl and scenario expectations, and
 * say where the verdict changed.  Only the console is judged again: a
 * step that failed in that run stays failed, and is shown as recorded.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

struct meta {
	char arch[64];
	char scenario[512];
};

static void read_meta(const char *dir, struct meta *m)
{
	char path[800], line[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/meta", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "arch=", 5))
			snprintf(m->arch, sizeof(m->arch), "%s", line + 5);
		else if (!strncmp(line, "scenario=", 9))
			snprintf(m->scenario, sizeof(m->scenario), "%s", line + 9);
	}
	fclose(f);
}

/*
 * A directory from before the meta file: ARCH-NAME, where both may hold
 * '-'.  The longest prefix that is a row of arches.tbl is the arch.
 */
static bool guess_meta(const char *entry, struct meta *m)
{
	char buf[256], *dash;
	struct arch a;

	snprintf(buf, sizeof(buf), "%s", entry);
	while ((dash = strrchr(buf, '-'))) {
		*dash = '\0';
		if (!arch_load("arches.tbl", buf, &a)) {
			snprintf(m->arch, sizeof(m->arch), "%s", buf);
			snprintf(m->scenario, sizeof(m->scenario), "scenarios/%s.scn",
				 entry + strlen(buf) + 1);
			return true;
		}
	}
	return false;
}

/* "ok" or "not ok" as the run's tap.txt recorded NAME, or NULL. */
static const char *old_verdict(const char *dir, const char *name, char *buf, size_t len)
{
	char path[800], line[1024], *dash;
	const char *verdict = NULL;
	size_t n = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "%s/tap.txt", dir);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	while (!verdict && fgets(line, sizeof(line), f)) {
		dash = strstr(line, " - ");
		if (!dash || strncmp(dash + 3, name, n) ||
		    (dash[3 + n] != ' ' && dash[3 + n] != '\n'))
			continue;
		if (!strncmp(line, "ok ", 3))
			verdict = strstr(dash, "# SKIP") ? "skipped" : "ok";
		else if (!strncmp(line, "not ok ", 7))
			verdict = strstr(dash, "# TODO") ? "not ok (expected)" : "not ok";
	}
	fclose(f);
	if (verdict)
		snprintf(buf, len, "%s", verdict);
	return verdict ? buf : NULL;
}

int rescan_dir(const char *dir)
{
	struct dirent **ents;
	int i, n, k = 0, failed = 0, changed = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		die("cannot read the results directory %s", dir);
	printf("TAP version 13\n# %s: consoles judged again; step failures stand\n", dir);
	for (i = 0; i < n; i++) {
		char sub[800], console[900], why[1024] = "", diag[1024] = "", name[160];
		char was_buf[32], err[512];
		struct titles all = { 0 }, titles = { 0 };
		struct meta m = { "" };
		struct scenario sc;
		const char *was;
		bool loaded, ok;

		snprintf(sub, sizeof(sub), "%s/%s", dir, ents[i]->d_name);
		snprintf(console, sizeof(console), "%s/console.log", sub);
		if (ents[i]->d_name[0] == '.' || !file_exists(console))
			continue;
		read_meta(sub, &m);
		if (!m.arch[0] && !guess_meta(ents[i]->d_name, &m)) {
			printf("# %s: no meta file and no arches.tbl row in the name: skipped\n",
			       ents[i]->d_name);
			continue;
		}
		loaded = !scenario_load(m.scenario, &sc, err, sizeof(err));
		if (!loaded) {
			/* judged as a clean run: no expectations known */
			scenario_free(&sc);
			sc.name = xstrdup(ents[i]->d_name + strlen(m.arch) + 1);
		}
		scan_file(console, &all);
		console_titles(m.arch, &sc, loaded && scenario_races_on(&sc, m.arch), &all,
			       &titles, diag, sizeof(diag));
		if (sc.nexpect)
			ok = same_reports(&sc, &titles, why, sizeof(why));
		else
			ok = !titles.n;
		if (!ok && !why[0])
			snprintf(why, sizeof(why), "kernel console: %s%s", titles.t[0],
				 titles.n > 1 ? " (and more)" : "");
		/* a negative test's failure is its run's, which stands */
		for (int c = 0; loaded && ok && !sc.expect_failure && c < sc.ncounters; c++)
			if (sc.counters[c].forbid &&
			    forbid_verdict(&sc.counters[c], console, why, sizeof(why)))
				ok = false;
		snprintf(name, sizeof(name), "%s/%s", m.arch, sc.name);
		was = old_verdict(dir, name, was_buf, sizeof(was_buf));
		printf("%s %d - %s console\n", ok ? "ok" : "not ok", ++k, name);
		if (!ok)
			printf("# FAIL: %s\n", why);
		if (diag[0])
			printf("#%s\n", diag);
		if (!loaded)
			printf("# %s: judged without the scenario's expectations\n", err);
		if (was) {
			bool was_ok = !strncmp(was, "ok", 2);

			printf("# recorded: %s%s\n", was,
			       was_ok == ok ? "" : !ok ? " (the console now fails)" :
			       " (the console is clean now; a step may still have failed)");
			changed += was_ok != ok;
		}
		failed += !ok;
		titles_free(&all);
		titles_free(&titles);
		scenario_free(&sc);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	printf("1..%d\n# %d console(s), %d fail, %d verdict(s) differ from the record\n", k, k,
	       failed, changed);
	return failed ? 1 : 0;
}
