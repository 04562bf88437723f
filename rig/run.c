// SPDX-License-Identifier: GPL-2.0
/*
 * One scenario on one architecture: boot, run every step, stop, judge the
 * console, and put the results (the scenario's, its selftest cases', its
 * KUnit cases') into the report.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "rig.h"

static void counts_diag(const struct counts *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "blocks_onlined=%ld blocks_offlined=%ld dimms_added=%ld dimms_removed=%ld cpus_added=%ld cpus_removed=%ld vmem_plugged_mib=%llu vmem_unplugged_mib=%llu checks=%ld%s",
		 c->blocks_onlined, c->blocks_offlined, c->dimms_added, c->dimms_removed,
		 c->cpus_added, c->cpus_removed, c->vmem_plugged >> 20, c->vmem_unplugged >> 20,
		 c->checks, c->loops);
	if (c->dax_mapped || c->kmem_added) {
		size_t n = strlen(buf);

		snprintf(buf + n, len > n ? len - n : 0,
			 " dax_mapped=%ld dax_unmapped=%ld kmem_added=%ld kmem_removed=%ld",
			 c->dax_mapped, c->dax_unmapped, c->kmem_added, c->kmem_removed);
	}
}

bool file_exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/*
 * The reports of a console that count against the scenario: not those of
 * tests/known-issues.tbl, and with races (make races) not the KCSAN ones,
 * which are judged against the base.  Those left out go into diag.
 */
void console_titles(const char *arch, const struct scenario *sc, bool races,
		    const struct titles *all, struct titles *out, char *diag, size_t len)
{
	struct arch a;

	/* a row that runs another row's scenarios has that row's known issues */
	if (!arch_load("arches.tbl", arch, &a))
		arch = arch_scenario_row(&a);
	for (int i = 0; i < all->n; i++) {
		size_t w = strlen(diag);

		if (known_issue(arch, sc->name, all->t[i], all->site[i])) {
			snprintf(diag + w, len - w, " known_issue=\"%s\"", all->t[i]);
			continue;
		}
		if (races && !strncmp(all->t[i], "KCSAN: ", 7)) {
			snprintf(diag + w, len - w, " race=\"%s\"", all->t[i]);
			continue;
		}
		titles_add(out, all->t[i]);
	}
}

/* The console must show exactly the reports the scenario expects. */
bool same_reports(const struct scenario *sc, const struct titles *got, char *why, size_t len)
{
	bool same = got->n == sc->nexpect;
	size_t w;
	int i, j;

	for (i = 0; same && i < sc->nexpect; i++) {
		for (j = 0; j < got->n && strcmp(got->t[j], sc->expect_reports[i]); j++)
			;
		same = j < got->n;
	}
	if (same)
		return true;
	w = snprintf(why, len, "expected reports [");
	for (i = 0; i < sc->nexpect && w < len; i++)
		w += snprintf(why + w, len - w, "%s%s", i ? "; " : "", sc->expect_reports[i]);
	for (i = 0; i < got->n && w < len; i++)
		w += snprintf(why + w, len - w, "%s%s", i ? "; " : "] got [", got->t[i]);
	if (w < len)
		snprintf(why + w, len - w, "%s]", got->n ? "" : "] got [");
	return false;
}

/*
 * Each case of a KUnit suite becomes a result.  A suite that never ran, a
 * plan ("1..N") that does not match the cases reported, and a skipped case
 * count as failures: they exercised nothing.  A suite the kernel was not
 * built with (a variant from before the suite existed) is a skip.
 */
/*
 * A case the scenario's kunit_skip names: the option it needs, and
 * whether the kernel has it.  NULL when the scenario names no such case.
 */
static const char *allowed_skip(const struct scenario *sc, const char *suite,
				const char *kcase, const char *kernel, bool *has)
{
	size_t sl = strlen(suite);
	int i;

	for (i = 0; i < sc->nkunit_skip; i++) {
		const char *c = sc->kunit_skip[i];

		if (!strncmp(c, suite, sl) && c[sl] == '/' && !strcmp(c + sl + 1, kcase)) {
			*has = kernel_option_set(kernel, sc->kunit_skip_opt[i]);
			return sc->kunit_skip_opt[i];
		}
	}
	return NULL;
}

static void report_kunit(struct report *rep, const char *arch, const struct scenario *sc,
			 const char *suite, const char *console, const char *kernel,
			 const char *absent)
{
	struct ktap_case cases[64];
	char name[400], why[200];
	int i, n, plan;

	snprintf(name, sizeof(name), "%s/kunit/%s", arch, suite);
	if (absent) {
		snprintf(why, sizeof(why), "%s is not in this kernel", absent);
		report_skip(rep, name, why);
		return;
	}
	n = ktap_suite(console, suite, cases, ARRAY_SIZE(cases), &plan);
	if (n <= 0 || plan != n) {
		if (n < 0)
			snprintf(why, sizeof(why), "the suite did not run");
		else if (plan < 0)
			snprintf(why, sizeof(why), "the suite printed no plan (1..N)");
		else
			snprintf(why, sizeof(why), "the plan is 1..%d, %d case(s) reported", plan,
				 n);
		report_add(rep, name, false, 0, why, "", NULL);
		if (n <= 0)
			return;
	}
	for (i = 0; i < n; i++) {
		const char *cwhy = "the case failed (see console.log)", *opt;
		bool has = false;

		snprintf(name, sizeof(name), "%s/kunit/%s/%s", arch, suite, cases[i].name);
		opt = allowed_skip(sc, suite, cases[i].name, kernel, &has);
		if (cases[i].skipped && opt && !has) {
			/* the skip the scenario expects: the kernel lacks what the case needs */
			snprintf(why, sizeof(why), "%s is not in this kernel (%s)", opt,
				 cases[i].note);
			report_skip(rep, name, why);
			continue;
		}
		if (cases[i].skipped)
			cwhy = cases[i].note;
		report_add(rep, name, cases[i].ok && !cases[i].skipped, 0, cwhy, "", NULL);
	}
}

static int count_in_file(const char *path, const char *text)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, text);
	fclose(f);
	return n;
}

/* What rig rescan needs to judge the directory again. */
static void write_meta(const char *dir, const char *arch, const char *scenario,
		       const char *variant)
{
	char path[800];
	FILE *f;

	snprintf(path, sizeof(path), "%s/meta", dir);
	f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "arch=%s\nscenario=%s\nvariant=%s\n", arch, scenario, variant);
	fclose(f);
}

/* Boot, run every step, stop, judge; the result goes into the report. */
void run_scenario(struct report *rep, const struct opts *o, const struct arch *arch,
		  const struct scenario *sc)
{
	const char *zero = NULL;	/* a count that stayed 0 */
	char kernel[600], initrd[600], dir[700], name[128], diag[2048], line[700];
	struct titles titles = { 0 }, all = { 0 };
	struct vm vm;
	struct run r = { .vm = &vm, .sc = sc, .report = o->human ? stdout : NULL };
	struct boot b = { .arch = arch, .sc = sc, .kernel = kernel, .initrd = initrd, .dir = dir };
	double t0 = now(), ts, deadline = now() + sc->timeout;
	bool passed = false;
	int i, boot_timeout = 240, lockdep, all_n;

	snprintf(name, sizeof(name), "%s/%s", arch->name, sc->name);
	snprintf(kernel, sizeof(kernel), "%s/kernels/%s/%s/image",
		 o->build, o->variant, arch->name);
	snprintf(initrd, sizeof(initrd), "%s/initramfs/%s.cpio", o->build, arch->name);
	snprintf(dir, sizeof(dir), "%s/%s-%s", rep->dir, arch->name, sc->name);
	mkdir(dir, 0755);
	write_meta(dir, arch->name, sc->path, o->variant);
	if (!file_exists(kernel) || !file_exists(initrd)) {
		report_add(rep, name, false, 0, "kernel or initramfs missing (run 'make kernels')",
			   kernel, NULL);
		return;
	}
	/* Built-in KUnit suites run before /init: a long one gets the run's time. */
	if (sc->nkunit && sc->timeout > boot_timeout)
		boot_timeout = sc->timeout;
	if (o->human)
		printf("%s: booting %s\n", name, arch->qemu);
	if (vm_start(&vm, &b) || vm_wait_ready(&vm, boot_timeout)) {
		snprintf(r.why, sizeof(r.why), "boot: %s", vm.err);
		goto out;
	}
	if (o->human)
		printf("  guest ready in %.1f s (%s)\n", vm.ready_at - vm.started, vm.guest);
	r.deadline = deadline;
	if (run_baseline(&r))
		goto out;
	if (o->callers)
		callers_arm(&r, kernel);
	if (sc->torture_seeds && !torture_run(&r, o))
		goto out;
	for (i = 0; i < sc->nsteps; i++) {
		const struct step *s = &sc->steps[i];

		ts = now();
		if (now() > deadline) {
			snprintf(r.why, sizeof(r.why), "scenario timeout (%d s) before line %d",
				 sc->timeout, s->line);
			vm.timed_out = true;
			goto out;
		}
		r.measured = false;
		if (step_run(&r, s)) {
			snprintf(line, sizeof(line), "line %d %s: %s", s->line,
				 verb_name(s->verb), r.why);
			snprintf(r.why, sizeof(r.why), "%s", line);
			goto out;
		}
		/* a measured step that recorded nothing of its own: its time */
		if (s->metric && !r.measured)
			metric_add(&r, s->metric, "s", now() - ts);
		if (o->human) {
			printf("  %-16s", verb_name(s->verb));
			for (int j = 0; j < s->nargs; j++)
				printf(" %s", s->args[j]);
			printf("  %.1f s\n", now() - ts);
		}
	}
	/* a provoked report switches lockdep off: only clean runs must keep it */
	if (!sc->nexpect && run_final_checks(&r))
		goto out;
	passed = true;
out:
	if (!passed && !r.why[0])
		snprintf(r.why, sizeof(r.why), "%s", vm.err);
	if (!passed && vm.timed_out && !stop_requested()) {
		/* a hang: the kernel's own account of it, before the VM goes */
		fprintf(stderr, "%s: timed out; SysRq w, d, l, t into console.log\n", name);
		vm_sysrq(&vm, "wdlt", 5);
	}
	if (!passed) {
		fprintf(stderr, "%s: FAILED: %s\n--- console tail (%s/console.log) ---\n",
			name, r.why, dir);
		vm_console_tail(&vm, stderr, 25);
		fprintf(stderr, "---\n");
	}
	lockdep = vm.pid > 0 ? run_lockdep_state(&r) : -1;
	/* a guest that could not say whether lockdep is on cannot say this either */
	if (lockdep >= 0 && o->callers) {
		callers_collect(&r);
		lines_collect(&r, kernel);
	}
	vm_stop(&vm);
	snprintf(line, sizeof(line), "%s/console.log", dir);
	scan_file(line, &all);
	if (o->record)
		record_fixture(line, o->record, arch->name, o->variant, sc->name);
	counts_diag(&r.counts, diag, sizeof(diag));
	/* what the run proved: lockdep still checking at the end, reports seen */
	snprintf(diag + strlen(diag), sizeof(diag) - strlen(diag), " lockdep_end=%s reports=%d",
		 lockdep > 0 ? "on" : lockdep ? "unknown" : "off", all.n);
	console_titles(arch->name, sc, o->races, &all, &titles, diag, sizeof(diag));
	all_n = all.n;
	titles_free(&all);
	if (sc->nexpect) {
		if (passed && !same_reports(sc, &titles, r.why, sizeof(r.why)))
			passed = false;
	} else if (titles.n) {
		if (passed)
			snprintf(r.why, sizeof(r.why), "kernel console: %s%s", titles.t[0],
				 titles.n > 1 ? " (and more)" : "");
		passed = false;
	}
	for (i = 0; i < sc->ncounters; i++) {
		char why[sizeof(r.why)];
		size_t len = strlen(diag);
		int n = sc->counters[i].forbid ?
			forbid_verdict(&sc->counters[i], line, why, sizeof(why)) :
			count_in_file(line, sc->counters[i].text);

		snprintf(diag + len, sizeof(diag) - len, " %s=%d", sc->counters[i].name, n);
		if (sc->counters[i].forbid) {
			if (n && passed) {
				snprintf(r.why, sizeof(r.why), "%s", why);
				passed = false;
			}
			continue;
		}
		if (!n && !zero)
			zero = sc->counters[i].name;
		if (!n && passed) {
			snprintf(r.why, sizeof(r.why), "nothing exercised: count %s is 0 ('%s')",
				 sc->counters[i].name, sc->counters[i].text);
			passed = false;
		}
	}
	if (sc->expect_failure) {
		/* a negative test: the rig must fail this run, for this reason */
		char want[1200];

		if (passed) {
			snprintf(want, sizeof(want), "passed, but must fail with '%s'",
				 sc->expect_failure);
		} else if (zero) {
			snprintf(want, sizeof(want), "failed as required, but count %s is 0", zero);
		} else if (!strstr(r.why, sc->expect_failure)) {
			snprintf(want, sizeof(want), "failed with '%.400s', not with '%s'", r.why,
				 sc->expect_failure);
		} else {
			size_t len = strlen(diag);

			snprintf(diag + len, sizeof(diag) - len, " failed_as_required=\"%.300s\"",
				 r.why);
			want[0] = '\0';
		}
		passed = !want[0];
		snprintf(r.why, sizeof(r.why), "%s", want);
	}
	report_add(rep, name, passed, now() - t0, r.why, diag, &titles);
	for (i = 0; i < r.nsubs; i++) {
		char sub[400];

		snprintf(sub, sizeof(sub), "%s/%s", name, r.subs[i].name);
		report_add(rep, sub, r.subs[i].ok, 0, r.subs[i].why, r.subs[i].diag, NULL);
	}
	for (i = 0; i < sc->nkunit; i++)
		report_kunit(rep, arch->name, sc, sc->kunit[i], line, kernel,
			     kernel_option_set(kernel, sc->kunit_opt[i]) ? NULL : sc->kunit_opt[i]);
	if (o->human) {
		printf("  proved: lockdep %s at the end; %d report(s) on the console%s\n",
		       lockdep > 0 ? "on" : lockdep ? "state unknown (guest gone)" : "OFF",
		       all_n, all_n ? ", see console.log" : "");
		printf("  verdict: %s%s%s\n", passed ? "PASS" : "FAIL", passed ? "" : ": ",
		       passed ? "" : r.why);
	}
	titles_free(&titles);
	if (stop_requested() && !rep->spool) {
		report_close(rep);
		exit(130);
	}
}

