// SPDX-License-Identifier: GPL-2.0
/*
 * rig stats: the table of make bench.  Reads the samples of a bench run
 * (scripts/bench.sh writes them, one per line, tab-separated:
 * arch, variant, run, scenario, metric, unit, value), groups them by arch,
 * scenario and metric, and prints for the base (variant prefix-0) and the
 * series (variant main) the number of samples, min, median, p99 and max,
 * and the ratio series/base of the medians (and of the p99 for latencies).
 * Every value is a cost (seconds, microseconds, lock classes): lower is
 * better.
 *
 *   rig stats FILE           a markdown table
 *   rig stats --dat FILE     the same numbers for gnuplot, one metric a line
 *
 * A metric measured on one kernel and not the other is an error, not a
 * row: a ratio needs both.  A time (seconds or microseconds) whose series
 * median is above every base sample (and whose base median is below every
 * series sample) is flagged REGRESSION: slower beyond the spread of the
 * runs.  A count of lock classes that grew is flagged MORE CLASSES.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

struct series {
	char key[256];		/* arch \t scenario \t metric */
	char unit[16];
	double *v[2];		/* [0] base, [1] series */
	int n[2], cap[2];
};

static struct series *all;
static int nall, capall;

static struct series *find(const char *key, const char *unit)
{
	for (int i = 0; i < nall; i++)
		if (!strcmp(all[i].key, key))
			return &all[i];
	if (nall == capall) {
		capall = capall ? 2 * capall : 32;
		all = realloc(all, capall * sizeof(*all));
		if (!all)
			die("out of memory");
	}
	memset(&all[nall], 0, sizeof(all[nall]));
	snprintf(all[nall].key, sizeof(all[nall].key), "%s", key);
	snprintf(all[nall].unit, sizeof(all[nall].unit), "%s", unit);
	return &all[nall++];
}

static void push(struct series *s, int side, double v)
{
	if (s->n[side] == s->cap[side]) {
		s->cap[side] = s->cap[side] ? 2 * s->cap[side] : 64;
		s->v[side] = realloc(s->v[side], s->cap[side] * sizeof(double));
		if (!s->v[side])
			die("out of memory");
	}
	s->v[side][s->n[side]++] = v;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank: the smallest sample with at least P of them at or below it */
static double pct(const double *v, int n, double p)
{
	int k = (int)(p * n);

	if (k < p * n)
		k++;		/* the ceiling of p * n, as a rank from 1 */
	k--;

	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static void load(const char *path)
{
	char line[1024], *f[8], key[256], *end;
	int lineno = 0, n, side;
	struct series *s;
	double v;
	FILE *in = fopen(path, "r");

	if (!in)
		die("stats: cannot read %s", path);
	while (fgets(line, sizeof(line), in)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		n = 0;
		for (char *p = line, *t; n < 8 && (t = strsep(&p, "\t"));)
			f[n++] = t;
		if (n != 7)
			die("stats: %s:%d: want 7 tab-separated fields, got %d", path, lineno, n);
		if (!strcmp(f[1], "prefix-0"))
			side = 0;
		else if (!strcmp(f[1], "main"))
			side = 1;
		else
			die("stats: %s:%d: variant '%s' is neither %s nor %s", path, lineno,
			    f[1], "prefix-0 (the base)", "main (the series)");
		v = strtod(f[6], &end);
		if (end == f[6] || *end || !isfinite(v) || v < 0)
			die("stats: %s:%d: '%s' is not a measured value", path, lineno, f[6]);
		snprintf(key, sizeof(key), "%s\t%s\t%s", f[0], f[3], f[4]);
		s = find(key, f[5]);
		if (strcmp(s->unit, f[5]))
			die("stats: %s:%d: %s/%s/%s in %s here, in %s before", path, lineno, f[0],
			    f[3], f[4], f[5], s->unit);
		push(s, side, v);
	}
	fclose(in);
	if (!nall)
		die("stats: %s holds no samples", path);
}

static const char *flag(const struct series *s)
{
	const double *b = s->v[0], *m = s->v[1];
	int nb = s->n[0], nm = s->n[1];

	if (!strcmp(s->unit, "classes"))
		return pct(m, nm, 0.5) > pct(b, nb, 0.5) ? "MORE CLASSES" : "";
	/* only times can be slower; a count (lock_stat's reads) is reported as it is */
	if (strcmp(s->unit, "s") && strcmp(s->unit, "us"))
		return "";
	/* slower beyond the spread: every base sample is below the series median */
	if (nb > 1 && nm > 1 && pct(m, nm, 0.5) > b[nb - 1] && pct(b, nb, 0.5) < m[0])
		return "REGRESSION";
	return "";
}

int stats_main(int argc, char **argv)
{
	bool dat = argc == 2 && !strcmp(argv[0], "--dat");
	int bad = 0;

	if (argc != 1 + dat || !strcmp(argv[argc - 1], "--dat"))
		die("usage: rig stats [--dat] SAMPLES.tsv");
	load(argv[argc - 1]);
	for (int i = 0; i < nall; i++) {
		struct series *s = &all[i];

		for (int side = 0; side < 2; side++) {
			if (!s->n[side]) {
				for (char *t = s->key; (t = strchr(t, '\t'));)
					*t = '/';
				fprintf(stderr, "stats: %s (%s) has no samples on the %s\n",
					s->key, s->unit, side ? "series" : "base");
				bad = 1;
				continue;
			}
			qsort(s->v[side], s->n[side], sizeof(double), cmp);
		}
	}
	if (bad)
		die("stats: a ratio needs both kernels; measure again");
	if (!dat) {
		printf("| arch | scenario | metric | unit | n base/series ");
		printf("| base min / median / p99 / max | series min / median / p99 / max ");
		printf("| series/base median | series/base p99 | |\n");
		printf("|---|---|---|---|---|---|---|---|---|---|\n");
	}
	for (int i = 0; i < nall; i++) {
		struct series *s = &all[i];
		double q[2][4];
		char key[256], *arch, *scn, *metric, *p;
		const char *fl = flag(s);

		for (int side = 0; side < 2; side++) {
			q[side][0] = s->v[side][0];
			q[side][1] = pct(s->v[side], s->n[side], 0.5);
			q[side][2] = pct(s->v[side], s->n[side], 0.99);
			q[side][3] = s->v[side][s->n[side] - 1];
		}
		snprintf(key, sizeof(key), "%s", s->key);
		p = key;
		arch = strsep(&p, "\t");
		scn = strsep(&p, "\t");
		metric = p;
		if (dat) {
			printf("%s/%s/%s %s", arch, scn, metric, s->unit);
			for (int side = 0; side < 2; side++)
				for (int k = 0; k < 4; k++)
					printf(" %g", q[side][k]);
			printf("\n");
			continue;
		}
		printf("| %s | %s | %s | %s ", arch, scn, metric, s->unit);
		printf("| %d/%d ", s->n[0], s->n[1]);
		for (int side = 0; side < 2; side++)
			printf("| %.4g / %.4g / %.4g / %.4g ", q[side][0], q[side][1], q[side][2],
			       q[side][3]);
		printf("| ");
		if (q[0][1] > 0)
			printf("%.3f | ", q[1][1] / q[0][1]);
		else
			printf("- | ");
		if (!strcmp(s->unit, "us") && q[0][2] > 0)
			printf("%.3f | ", q[1][2] / q[0][2]);
		else
			printf("- | ");
		printf("%s |\n", fl);
		if (*fl)
			fprintf(stderr, "stats: %s: %s/%s/%s (%s %.4g %s, base %.4g .. %.4g)\n",
				fl, arch, scn, metric, "series median", q[1][1], s->unit, q[0][0],
				q[0][3]);
	}
	return 0;
}
