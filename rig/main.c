// SPDX-License-Identifier: GPL-2.0
/*
 * rig: boot the memory-hotplug kernels under QEMU, run scenarios, judge
 * the console.
 *
 *   rig check [options] [SCENARIO...]  scanner fixtures + scenarios, TAP
 *   rig run   [options] SCENARIO...    scenarios with a human report
 *   rig scan  CONSOLE-LOG...           print the verdict titles of a log
 *   rig validate SCENARIO...           parse scenario files only
 *
 * Options: --arch A (repeatable; default x86_64), --variant V (default
 * main), --build DIR (default build), --fixtures DIR.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "rig.h"

const char *base_version = "unknown";

struct opts {
	const char *arches[MAX_ARCHES];
	int narches;
	const char *variant;
	const char *build;
	const char *fixtures;
	const char *record;
	bool human;
};

static char *slurp_line(const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, n = 0;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void counts_diag(const struct counts *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "blocks_onlined=%ld blocks_offlined=%ld dimms_added=%ld dimms_removed=%ld cpus_added=%ld cpus_removed=%ld vmem_plugged_mib=%llu vmem_unplugged_mib=%llu checks=%ld%s",
		 c->blocks_onlined, c->blocks_offlined, c->dimms_added, c->dimms_removed,
		 c->cpus_added, c->cpus_removed, c->vmem_plugged >> 20, c->vmem_unplugged >> 20,
		 c->checks, c->loops);
}

static bool file_exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/*
 * Keep a console log as a scanner fixture: DIR/ARCH[-VARIANT]-NAME.log.
 * Its .expect is written by whoever reviewed the log, never from the
 * scanner's own output.
 */
static void record_fixture(const char *log, const char *dir, const char *arch,
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

/* The console must show exactly the reports the scenario expects. */
static bool same_reports(const struct scenario *sc, const struct titles *got,
			 char *why, size_t len)
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

/* Is OPTION=y in the .config next to the kernel image? */
static bool option_set(const char *image, const char *option)
{
	char path[700], line[256], want[160];
	bool set = false;
	FILE *f;

	snprintf(path, sizeof(path), "%.*s.config", (int)(strrchr(image, '/') + 1 - image), image);
	snprintf(want, sizeof(want), "%s=y\n", option);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!set && fgets(line, sizeof(line), f))
		set = !strcmp(line, want);
	fclose(f);
	return set;
}

/*
 * Each case of a KUnit suite becomes a result.  A suite that never ran, a
 * plan ("1..N") that does not match the cases reported, and a skipped case
 * count as failures: they exercised nothing.  A suite the kernel was not
 * built with (a variant from before the suite existed) is a skip.
 */
static void report_kunit(struct report *rep, const char *arch, const char *suite,
			 const char *console, const char *absent)
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
		const char *cwhy = "the case failed (see console.log)";

		if (cases[i].skipped)
			cwhy = cases[i].note;
		snprintf(name, sizeof(name), "%s/kunit/%s/%s", arch, suite, cases[i].name);
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

/* Boot, run every step, stop, judge; the result goes into the report. */
static void run_scenario(struct report *rep, const struct opts *o, const struct arch *arch,
			 const struct scenario *sc)
{
	char kernel[600], initrd[600], dir[700], name[128], diag[1024], line[700];
	struct titles titles = { 0 }, all = { 0 };
	struct vm vm;
	struct run r = { .vm = &vm, .sc = sc, .report = o->human ? stdout : NULL };
	struct boot b = { .arch = arch, .sc = sc, .kernel = kernel, .initrd = initrd, .dir = dir };
	double t0 = now(), ts, deadline = now() + sc->timeout;
	bool passed = false;
	int i, boot_timeout = 240;

	snprintf(name, sizeof(name), "%s/%s", arch->name, sc->name);
	snprintf(kernel, sizeof(kernel), "%s/kernels/%s/%s/image",
		 o->build, o->variant, arch->name);
	snprintf(initrd, sizeof(initrd), "%s/initramfs/%s.cpio", o->build, arch->name);
	snprintf(dir, sizeof(dir), "%s/%s-%s", rep->dir, arch->name, sc->name);
	mkdir(dir, 0755);
	if (!file_exists(kernel) || !file_exists(initrd)) {
		report_add(rep, name, false, 0, "kernel or initramfs missing (run 'make kernels')",
			   kernel, NULL);
		return;
	}
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
	for (i = 0; i < sc->nsteps; i++) {
		const struct step *s = &sc->steps[i];

		ts = now();
		if (now() > deadline) {
			snprintf(r.why, sizeof(r.why), "scenario timeout (%d s) before line %d",
				 sc->timeout, s->line);
			vm.timed_out = true;
			goto out;
		}
		if (step_run(&r, s)) {
			snprintf(line, sizeof(line), "line %d %s: %s", s->line,
				 verb_name(s->verb), r.why);
			snprintf(r.why, sizeof(r.why), "%s", line);
			goto out;
		}
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
	vm_stop(&vm);
	snprintf(line, sizeof(line), "%s/console.log", dir);
	scan_file(line, &all);
	if (o->record)
		record_fixture(line, o->record, arch->name, o->variant, sc->name);
	counts_diag(&r.counts, diag, sizeof(diag));
	for (i = 0; i < all.n; i++) {
		if (known_issue(arch->name, sc->name, all.t[i], all.site[i])) {
			size_t len = strlen(diag);

			snprintf(diag + len, sizeof(diag) - len, " known_issue=\"%s\"", all.t[i]);
			continue;
		}
		titles_add(&titles, all.t[i]);
	}
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
		int n = count_in_file(line, sc->counters[i].text);
		size_t len = strlen(diag);

		snprintf(diag + len, sizeof(diag) - len, " %s=%d", sc->counters[i].name, n);
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
		report_kunit(rep, arch->name, sc->kunit[i], line,
			     option_set(kernel, sc->kunit_opt[i]) ? NULL : sc->kunit_opt[i]);
	if (o->human)
		printf("  verdict: %s%s%s\n", passed ? "PASS" : "FAIL", passed ? "" : ": ",
		       passed ? "" : r.why);
	titles_free(&titles);
	if (stop_requested()) {
		report_close(rep);
		exit(130);
	}
}

/*
 * KVM is used only where it demonstrably boots a guest: /dev/kvm can exist
 * on a host whose CPU cannot run one.  The answer is kept in
 * build/accel-ARCH as "kvm HOST" or "tcg HOST" (then the TCG options of
 * arches.tbl apply), HOST being the machine that was probed: a build
 * directory moved to another machine probes again.  RIG_ACCEL in the
 * environment overrides everything.
 */
static void choose_accel(const struct opts *o, struct arch *arch)
{
	struct scenario probe = { .name = "kvm-probe", .cpus = 1, .memory = 256ULL << 20,
				  .timeout = 30 };
	char path[600], dir[600], host[300], *cached;
	struct boot b = { .arch = arch, .sc = &probe, .dir = dir };
	char kernel[600], initrd[600];
	struct utsname u;
	struct vm vm;
	bool works;
	FILE *f;

	if (getenv("RIG_ACCEL"))
		return;
	uname(&u);
	if (strcmp(u.machine, arch->name) || access("/dev/kvm", R_OK | W_OK))
		return;
	snprintf(host, sizeof(host), "%s/%s", u.nodename, u.release);
	snprintf(path, sizeof(path), "%s/accel-%s", o->build, arch->name);
	cached = slurp_line(path);
	if (cached && strchr(cached, ' ') && !strcmp(strchr(cached, ' ') + 1, host)) {
		if (!strncmp(cached, "kvm ", 4))
			snprintf(arch->accel, sizeof(arch->accel), "kvm");
		free(cached);
		return;
	}
	free(cached);
	snprintf(kernel, sizeof(kernel), "%s/kernels/%s/%s/image",
		 o->build, o->variant, arch->name);
	snprintf(initrd, sizeof(initrd), "%s/initramfs/%s.cpio", o->build, arch->name);
	snprintf(dir, sizeof(dir), "%s/kvm-probe-%s", o->build, arch->name);
	if (!file_exists(kernel) || !file_exists(initrd))
		return;
	b.kernel = kernel;
	b.initrd = initrd;
	mkdir(dir, 0755);
	info("rig: %s: probing whether KVM boots a guest here", arch->name);
	snprintf(path, sizeof(path), "%s", arch->accel);
	snprintf(arch->accel, sizeof(arch->accel), "kvm");
	works = !vm_start(&vm, &b) && !vm_wait_ready(&vm, 20);
	vm_stop(&vm);
	if (!works)
		snprintf(arch->accel, sizeof(arch->accel), "%s", path);
	info("rig: %s: %s", arch->name, works ? "KVM works, using it" :
	     "KVM does not boot a guest here, using TCG");
	snprintf(path, sizeof(path), "%s/accel-%s", o->build, arch->name);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s %s\n", works ? "kvm" : "tcg", host);
		fclose(f);
	}
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

/* Each fixture NAME.log must produce exactly the titles listed in NAME.expect. */
static void run_fixtures(struct report *rep, const char *dir)
{
	struct dirent **ents;
	char log[600], exp[600], name[300], why[2048];
	int n, i, j;

	n = scandir(dir, &ents, NULL, by_name);
	if (n < 0)
		die("fixtures: %s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		struct titles got = { 0 }, want = { 0 };
		size_t len = strlen(ents[i]->d_name);
		bool same;

		if (len < 5 || strcmp(ents[i]->d_name + len - 4, ".log"))
			goto next;
		snprintf(log, sizeof(log), "%s/%s", dir, ents[i]->d_name);
		snprintf(exp, sizeof(exp), "%.*s.expect", (int)(strlen(log) - 4), log);
		snprintf(name, sizeof(name), "scanner/%.*s", (int)len - 4, ents[i]->d_name);
		if (read_titles(exp, &want)) {
			report_add(rep, name, false, 0, "no .expect file next to the fixture",
				   "", NULL);
			goto next;
		}
		scan_file(log, &got);
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

static void usage(void)
{
	fprintf(stderr,
		"Usage: rig check [--arch A]... [--variant V] [--build DIR] [--fixtures DIR] [SCENARIO...]\n"
		"       rig run   [--arch A]... [--variant V] [--build DIR] [--record DIR] SCENARIO...\n"
		"       rig scan CONSOLE-LOG...\n"
		"       rig validate SCENARIO...\n");
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "arch", required_argument, NULL, 'a' },
		{ "variant", required_argument, NULL, 'v' },
		{ "build", required_argument, NULL, 'b' },
		{ "fixtures", required_argument, NULL, 'f' },
		{ "record", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	o->variant = "main";
	o->build = "build";
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (o->narches == MAX_ARCHES)
				die("too many --arch");
			o->arches[o->narches++] = optarg;
			break;
		case 'v':
			o->variant = optarg;
			break;
		case 'b':
			o->build = optarg;
			break;
		case 'f':
			o->fixtures = optarg;
			break;
		case 'r':
			o->record = optarg;
			break;
		default:
			usage();
		}
	}
	if (!o->narches)
		o->arches[o->narches++] = "x86_64";
}

static void load_all(int n, char **paths, struct scenario *sc)
{
	char err[512];
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		if (scenario_load(paths[i], &sc[i], err, sizeof(err))) {
			fprintf(stderr, "rig: %s\n", err);
			bad++;
		}
	}
	if (bad)
		die("%d scenario file(s) rejected; nothing was run", bad);
}

static void print_header(const struct opts *o)
{
	char path[600];
	int i, n;

	for (i = 0; i < o->narches; i++) {
		snprintf(path, sizeof(path), "%s/kernels/%s/%s/series.txt", o->build, o->variant,
			 o->arches[i]);
		n = count_lines(path);
		printf("# %s: base %s, series '%s' with %d patch(es)\n", o->arches[i],
		       base_version, o->variant, n);
	}
	if (strstr(base_version, "WANTED"))
		printf("# WARNING: the base is not the pinned version\n");
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct scenario *sc;
	struct arch arch;
	struct report rep;
	char path[600];
	const char *cmd;
	int i, j, nsc, failed;

	if (argc < 2)
		usage();
	cmd = argv[1];
	parse_opts(argc - 1, argv + 1, &o);
	argc -= optind + 1;
	argv += optind + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(cmd, "scan")) {
		for (i = 0; i < argc; i++) {
			struct titles t = { 0 };

			if (scan_file(argv[i], &t))
				die("cannot read %s", argv[i]);
			for (j = 0; j < t.n; j++)
				printf("%s\n", t.t[j]);
			titles_free(&t);
		}
		return 0;
	}
	if (strcmp(cmd, "check") && strcmp(cmd, "run") && strcmp(cmd, "validate"))
		usage();
	nsc = argc;
	sc = calloc(nsc + 1, sizeof(*sc));
	load_all(nsc, argv, sc);
	fixed_by_load("tests/fixed-by.tbl", "patches/series");
	if (!strcmp(cmd, "validate")) {
		printf("%d scenario file(s) valid\n", nsc);
		return 0;
	}
	o.human = !strcmp(cmd, "run");
	for (i = 0; i < o.narches; i++)
		if (arch_load("arches.tbl", o.arches[i], &arch))
			die("unknown architecture '%s' (see arches.tbl)", o.arches[i]);
	snprintf(path, sizeof(path), "%s/base-version", o.build);
	base_version = slurp_line(path) ?: "unknown (run 'make base')";
	install_signal_handlers();
	snprintf(path, sizeof(path), "%s/results", o.build);
	report_open(&rep, path, o.human);
	print_header(&o);
	if (o.fixtures)
		run_fixtures(&rep, o.fixtures);
	/* scenario results are judged against the variant's patches */
	rep.build = o.build;
	rep.variant = o.variant;
	for (i = 0; i < o.narches; i++) {
		int ran = 0;

		arch_load("arches.tbl", o.arches[i], &arch);
		choose_accel(&o, &arch);
		for (j = 0; j < nsc; j++) {
			snprintf(path, sizeof(path), "%s/%s", arch.name, sc[j].name);
			if (!scenario_for_arch(&sc[j], arch.name)) {
				report_skip(&rep, path, "the scenario is not for this architecture");
				continue;
			}
			run_scenario(&rep, &o, &arch, &sc[j]);
			ran++;
		}
		/* asked for an architecture and ran nothing on it: nothing was shown */
		if (nsc && !ran) {
			snprintf(path, sizeof(path), "%s/scenarios", arch.name);
			report_add(&rep, path, false, 0,
				   "none of the scenarios given is for this architecture", "", NULL);
		}
	}
	failed = report_close(&rep);
	for (i = 0; i < nsc; i++)
		scenario_free(&sc[i]);
	free(sc);
	return failed ? 1 : 0;
}
