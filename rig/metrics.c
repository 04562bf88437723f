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

/* The value a loop writes at INDEX, from the scenario's loop_start of ID. */
static const char *loop_value(const struct scenario *sc, const char *id, unsigned int index)
{
	for (int i = 0; i < sc->nsteps; i++) {
		const struct step *s = &sc->steps[i];

		if (s->verb == V_LOOP_START && !strcmp(s->args[0], id))
			return (int)index + 2 < s->nargs ? s->args[index + 2] : NULL;
	}
	return NULL;
}

/*
 * The samples a "stop ID samples" streamed into F ("VALUE-INDEX US" per
 * line) become metrics NAME.VALUE.  Returns how many there were.
 */
long loop_metrics(struct run *r, const char *name, const char *id, FILE *f)
{
	unsigned int index, us;
	char metric[160];
	const char *v;
	long n = 0;

	rewind(f);
	while (fscanf(f, "%u %u", &index, &us) == 2) {
		v = loop_value(r->sc, id, index);
		snprintf(metric, sizeof(metric), "%s.%s", name, v ? v : "?");
		metric_add(r, metric, "us", us);
		n++;
	}
	return n;
}

/*
 * /proc/lockdep lists every class as "ADDR FD: N BD: N USAGE: NAME",
 * followed by one " -> [ADDR] NAME" line per class taken directly after
 * it.  FD counts the classes reachable after it, directly or not.
 * Writes the direct ones to LIST; returns FD, or -1 if CLASS is absent.
 */
long lockdep_after(FILE *proc, const char *class, FILE *list)
{
	char line[512], *name, *bd;
	long fd = -1;
	bool in = false;

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
		name = bd ? strstr(bd + 4, ": ") : NULL;
		if (!name || strcmp(name + 2, class))
			continue;
		in = true;
		fd = atol(strstr(line, " FD:") + 4);
	}
	return fd;
}
