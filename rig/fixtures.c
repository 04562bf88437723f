// SPDX-License-Identifier: GPL-2.0
/*
 * The rig's own corpus: the scanner's fixtures (tests/fixtures: each
 * NAME.log must give exactly the titles of NAME.expect, and each pair of
 * kmemleak listings NAME.scans the titles of the leaks both name), recording new
 * logs into it, and scenario files the parser must refuse (tests/refuse:
 * each NAME.scn must be rejected with the text of its "# refused: TEXT"
 * line in the error).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "rig.h"

/*
 * Keep a console log as a scanner fixture: DIR/ARCH[-VARIANT]-NAME.log.
 * Its .expect is written by whoever reviewed the log, never from the
 * scanner's own output.
 */
void record_fixture(const char *log, const char *dir, const char *arch,
		    const char *variant, const char *name)
{
	char path[700], buf[65536];
	FILE *in, *out;
	size_t n;

	bool main_series = !strcmp(variant, "main");

	snprintf(path, sizeof(path), "%s/%s%s%s-%s.log", dir, arch, main_series ? "" : "-",
		 main_series ? "" : variant, name);
	in = fopen(log, "rb");
	out = fopen(path, "wb");
	if (!in || !out)
		die("cannot record %s as %s", log, path);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	info("rig: recorded %s", path);
}

static int read_titles(const char *path, struct titles *t)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] && line[0] != '#')
			titles_add(t, line);
	}
	fclose(f);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The leaks a saved pair of kmemleak listings names (rig/kmemleak.c). */
static int scan_scans(const char *path, struct titles *got)
{
	char *text = NULL, buf[65536];
	size_t size = 0, n;
	FILE *in = fopen(path, "r"), *f;
	int rc;

	if (!in)
		return -1;
	f = open_memstream(&text, &size);
	if (!f)
		die("out of memory");
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, f);
	fclose(in);
	fclose(f);
	rc = kmemleak_confirmed(text, NULL, got);
	free(text);
	return rc < 0 ? -1 : 0;
}

/*
 * Each fixture NAME.log (a console) or NAME.scans (two kmemleak listings)
 * must produce exactly the titles listed in NAME.expect.
 */
void run_fixtures(struct report *rep, const char *dir)
{
	struct dirent **ents;
	char log[600], exp[600], name[300], why[2048];
	int n, i, j;

	n = scandir(dir, &ents, NULL, by_name);
	if (n < 0)
		die("fixtures: %s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		struct titles got = { 0 }, want = { 0 };
		size_t len = strlen(ents[i]->d_name), ext;
		bool same, scans = len > 6 && !strcmp(ents[i]->d_name + len - 6, ".scans");

		if (!scans && (len < 5 || strcmp(ents[i]->d_name + len - 4, ".log")))
			goto next;
		ext = scans ? 6 : 4;
		snprintf(log, sizeof(log), "%s/%s", dir, ents[i]->d_name);
		snprintf(exp, sizeof(exp), "%.*s.expect", (int)(strlen(log) - ext), log);
		snprintf(name, sizeof(name), "scanner/%.*s", (int)(len - ext), ents[i]->d_name);
		if (read_titles(exp, &want)) {
			report_add(rep, name, false, 0, "no .expect file next to the fixture",
				   "", NULL);
			goto next;
		}
		if (scans ? scan_scans(log, &got) : scan_file(log, &got)) {
			report_add(rep, name, false, 0, "unreadable, or not two listings", "",
				   NULL);
			titles_free(&want);
			goto next;
		}
		same = got.n == want.n;
		for (j = 0; same && j < got.n; j++)
			same = !strcmp(got.t[j], want.t[j]);
		why[0] = '\0';
		if (!same) {
			size_t w = snprintf(why, sizeof(why), "want [");

			for (j = 0; j < want.n && w < sizeof(why); j++)
				w += snprintf(why + w, sizeof(why) - w, "%s%s",
					      j ? "; " : "", want.t[j]);
			for (j = 0; j < got.n && w < sizeof(why); j++)
				w += snprintf(why + w, sizeof(why) - w, "%s%s",
					      j ? "; " : "] got [", got.t[j]);
			if (w < sizeof(why))
				snprintf(why + w, sizeof(why) - w, "%s]", got.n ? "" : "] got [");
		}
		snprintf(log, sizeof(log), "titles=%d", got.n);
		report_add(rep, name, same, 0, why, log, NULL);
		titles_free(&got);
		titles_free(&want);
next:
		free(ents[i]);
	}
	free(ents);
}

/* Each DIR/NAME.scn must be refused, with its "# refused: TEXT" in the error. */
void run_refusals(struct report *rep, const char *dir)
{
	char path[600], name[300], err[600], why[1400], want[300], line[512];
	struct dirent **ents;
	int n, i;

	n = scandir(dir, &ents, NULL, by_name);
	if (n < 0)
		die("refusals: %s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		size_t len = strlen(ents[i]->d_name);
		struct scenario sc;
		FILE *f;

		if (len < 5 || strcmp(ents[i]->d_name + len - 4, ".scn"))
			goto next;
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		snprintf(name, sizeof(name), "refuse/%.*s", (int)len - 4, ents[i]->d_name);
		want[0] = '\0';
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "# refused: ", 11))
				snprintf(want, sizeof(want), "%s", trim(line + 11));
		if (f)
			fclose(f);
		if (!want[0]) {
			report_add(rep, name, false, 0, "no '# refused: TEXT' line", "", NULL);
			goto next;
		}
		if (!scenario_load(path, &sc, err, sizeof(err))) {
			snprintf(why, sizeof(why), "accepted; it must be refused with '%s'", want);
			report_add(rep, name, false, 0, why, "", NULL);
		} else {
			snprintf(why, sizeof(why), "refused with '%s', want '%s'", err, want);
			report_add(rep, name, !!strstr(err, want), 0, why, err, NULL);
		}
		scenario_free(&sc);
next:
		free(ents[i]);
	}
	free(ents);
}
