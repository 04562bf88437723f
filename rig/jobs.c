// SPDX-License-Identifier: GPL-2.0
/*
 * Scenarios in parallel.  Each job (one scenario on one row of
 * arches.tbl) runs in a child process of its own, with its own QEMU, and
 * spools its results to a file instead of reporting them; the parent
 * replays the spools through the report in job order, so TAP numbering
 * and the order of results do not depend on which guest finished first.
 * The fixed-by verdicts are made in the parent, on replay.
 *
 * A job weighs the host cores its guest keeps busy: one for
 * single-threaded TCG and for guests of two vCPUs, one per vCPU (up to the
 * width) for larger multi-threaded TCG or KVM guests (job_weight()).
 * Jobs start in order while their weights fit in the width (-j); a job
 * heavier than the width runs alone.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rig.h"

static void put(FILE *f, const char *s)
{
	s = s ?: "";
	fprintf(f, "%zu\n", strlen(s));
	fwrite(s, 1, strlen(s), f);
	fputc('\n', f);
}

static char *get(FILE *f)
{
	size_t len;
	char *s;

	if (fscanf(f, "%zu", &len) != 1 || fgetc(f) != '\n' || len > 1 << 20)
		return NULL;
	s = malloc(len + 1);
	if (!s)
		die("out of memory");
	if (fread(s, 1, len, f) != len || fgetc(f) != '\n') {
		free(s);
		return NULL;
	}
	s[len] = '\0';
	return s;
}

void spool_add(FILE *f, const char *name, bool ok, double secs, const char *why,
	       const char *diag, const struct titles *t)
{
	int i, n = t ? t->n : 0;

	fprintf(f, "add %d %.3f %d\n", ok, secs, n);
	put(f, name);
	put(f, why);
	put(f, diag);
	for (i = 0; i < n; i++)
		put(f, t->t[i]);
	fflush(f);
}

void spool_skip(FILE *f, const char *name, const char *why)
{
	fprintf(f, "skip\n");
	put(f, name);
	put(f, why);
	fflush(f);
}

/* Replays one job's spool; a job that died leaves a failed result. */
static void replay(struct report *rep, struct job *j)
{
	int status = j->status;
	char kind[8], fail[300];
	int ok, n, i, results = 0;
	FILE *f = fopen(j->spool, "r");
	double secs;

	while (f && fscanf(f, "%7s", kind) == 1) {
		char *name, *why, *diag = NULL;
		struct titles t = { 0 };

		if (!strcmp(kind, "skip")) {
			fgetc(f);
			name = get(f);
			why = get(f);
			if (!name || !why)
				break;
			report_skip(rep, name, why);
			results++;
			free(name);
			free(why);
			continue;
		}
		if (strcmp(kind, "add") || fscanf(f, "%d %lf %d", &ok, &secs, &n) != 3 ||
		    fgetc(f) != '\n')
			break;
		name = get(f);
		why = get(f);
		diag = name && why ? get(f) : NULL;
		for (i = 0; diag && i < n; i++) {
			char *title = get(f);

			if (!title)
				break;
			titles_add(&t, title);
			free(title);
		}
		if (diag && i == n) {
			report_add(rep, name, ok, secs, why, diag, &t);
			results++;
		}
		free(name);
		free(why);
		free(diag);
		titles_free(&t);
		if (i != n)
			break;
	}
	if (f)
		fclose(f);
	unlink(j->spool);
	/* a job stopped by a signal has said so in its own result */
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 130) &&
	    results)
		return;
	if (WIFSIGNALED(status))
		snprintf(fail, sizeof(fail), "the job died of signal %d after %d result(s)",
			 WTERMSIG(status), results);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 130)
		snprintf(fail, sizeof(fail), "stopped by a signal after %d result(s)", results);
	else
		snprintf(fail, sizeof(fail), "the job exited %d after %d result(s)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1, results);
	report_add(rep, j->name, false, 0, fail, "", NULL);
}

/*
 * Multi-threaded TCG gives each vCPU a host thread, but a vCPU without
 * work sleeps: a 2-vCPU pseries guest running a CPU loop against memory
 * hotplug (inject-pseries) used 0.85 host cores over its run.  Such a
 * guest weighs one core; the stress scenarios with three or more vCPUs,
 * whose point is vCPUs running at the same time, weigh one per vCPU.
 */
int job_weight(const struct arch *arch, const struct scenario *sc, int width)
{
	int w = strstr(arch->accel, "thread=single") || sc->cpus <= 2 ? 1 : sc->cpus;

	if (w < 1)
		w = 1;
	return w > width ? width : w;
}

static pid_t start(struct report *rep, const struct opts *o, struct job *j, int idx)
{
	struct report child;
	FILE *f;
	pid_t pid;

	snprintf(j->spool, sizeof(j->spool), "%s/.spool-%d", rep->dir, idx);
	f = fopen(j->spool, "w");
	if (!f)
		die("cannot write %s: %s", j->spool, strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid) {
		fclose(f);
		return pid;
	}
	/* the parent's death stops the job, and with it its QEMU */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	child = *rep;
	child.spool = f;
	child.quiet = true;
	run_scenario(&child, o, &j->arch, j->sc);
	fclose(f);
	_exit(stop_requested() ? 130 : 0);
}

void run_jobs(struct report *rep, const struct opts *o, struct job *jobs, int n)
{
	int next = 0, reported = 0, used = 0, i, status, width = o->jobs;
	bool forwarded = false;
	pid_t pid;

	while (reported < n) {
		/* results in job order, as soon as all before them are in */
		while (reported < n && (jobs[reported].skip || jobs[reported].done)) {
			struct job *j = &jobs[reported++];

			if (j->skip)
				report_skip(rep, j->name, j->skip);
			else
				replay(rep, j);
		}
		while (!stop_requested() && next < n &&
		       (jobs[next].skip || !used || used + jobs[next].weight <= width)) {
			struct job *j = &jobs[next++];

			if (j->skip)
				continue;
			j->pid = start(rep, o, j, next - 1);
			j->done = false;
			used += j->weight;
		}
		if (!used)
			break;
		pid = wait(&status);
		if (pid < 0) {
			if (errno != EINTR)
				die("wait: %s", strerror(errno));
			if (stop_requested() && !forwarded) {
				for (i = 0; i < next; i++)
					if (!jobs[i].skip && !jobs[i].done)
						kill(jobs[i].pid, SIGTERM);
				forwarded = true;
			}
			continue;
		}
		for (i = 0; i < next; i++) {
			if (jobs[i].skip || jobs[i].done || jobs[i].pid != pid)
				continue;
			jobs[i].done = true;
			jobs[i].status = status;
			used -= jobs[i].weight;
		}
	}
	/* stopped before they started: say so rather than leave them out */
	for (; reported < n; reported++)
		report_skip(rep, jobs[reported].name,
			    jobs[reported].skip ?: "not started: the run was stopped");
}
