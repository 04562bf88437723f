// SPDX-License-Identifier: GPL-2.0
/*
 * Measurements of a scenario run, for make bench: a step prefixed with
 * "measure NAME" records what it measured in metrics.tsv of the run's
 * results (one line per sample: name, unit, value).  What a step measures
 * depends on the step:
 *
 *   any step            its wall time, NAME in seconds
 *   loop_stop ID        every write of the loop, as timed inside the guest:
 *                       NAME.VALUE in microseconds (one name per value the
 *                       loop writes, e.g. cpu.0 and cpu.1 for offline and
 *                       online of a CPU)
 *   lockdep_after CLASS how many lock classes lockdep saw taken after
 *                       CLASS, directly or not (its forward dependencies)
 *
 * The table and plots of make bench are made from these files (stats.c,
 * scripts/bench.sh).
 */
#include <stdlib.h>
#include <string.h>

#include "rig.h"

void metric_add(struct run *r, const char *name, const char *unit, double value)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/metrics.tsv", r->vm->dir);
	f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "%s\t%s\t%.9g\n", name, unit, value);
	fclose(f);
}

/*
 * The value a loop writes at INDEX: from the last loop_start of ID before
 * the loop_stop at LINE (an ID may be started again with other values).
 */
static const char *loop_value(const struct scenario *sc, const char *id, int line,
			      unsigned int index)
{
	const char *v = NULL;

	for (int i = 0; i < sc->nsteps && sc->steps[i].line < line; i++) {
		const struct step *s = &sc->steps[i];

		if (s->verb == V_LOOP_START && !strcmp(s->args[0], id))
			v = (int)index + 2 < s->nargs ? s->args[index + 2] : NULL;
	}
	return v;
}

/*
 * The samples a "stop ID samples" streamed into F ("VALUE-INDEX US" per
 * line) for the loop_stop step S become metrics NAME.VALUE.  Returns how
 * many there were, or -1 at a line that is not a sample.
 */
long loop_metrics(struct run *r, const struct step *s, FILE *f)
{
	char metric[160], line[128], extra;
	unsigned int index, us;
	const char *v;
	long n = 0;

	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %u %c", &index, &us, &extra) != 2)
			return -1;
		v = loop_value(r->sc, s->args[0], s->line, index);
		if (!v)
			return -1;
		snprintf(metric, sizeof(metric), "%s.%s", s->metric, v);
		metric_add(r, metric, "us", us);
		n++;
	}
	return n;
}

/*
 * /proc/lockdep lists every class as "ADDR FD: N BD: N USAGE: NAME",
 * followed by one " -> [ADDR] NAME" line per class taken directly after
 * it.  FD counts the classes reachable from it, itself included.  Writes
 * the direct ones to LIST; returns how many classes are taken after CLASS,
 * directly or not (FD - 1), -1 if CLASS is absent, -2 if the file has no
 * dependencies at all (a kernel without CONFIG_PROVE_LOCKING).
 */
long lockdep_after(FILE *proc, const char *class, FILE *list)
{
	char line[512], *name, *bd, *fd_at;
	bool in = false, deps = false;
	long fd = -1;

	rewind(proc);
	while (fgets(line, sizeof(line), proc)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, " -> [", 5)) {
			name = strchr(line, ']');
			if (in && name && list)
				fprintf(list, "%s\n", name + 2);
			continue;
		}
		in = false;
		bd = strstr(line, " BD:");
		fd_at = strstr(line, " FD:");
		deps |= bd && fd_at;
		name = bd && fd_at ? strstr(bd + 4, ": ") : NULL;
		if (!name || strcmp(name + 2, class))
			continue;
		in = true;
		fd = atol(fd_at + 4) - 1;
	}
	return deps ? fd : -2;
}
