// SPDX-License-Identifier: GPL-2.0
/*
 * rig: boot the memory-hotplug kernels under QEMU, run scenarios, judge
 * the console.
 *
 *   rig check [options] [SCENARIO...]  scanner fixtures + scenarios, TAP
 *   rig run   [options] SCENARIO...    scenarios with a human report
 *   rig scan  CONSOLE-LOG...           print the verdict titles of a log
 *   rig rescan RESULTS-DIR...          judge an earlier run's consoles again
 *   rig kunit SUITE CONSOLE-LOG        the cases of a KUnit suite in a log
 *   rig plan  BLOCK-SIZE SCENARIO      the steps of a torture scenario
 *   rig validate SCENARIO...           parse scenario files only
 *
 * Options: --arch A (repeatable; default x86_64), --variant V (default
 * main), --build DIR (default build), --fixtures DIR, --known-issues
 * (every row of tests/known-issues.tbl must show up: run on the base).
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

char *slurp_line(const char *path)
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

static void usage(void)
{
	fprintf(stderr,
		"Usage: rig check [--arch A]... [--variant V] [--build DIR] [--jobs N] [--slow]\n"
		"                 [--races] [--fixtures DIR] [--refuse DIR] [--judge DIR]\n"
		"                 [--known-issues] [--callers] [--seed S[,S...]] [--ops N]\n"
		"                 [--duration SECONDS]\n"
		"                 [SCENARIO...]\n"
		"       rig run   [--arch A]... [--variant V] [--build DIR] [--jobs N] [--record DIR]\n"
		"                 SCENARIO...\n"
		"       rig scan CONSOLE-LOG...\n"
		"       rig rescan RESULTS-DIR...\n"
		"       rig kunit SUITE CONSOLE-LOG\n"
		"       rig shell [--arch A] [--variant V] [MACHINE.scn]\n"
		"       rig ctl [--arch A] plug dimm SIZE [node N] | unplug dimm ID |\n"
		"                      virtio-mem ID SIZE | cpu add | cpu del | status | scan\n"
		"       rig plan [--seed S[,S...]] [--ops N] BLOCK-SIZE TORTURE-SCENARIO\n"
		"       rig known ARCH SCENARIO TITLE\n"
		"       rig callers [--table TABLE] RESULTS-DIR\n"
		"       rig lines RESULTS-DIR\n"
		"       rig stats [--dat] BENCH-SAMPLES.tsv\n"
		"       rig lockdep-after PROC-LOCKDEP-FILE CLASS\n"
		"       rig lock-stat PROC-LOCK-STAT-FILE CLASS\n"
		"       rig read-holds TRACE-FILE\n"
		"       rig arch NAME COLUMN\n"
		"       rig validate SCENARIO...\n");
	exit(2);
}

/* -j N: host cores the guests may keep busy at once */
static int parse_jobs(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (end == s || *end || n < 1 || n > 64)
		die("jobs: '%s' is not a number of host cores (1 to 64)", s);
	return n;
}

static int parse_count(const char *what, const char *s, long lo, long hi)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (end == s || *end || n < lo || n > hi)
		die("%s: '%s' is not a number from %ld to %ld", what, s, lo, hi);
	return n;
}

/* --seed 1,2,3: the torture seeds, run in turn in one boot */
static const char *parse_seeds(const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if (!(*p >= '0' && *p <= '9') && !(*p == ',' && p != s && p[1] && p[1] != ','))
			break;
	if (!*s || *p || strlen(s) > 200)
		die("seed: '%s' is not a list of seeds (like 7 or 1,2,3)", s);
	return s;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "arch", required_argument, NULL, 'a' },
		{ "variant", required_argument, NULL, 'v' },
		{ "build", required_argument, NULL, 'b' },
		{ "fixtures", required_argument, NULL, 'f' },
		{ "record", required_argument, NULL, 'r' },
		{ "refuse", required_argument, NULL, 'R' },
		{ "judge", required_argument, NULL, 'J' },
		{ "known-issues", no_argument, NULL, 'k' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "slow", no_argument, NULL, 's' },
		{ "races", no_argument, NULL, 'D' },
		{ "seed", required_argument, NULL, 'S' },
		{ "ops", required_argument, NULL, 'O' },
		{ "duration", required_argument, NULL, 'T' },
		{ "callers", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	o->variant = "main";
	o->build = "build";
	while ((c = getopt_long(argc, argv, "j:", lo, NULL)) != -1) {
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
		case 'k':
			o->known_issues = true;
			break;
		case 'R':
			o->refuse = optarg;
			break;
		case 'J':
			o->judge = optarg;
			break;
		case 'j':
			o->jobs = parse_jobs(optarg);
			break;
		case 's':
			o->slow = true;
			break;
		case 'D':
			o->races = true;
			break;
		case 'S':
			o->seeds = parse_seeds(optarg);
			break;
		case 'O':
			o->ops = parse_count("ops", optarg, 1, 100000);
			break;
		case 'T':
			o->duration = parse_count("duration", optarg, 1, 7 * 86400);
			break;
		case 'C':
			o->callers = true;
			break;
		default:
			usage();
		}
	}
	o->arch_given = o->narches > 0;
	if (!o->narches)
		o->arches[o->narches++] = "x86_64";
}

/*
 * Without -j: RIG_JOBS, else all host cores for check, one guest at a time
 * for run (its progress lines are for a human to follow).
 */
static int default_jobs(bool human)
{
	const char *env = getenv("RIG_JOBS");
	long n;

	if (env && *env)
		return parse_jobs(env);
	if (human)
		return 1;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n;
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

/* The machine of rig shell: the file of scenarios/shell/ whose arches has ARCH. */
static bool shell_machine(const char *arch, char *path, size_t len)
{
	struct scenario sc;
	struct dirent *de;
	char err[512];
	bool found = false;
	DIR *d = opendir("scenarios/shell");

	while (d && !found && (de = readdir(d))) {
		if (!strstr(de->d_name, ".scn"))
			continue;
		snprintf(path, len, "scenarios/shell/%s", de->d_name);
		if (scenario_load(path, &sc, err, sizeof(err)))
			die("%s", err);
		found = scenario_for_arch(&sc, arch);
		scenario_free(&sc);
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * Is scenario J's name (not for ARCH) reported by another file: one that
 * is for ARCH, or an earlier one that is skipped there too?
 */
static bool name_taken(const struct scenario *sc, int nsc, int j, const char *arch)
{
	for (int i = 0; i < nsc; i++)
		if (i != j && !strcmp(sc[i].name, sc[j].name) &&
		    (scenario_for_arch(&sc[i], arch) || i < j))
			return true;
	return false;
}

static void print_header(const struct opts *o)
{
	char path[600], *tree;
	int i, n;

	for (i = 0; i < o->narches; i++) {
		snprintf(path, sizeof(path), "%s/kernels/%s/%s/series.txt", o->build, o->variant,
			 o->arches[i]);
		n = count_lines(path);
		snprintf(path, sizeof(path), "%s/kernels/%s/%s/tree", o->build, o->variant,
			 o->arches[i]);
		tree = slurp_line(path);
		if (tree)
			printf("# %s: own tree %s (KSRC), judged as if it had the whole series\n",
			       o->arches[i], tree);
		else
			printf("# %s: base %s, series '%s' with %d patch(es)\n", o->arches[i],
			       base_version, o->variant, n);
		free(tree);
	}
	if (strstr(base_version, "WANTED"))
		printf("# WARNING: the base is not the pinned version\n");
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct scenario *sc;
	struct job *jobs;
	struct arch arch;
	struct report rep;
	char path[600];
	const char *cmd;
	int i, j, nsc, njobs, failed;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "arch")) {
		if (argc != 4)
			usage();
		return arch_print("arches.tbl", argv[2], argv[3]);
	}
	/* the table of a make bench run */
	if (!strcmp(cmd, "stats"))
		return stats_main(argc - 2, argv + 2);
	/* what a saved /proc/lock_stat or /proc/lockdep says of CLASS */
	if (!strcmp(cmd, "lock-stat") || !strcmp(cmd, "lockdep-after")) {
		if (argc != 4)
			usage();
		return saved_lock_file(cmd, argv[2], argv[3]);
	}
	/* what a saved trace of read_holds says, per caller */
	if (!strcmp(cmd, "read-holds")) {
		if (argc != 3)
			usage();
		return saved_holds_file(argv[2]);
	}
	/* the per-function hit table of an earlier run, judged again */
	if (!strcmp(cmd, "callers"))
		return callers_main(argc, argv);
	/* the line coverage of a run on the gcov rows */
	if (!strcmp(cmd, "lines"))
		return lines_main(argc - 1, argv + 1);
	/* is TITLE a row of tests/known-issues.tbl for ARCH and SCENARIO? */
	if (!strcmp(cmd, "known")) {
		if (argc != 5)
			usage();
		return known_issue(argv[2], argv[3], argv[4], NULL) ? 0 : 1;
	}
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
	if (!strcmp(cmd, "kunit")) {
		struct ktap_case cases[64];
		int n, plan;

		if (argc != 2)
			usage();
		n = ktap_suite(argv[1], argv[0], cases, ARRAY_SIZE(cases), &plan);
		if (n < 0)
			die("%s: suite '%s' did not run there (or the file is unreadable)",
			    argv[1], argv[0]);
		printf("plan %d, %d case(s)\n", plan, n);
		for (i = 0; i < n; i++) {
			if (!cases[i].ok)
				printf("not ");
			printf("ok %s", cases[i].name);
			if (cases[i].note[0])
				printf(" # %s", cases[i].note);
			printf("\n");
		}
		return 0;
	}
	if (!strcmp(cmd, "shell")) {
		char machine[300];

		if (arch_load("arches.tbl", o.arches[0], &arch))
			die("unknown architecture '%s' (see arches.tbl)", o.arches[0]);
		if (argc > 1)
			usage();
		if (!argc && !shell_machine(o.arches[0], machine, sizeof(machine)))
			die("no machine in scenarios/shell/ is for %s (%s)", o.arches[0],
			    "give one: rig shell --arch ARCH FILE.scn");
		return shell_main(&o, argc ? argv[0] : machine);
	}
	if (!strcmp(cmd, "ctl"))
		return ctl_main(&o, o.arch_given, argc, argv);
	if (!strcmp(cmd, "rescan")) {
		if (argc < 1)
			usage();
		for (i = 0, failed = 0; i < argc; i++)
			failed |= rescan_dir(argv[i]);
		return failed;
	}
	/* the steps a torture scenario's seeds give, for a guest with BLOCK-SIZE blocks */
	if (!strcmp(cmd, "plan")) {
		struct scenario one;
		unsigned long long block;
		char err[512];

		if (argc != 2)
			usage();
		if (parse_size(argv[0], &block) || !block)
			die("plan: '%s' is not a memory block size (like 128M)", argv[0]);
		if (scenario_load(argv[1], &one, err, sizeof(err)))
			die("%s", err);
		if (!one.torture_seeds)
			die("plan: %s is not a torture scenario (no 'torture' key)", argv[1]);
		torture_plan(&one, &o, block);
		scenario_free(&one);
		return 0;
	}
	if (strcmp(cmd, "check") && strcmp(cmd, "run") && strcmp(cmd, "validate"))
		usage();
	nsc = argc;
	sc = calloc(nsc + 1, sizeof(*sc));
	load_all(nsc, argv, sc);
	fixed_by_load("tests/fixed-by.tbl", "patches/series");
	if (callers_load("tests/callers.tbl") && file_exists("tests/callers.tbl"))
		die("tests/callers.tbl: cannot use it (see above)");
	if (!strcmp(cmd, "validate")) {
		printf("%d scenario file(s) valid\n", nsc);
		return 0;
	}
	o.human = !strcmp(cmd, "run");
	if (!o.jobs)
		o.jobs = default_jobs(o.human);
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
	if (o.refuse)
		run_refusals(&rep, o.refuse);
	if (o.judge)
		run_judge_tests(&rep, o.judge);
	for (i = 0; i < nsc; i++)
		if (sc[i].torture_seeds && !o.human)
			torture_plan_check(&rep, &sc[i]);
	/* scenario results are judged against the variant's patches */
	rep.build = o.build;
	rep.variant = o.variant;
	jobs = calloc(o.narches * nsc + 1, sizeof(*jobs));
	if (!jobs)
		die("out of memory");
	for (i = 0, njobs = 0; i < o.narches; i++) {
		const char *row;
		int ran = 0;

		arch_load("arches.tbl", o.arches[i], &arch);
		choose_accel(&o, &arch);
		row = arch_scenario_row(&arch);
		for (j = 0; j < nsc; j++) {
			struct job *jb = &jobs[njobs++];

			memset(jb, 0, sizeof(*jb));
			jb->arch = arch;
			jb->sc = &sc[j];
			snprintf(jb->name, sizeof(jb->name), "%s/%s", arch.name, sc[j].name);
			if (!scenario_for_arch(&sc[j], row)) {
				jb->skip = "not for this architecture";
				/* a file of that name is (torture.scn, torture-pseries.scn) */
				if (name_taken(sc, nsc, j, row))
					njobs--;
				continue;
			}
			/*
			 * make races (--races) runs the data-race pairs, make
			 * check the fast pairs, make slow (--slow) the others.
			 */
			if (o.races != scenario_races_on(&sc[j], row)) {
				jb->skip = o.races ? "not a data-race row: make check runs it" :
						     "data-race row: make races runs it";
				continue;
			}
			if (!o.races && o.slow != scenario_slow_on(&sc[j], row)) {
				jb->skip = o.slow ? "not slow on this row: make check runs it" :
						    "slow on this row: make slow runs it";
				continue;
			}
			jb->weight = job_weight(&arch, &sc[j], o.jobs);
			ran++;
		}
		/* asked for an architecture and ran nothing on it: nothing was shown */
		if (nsc && !ran) {
			snprintf(path, sizeof(path), "%s/scenarios", arch.name);
			report_add(&rep, path, false, 0,
				   "no scenario given is for this architecture", "", NULL);
		}
	}
	run_jobs(&rep, &o, jobs, njobs);
	free(jobs);
	if (o.known_issues)
		known_recheck(&rep, o.arches, o.narches);
	if (o.callers)
		callers_report(&rep);
	failed = report_close(&rep);
	for (i = 0; i < nsc; i++)
		scenario_free(&sc[i]);
	free(sc);
	return failed ? 1 : 0;
}
