// SPDX-License-Identifier: GPL-2.0
/*
 * Scenario files: "key = value" lines set the machine shape, every other
 * line is a step "verb arg...".  The format is documented in
 * docs/scenarios.md.  Everything is validated before anything runs; an
 * error names the file, the line and the key or verb.
 */
#define _GNU_SOURCE	/* strerrorname_np */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

/*
 * Argument kinds: n = device id (letters, digits, '-', '_'), z = size,
 * s = size or 0,
 * d = signed size delta, t = online type, r = expected unplug result,
 * p = absolute guest path, v = value (escapes as in docs/agent.md),
 * e = "ok" or an errno name, i = seconds (1..3600), x = program name,
 * k = kind of held memory (anon, pipe), a = "partial" or "settle", c = a share in
 * per cent ("5%"), o = "node=N" (a NUMA node of the scenario) or "nowait", b = a block
 * state (online, offline), m = what an NVDIMM's memory is used as (devdax,
 * kmem, none), y = a script name (name.sh), l = a lock class name, u = a
 * number, f = a kernel function, w = a /proc/vmstat counter, g = errno names
 * ("EIO,ETIMEDOUT").
 * An upper-case kind is optional.
 */
static const struct verb_def {
	const char *name;
	const char *args;
	const char *usage;
} verbs[V_NR_VERBS] = {
	[V_DIMM_ADD] = { "dimm_add", "nzOO", "dimm_add ID SIZE [node=N] [nowait]" },
	[V_DIMM_DEL] = { "dimm_del", "nR", "dimm_del ID [deleted|error|nowait|quiet]" },
	[V_ONLINE] = { "online", "nt", "online ID online|online_movable|online_kernel" },
	[V_OFFLINE] = { "offline", "n", "offline ID" },
	[V_VMEM_RESIZE] = { "vmem_resize", "nsA", "vmem_resize ID SIZE [partial|settle]" },
	[V_WAIT_ONLINE] = { "wait_online", "nI", "wait_online ID [SECONDS]" },
	[V_EXPECT_BLOCKS] = { "expect_blocks", "nb", "expect_blocks ID online|offline" },
	[V_EXPECT_MEMTOTAL] = { "expect_memtotal", "d", "expect_memtotal +SIZE|-SIZE|0" },
	[V_EXPECT_LOCKDEP] = { "expect_lockdep", "", "expect_lockdep" },
	[V_WRITE] = { "write", "pvE", "write PATH VALUE [ok|ENAME]" },
	[V_BG_WRITE] = { "bg_write", "pvI", "bg_write PATH VALUE [AFTER-SECONDS]" },
	[V_WAIT_CONSOLE] = { "wait_console", "vI", "wait_console TEXT [SECONDS]" },
	[V_LOOP_START] = { "loop_start", "npvVVVV", "loop_start ID PATH V1 [V2 ...]" },
	[V_LOOP_FOR] = { "loop_for", "nipvVVV", "loop_for ID SECONDS PATH V1 [V2 ...]" },
	[V_LOOP_STOP] = { "loop_stop", "nUCG",
			  "loop_stop ID [MIN-CYCLES [MAX-FAILED-WRITES% [ERRNO[,ERRNO...]]]]" },
	[V_SELFTEST] = { "selftest", "xVVVVVVVVVVVVVV", "selftest PROGRAM [ARG|NAME=VALUE ...]" },
	[V_EXPECT_READ] = { "expect_read", "pv", "expect_read PATH VALUE" },
	[V_HOLD] = { "hold", "nkz", "hold ID anon|pipe SIZE" },
	[V_RELEASE] = { "release", "n", "release ID" },
	[V_CPU_ADD] = { "cpu_add", "n", "cpu_add ID" },
	[V_CPU_DEL] = { "cpu_del", "n", "cpu_del ID" },
	[V_NVDIMM_ADD] = { "nvdimm_add", "nz", "nvdimm_add ID SIZE" },
	[V_DAX] = { "dax", "nm", "dax ID devdax|kmem|none" },
	[V_SHELL_TEST] = { "shell_test", "yVVVVVV", "shell_test SCRIPT [ARG ...]" },
	[V_FAULT_SWEEP] = { "fault_sweep", "ntI", "fault_sweep ID ONLINE-TYPE [MAX-SITES]" },
	[V_FAULT_TWICE] = { "fault_twice", "pvvuufw",
			    "fault_twice PATH VALUE UNDO NTH SPACE SYMBOL COUNTER" },
	[V_LOCKDEP_AFTER] = { "lockdep_after", "l", "lockdep_after LOCK-CLASS" },
	[V_LOCK_STAT] = { "lock_stat", "l", "lock_stat LOCK-CLASS" },
	[V_READ_HOLDS] = { "read_holds", "ff", "read_holds LOCK-FUNCTION UNLOCK-FUNCTION" },
	[V_SLEEP] = { "sleep", "i", "sleep SECONDS" },
	[V_EXPECT_NO_LEAK] = { "expect_no_leak", "", "expect_no_leak" },
};

static const char *const online_types[] = {
	"online", "online_movable", "online_kernel", NULL
};

static const char *const unplug_results[] = { "deleted", "error", "nowait", "quiet", NULL };

/* dimm_add ID SIZE [node=N] [nowait], in either order: the node, or -1 */
int dimm_add_node(const struct step *s)
{
	int i;

	for (i = 2; i < s->nargs; i++)
		if (!strncmp(s->args[i], "node=", 5))
			return atoi(s->args[i] + 5);
	return -1;
}

/* ... and whether the step returns once the device is plugged */
bool dimm_add_nowait(const struct step *s)
{
	int i;

	for (i = 2; i < s->nargs; i++)
		if (!strcmp(s->args[i], "nowait"))
			return true;
	return false;
}

const char *verb_name(enum verb v)
{
	return verbs[v].name;
}

struct parse {
	const char *path;
	int line;
	char *err;
	size_t len;
};

static int perr(struct parse *p, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = snprintf(p->err, p->len, "%s:%d: ", p->path, p->line);
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->len > n ? p->len - n : 0, fmt, ap);
	va_end(ap);
	return -1;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static bool is_id(const char *s)
{
	if (!*s || strlen(s) >= 32)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

/* whether the n characters at s name an errno of this C library */
static bool is_errno_name(const char *s, size_t n)
{
	const char *name;
	int e;

	for (e = 1; e < 256; e++) {
		name = strerrorname_np(e);
		if (name && strlen(name) == n && !strncmp(name, s, n))
			return true;
	}
	return false;
}

/* "EIO" or "EIO,ETIMEDOUT": errno names, comma-separated */
static bool is_errno_list(const char *s)
{
	size_t n;

	for (;;) {
		n = strcspn(s, ",");
		if (!is_errno_name(s, n))
			return false;
		if (!s[n])
			return true;
		s += n + 1;
	}
}

static int check_arg(struct parse *p, const char *verb, char kind, const char *a)
{
	unsigned long long z;
	long long d;

	switch (tolower(kind)) {
	case 'n':
		if (!is_id(a))
			return perr(p, "%s: '%s' is not a device id", verb, a);
		return 0;
	case 'z':
		if (parse_size(a, &z) || !z)
			return perr(p, "%s: '%s' is not a size (like 512M or 1G)", verb, a);
		return 0;
	case 's':
		if (parse_size(a, &z))
			return perr(p, "%s: '%s' is not a size (like 0, 512M or 1G)", verb, a);
		return 0;
	case 'd':
		if (parse_delta(a, &d))
			return perr(p, "%s: '%s' is not a size change (like +1G, -512M, 0)",
				    verb, a);
		return 0;
	case 't':
		if (!in_list(a, online_types))
			return perr(p, "%s: '%s' is not an online type (%s)", verb, a,
				    "online, online_movable, online_kernel");
		return 0;
	case 'i':
		if (atoi(a) < 1 || atoi(a) > 3600 || strspn(a, "0123456789") != strlen(a))
			return perr(p, "%s: '%s' is not a number of seconds (1..3600)", verb, a);
		return 0;
	case 'p':
		if (a[0] != '/')
			return perr(p, "%s: '%s' is not an absolute path", verb, a);
		return 0;
	case 'v':
		return 0;
	case 'k':
		if (strcmp(a, "anon") && strcmp(a, "pipe"))
			return perr(p, "%s: '%s' is not a kind of memory (anon, pipe)", verb, a);
		return 0;
	case 'c':
		if (!*a || strspn(a, "0123456789") != strlen(a) - 1 || a[strlen(a) - 1] != '%' ||
		    atoi(a) > 100)
			return perr(p, "%s: '%s' is not a share in per cent (0%%..100%%)", verb, a);
		return 0;
	case 'o':
		if (!strcmp(a, "nowait"))
			return 0;
		if (strncmp(a, "node=", 5) || !a[5] || strspn(a + 5, "0123456789") != strlen(a + 5))
			return perr(p, "%s: '%s' is not node=N or nowait", verb, a);
		return 0;
	case 'b':
		if (strcmp(a, "online") && strcmp(a, "offline"))
			return perr(p, "%s: '%s' is not a block state (online, offline)", verb, a);
		return 0;
	case 'y':
		if (strlen(a) < 4 || strcmp(a + strlen(a) - 3, ".sh") || a[0] == '-' ||
		    strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(a))
			return perr(p, "%s: '%s' is not a script name (NAME.sh)", verb, a);
		return 0;
	case 'l':
		if (strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(a))
			return perr(p, "%s: '%s' is not a lock class name like cpu_hotplug_lock",
				    verb, a);
		return 0;
	case 'u':
		if (!*a || strspn(a, "0123456789") != strlen(a))
			return perr(p, "%s: '%s' is not a number", verb, a);
		return 0;
	case 'f':
		if (!*a || isdigit((unsigned char)a[0]) ||
		    strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
		    strlen(a))
			return perr(p, "%s: '%s' is not a kernel function name", verb, a);
		return 0;
	case 'w':
		if (!*a || strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(a))
			return perr(p, "%s: '%s' is not a /proc/vmstat counter like nr_free_pages",
				    verb, a);
		return 0;
	case 'm':
		if (strcmp(a, "devdax") && strcmp(a, "kmem") && strcmp(a, "none"))
			return perr(p, "%s: '%s' is not devdax, kmem or none", verb, a);
		return 0;
	case 'a':
		if (strcmp(a, "partial") && strcmp(a, "settle"))
			return perr(p, "%s: '%s' is not 'partial' or 'settle'", verb, a);
		return 0;
	case 'x':
		if (!is_id(a) || a[0] == '-')
			return perr(p, "%s: '%s' is not a program name", verb, a);
		return 0;
	case 'e':
		if (strcmp(a, "ok") && (a[0] != 'E' || !a[1] ||
					strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(a)))
			return perr(p, "%s: '%s' is not 'ok' or an errno name like EINVAL",
				    verb, a);
		return 0;
	case 'g':
		if (!is_errno_list(a))
			return perr(p, "%s: '%s' is not a list of errno names like EIO,ETIMEDOUT",
				    verb, a);
		return 0;
	case 'r':
		if (!in_list(a, unplug_results))
			return perr(p, "%s: '%s' is not an unplug result (%s)", verb, a,
				    "deleted, error, nowait, quiet");
		return 0;
	}
	return perr(p, "%s: internal: bad argument kind", verb);
}

/*
 * loop_stop ID MIN SHARE% ERRNOS: a loop allowed to fail some writes names
 * the errnos it allows, and one that allows none names none.  MIN 0 (no
 * cycle need succeed whole) only with such a list.
 */
static int check_loop_stop(struct parse *p, char **tok, int ntok)
{
	bool share = ntok > 3 && atoi(tok[3]) > 0;

	if (ntok > 2 && !atoi(tok[2]) && ntok < 5)
		return perr(p, "loop_stop %s: MIN 0 only for a loop that names %s", tok[1],
			    "the errnos its writes may fail with (loop_stop ID 0 SHARE% EIO)");
	if (share && ntok < 5)
		return perr(p, "loop_stop %s: %s failed writes allowed, but not which: %s", tok[1],
			    tok[3], "name their errnos (loop_stop ID MIN SHARE% EIO,ETIMEDOUT)");
	if (!share && ntok > 4)
		return perr(p, "loop_stop %s: no failed write allowed (%s), so no errno (%s)",
			    tok[1], tok[3], tok[4]);
	return 0;
}

static int parse_step(struct parse *p, struct scenario *sc, char **tok, int ntok)
{
	const struct verb_def *def = NULL;
	struct step *s;
	size_t i, required = 0, max;
	int v;

	for (v = 0; v < V_NR_VERBS; v++)
		if (!strcmp(tok[0], verbs[v].name))
			def = &verbs[v];
	if (!def)
		return perr(p, "unknown step '%s'", tok[0]);
	max = strlen(def->args);
	for (i = 0; i < max; i++)
		required += isupper((unsigned char)def->args[i]) ? 0 : 1;
	if ((size_t)ntok - 1 < required || (size_t)ntok - 1 > max)
		return perr(p, "%s: wrong number of arguments (usage: %s)", tok[0], def->usage);
	for (i = 1; i < (size_t)ntok; i++)
		if (check_arg(p, tok[0], def->args[i - 1], tok[i]))
			return -1;
	if (def - verbs == V_LOOP_STOP && check_loop_stop(p, tok, ntok))
		return -1;

	s = realloc(sc->steps, (sc->nsteps + 1) * sizeof(*s));
	if (!s)
		die("out of memory");
	sc->steps = s;
	s = &sc->steps[sc->nsteps++];
	memset(s, 0, sizeof(*s));
	s->verb = def - verbs;
	s->line = p->line;
	s->nargs = ntok - 1;
	for (i = 1; i < (size_t)ntok; i++)
		s->args[i - 1] = xstrdup(tok[i]);
	return 0;
}

/* whether a read_holds step comes before the scenario's last one */
static bool holds_armed_before(const struct scenario *sc)
{
	for (int i = 0; i < sc->nsteps - 1; i++)
		if (sc->steps[i].verb == V_READ_HOLDS)
			return true;
	return false;
}

static int parse_step_line(struct parse *p, struct scenario *sc, char *line)
{
	char *tok[MAX_ARGS + 2], *save = NULL;
	int ntok = 0;

	for (tok[0] = strtok_r(line, " \t", &save); tok[ntok] && ntok <= MAX_ARGS;)
		tok[++ntok] = strtok_r(NULL, " \t", &save);
	if (ntok > MAX_ARGS)
		return perr(p, "%s: too many arguments", tok[0]);
	if (ntok && !strcmp(tok[0], "measure")) {
		/* measure NAME STEP ...: the step, and what it measured (metrics.c) */
		if (ntok < 3 || !is_id(tok[1]) || tok[1][0] == '-')
			return perr(p, "measure: want '%s', NAME a plain name",
				    "measure NAME STEP [ARG ...]");
		if (parse_step(p, sc, tok + 2, ntok - 2))
			return -1;
		if (sc->steps[sc->nsteps - 1].verb == V_READ_HOLDS && !holds_armed_before(sc))
			return perr(p, "measure: the first read_holds only arms its probes: %s",
				    "there is no window before it to measure");
		sc->steps[sc->nsteps - 1].metric = xstrdup(tok[1]);
		return 0;
	}
	return parse_step(p, sc, tok, ntok);
}

/* One step from text (a generated one): validated as in a file. */
int scenario_step(struct scenario *sc, const char *origin, int line, const char *text,
		  char *err, size_t len)
{
	struct parse p = { .path = origin, .line = line, .err = err, .len = len };
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", text);
	return parse_step_line(&p, sc, trim(buf));
}

/*
 * torture = SEEDS OPS: the steps are generated from each seed in turn
 * ("1,2,3"), OPS operations per seed.
 */
static int parse_torture(struct parse *p, struct scenario *sc, const char *val)
{
	char words[256], *seeds, *ops, *end, *save = NULL;
	const char *q;

	snprintf(words, sizeof(words), "%s", val);
	seeds = strtok_r(words, " \t", &save);
	ops = strtok_r(NULL, " \t", &save);
	if (!seeds || !ops || strtok_r(NULL, " \t", &save))
		return perr(p, "torture: want 'SEEDS OPS' (like '1,2 30'), got '%s'", val);
	for (q = seeds; *q; q++)
		if (!isdigit((unsigned char)*q) && !(*q == ',' && q != seeds && q[1] &&
						     q[1] != ','))
			return perr(p, "torture: '%s' is not a list of seeds (like 1,2,3)", seeds);
	errno = 0;
	sc->torture_ops = strtol(ops, &end, 10);
	if (errno || *end || sc->torture_ops < 1 || sc->torture_ops > 100000)
		return perr(p, "torture: '%s' is not a number of operations (1..100000)", ops);
	free(sc->torture_seeds);
	sc->torture_seeds = xstrdup(seeds);
	return 0;
}

static int parse_torture_kinds(struct parse *p, struct scenario *sc, char *val)
{
	char *tok, *save = NULL;
	unsigned int bit;

	for (tok = strtok_r(val, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		bit = torture_kind(tok);
		if (!bit)
			return perr(p, "torture_ops: unknown operation kind '%s' (%s)", tok,
				    TORTURE_KINDS);
		sc->torture_kinds |= bit;
	}
	if (!sc->torture_kinds)
		return perr(p, "torture_ops: want at least one kind (%s)", TORTURE_KINDS);
	return 0;
}

/*
 * "FIRST SECOND": exactly two words, the first a plain name.  The words
 * point into buf; val itself is left intact for error messages.
 */
static bool two_words(const char *val, char *buf, size_t len, char **first, char **second)
{
	char *save = NULL;

	snprintf(buf, len, "%s", val);
	*first = strtok_r(buf, " \t", &save);
	*second = strtok_r(NULL, " \t", &save);
	return *first && *second && !strtok_r(NULL, " \t", &save) && is_id(*first);
}

/* "SUITE/CASE WORD": the first word is two ids joined by one '/' */
static bool two_words_path(const char *val, char *buf, size_t len, char **first,
			   char **second)
{
	char *save = NULL, *slash;
	bool ok;

	snprintf(buf, len, "%s", val);
	*first = strtok_r(buf, " \t", &save);
	*second = strtok_r(NULL, " \t", &save);
	if (!*first || !*second || strtok_r(NULL, " \t", &save))
		return false;
	slash = strchr(*first, '/');
	if (!slash)
		return false;
	*slash = '\0';
	ok = is_id(*first) && is_id(slash + 1);
	*slash = '/';
	return ok;
}

static int parse_int(struct parse *p, const char *key, const char *v, int lo, int hi, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return perr(p, "%s: '%s' is not a number from %d to %d", key, v, lo, hi);
	*out = n;
	return 0;
}

/* "0,2" or "1-3": CPU numbers and ranges; "-" for a node without CPUs. */
static bool is_cpu_list(const char *s)
{
	if (!strcmp(s, "-"))
		return true;
	if (!*s || strspn(s, "0123456789,-") != strlen(s) || !isdigit((unsigned char)*s) ||
	    !isdigit((unsigned char)s[strlen(s) - 1]))
		return false;
	return !strstr(s, ",,") && !strstr(s, "--") && !strstr(s, ",-") && !strstr(s, "-,");
}

/*
 * numa = CPUS:SIZE ...: node N is the N-th word, with those CPUs and that
 * much boot memory (0: a node whose memory can only be hot-plugged).
 */
static int parse_numa(struct parse *p, struct scenario *sc, char *val)
{
	char *tok, *save = NULL, *colon;

	if (sc->nnuma)
		return perr(p, "numa: given twice");
	for (tok = strtok_r(val, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		struct numa_node *n = &sc->numa[sc->nnuma];

		if (sc->nnuma == MAX_DEVICES)
			return perr(p, "numa: more than %d nodes", MAX_DEVICES);
		colon = strchr(tok, ':');
		if (!colon)
			return perr(p, "numa: '%s' is not CPUS:SIZE (like 0:512M or 1:0)", tok);
		*colon = '\0';
		if (!is_cpu_list(tok) || strlen(tok) >= sizeof(n->cpus))
			return perr(p, "numa: '%s' is not a CPU list (like 0, 0,2, 1-3 or -)", tok);
		if (parse_size(colon + 1, &n->memory))
			return perr(p, "numa: '%s' is not a size", colon + 1);
		snprintf(n->cpus, sizeof(n->cpus), "%s", strcmp(tok, "-") ? tok : "");
		sc->nnuma++;
	}
	if (sc->nnuma < 2)
		return perr(p, "numa: want at least two nodes");
	return 0;
}

static int parse_key(struct parse *p, struct scenario *sc, const char *key, char *val)
{
	char *tok, *save = NULL, words[1024];

	if (!strcmp(key, "name")) {
		if (!is_id(val))
			return perr(p, "name: '%s' is not a plain name", val);
		free(sc->name);
		sc->name = xstrdup(val);
	} else if (!strcmp(key, "arches")) {
		for (tok = strtok_r(val, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
			if (sc->narches == MAX_ARCHES)
				return perr(p, "arches: too many");
			sc->arches[sc->narches++] = xstrdup(tok);
		}
	} else if (!strcmp(key, "slow_on")) {
		for (tok = strtok_r(val, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
			if (sc->nslow == MAX_ARCHES)
				return perr(p, "slow_on: too many");
			sc->slow_on[sc->nslow++] = xstrdup(tok);
		}
	} else if (!strcmp(key, "races_on")) {
		for (tok = strtok_r(val, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
			if (sc->nraces == MAX_ARCHES)
				return perr(p, "races_on: too many");
			sc->races_on[sc->nraces++] = xstrdup(tok);
		}
	} else if (!strcmp(key, "cpus")) {
		return parse_int(p, key, val, 1, 8, &sc->cpus);
	} else if (!strcmp(key, "slots")) {
		return parse_int(p, key, val, 0, 32, &sc->slots);
	} else if (!strcmp(key, "timeout")) {
		return parse_int(p, key, val, 10, 3600, &sc->timeout);
	} else if (!strcmp(key, "memory") || !strcmp(key, "maxmem")) {
		if (parse_size(val, key[1] == 'e' ? &sc->memory : &sc->maxmem))
			return perr(p, "%s: '%s' is not a size (like 512M or 8G)", key, val);
	} else if (!strcmp(key, "cmdline")) {
		free(sc->cmdline);
	free(sc->machine);
		sc->cmdline = xstrdup(val);
	} else if (!strcmp(key, "virtio_mem")) {
		struct vmem_dev *d = &sc->vmem[sc->nvmem];
		char *id, *size;

		if (sc->nvmem == MAX_DEVICES)
			return perr(p, "virtio_mem: too many devices");
		if (!two_words(val, words, sizeof(words), &id, &size))
			return perr(p, "virtio_mem: want 'ID SIZE', got '%s'", val);
		if (parse_size(size, &d->size))
			return perr(p, "virtio_mem: '%s' is not a size", size);
		snprintf(d->id, sizeof(d->id), "%s", id);
		sc->nvmem++;
	} else if (!strcmp(key, "nvdimm")) {
		struct vmem_dev *d = &sc->nvdimm[sc->nnvdimm];
		char *id, *size;

		if (sc->nnvdimm == MAX_DEVICES)
			return perr(p, "nvdimm: too many devices");
		if (!two_words(val, words, sizeof(words), &id, &size) || !is_id(id))
			return perr(p, "nvdimm: want 'ID SIZE', got '%s'", val);
		if (parse_size(size, &d->size) || !d->size)
			return perr(p, "nvdimm: '%s' is not a size", size);
		snprintf(d->id, sizeof(d->id), "%s", id);
		sc->nnvdimm++;
	} else if (!strcmp(key, "machine")) {
		if (!*val || strspn(val, "abcdefghijklmnopqrstuvwxyz0123456789-=,") != strlen(val))
			return perr(p, "machine: want QEMU machine options like %s, got '%s'",
				    "'nvdimm=on'", val);
		free(sc->machine);
		sc->machine = xstrdup(val);
	} else if (!strcmp(key, "kunit")) {
		char *suite, *opt;

		if (sc->nkunit == MAX_DEVICES)
			return perr(p, "kunit: too many suites");
		if (!two_words(val, words, sizeof(words), &suite, &opt) ||
		    strncmp(opt, "CONFIG_", 7) || strlen(opt) > 64 ||
		    strspn(opt, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(opt))
			return perr(p, "kunit: want 'SUITE CONFIG_OPTION', got '%s'", val);
		sc->kunit[sc->nkunit] = xstrdup(suite);
		sc->kunit_opt[sc->nkunit++] = xstrdup(opt);
	} else if (!strcmp(key, "kunit_skip")) {
		char *c, *opt;

		if (sc->nkunit_skip == MAX_DEVICES)
			return perr(p, "kunit_skip: too many cases");
		if (!two_words_path(val, words, sizeof(words), &c, &opt) ||
		    strncmp(opt, "CONFIG_", 7) || strlen(opt) > 64 ||
		    strspn(opt, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(opt))
			return perr(p, "kunit_skip: want '%s', got '%s'",
				    "SUITE/CASE CONFIG_OPTION", val);
		sc->kunit_skip[sc->nkunit_skip] = xstrdup(c);
		sc->kunit_skip_opt[sc->nkunit_skip++] = xstrdup(opt);
	} else if (!strcmp(key, "expect_report")) {
		if (sc->nexpect == MAX_DEVICES)
			return perr(p, "expect_report: too many");
		if (!*val)
			return perr(p, "expect_report: want a report title");
		sc->expect_reports[sc->nexpect++] = xstrdup(val);
	} else if (!strcmp(key, "numa")) {
		return parse_numa(p, sc, val);
	} else if (!strcmp(key, "torture")) {
		return parse_torture(p, sc, val);
	} else if (!strcmp(key, "torture_ops")) {
		return parse_torture_kinds(p, sc, val);
	} else if (!strcmp(key, "expect_failure")) {
		if (!*val)
			return perr(p, "expect_failure: want the text the failure must contain");
		free(sc->expect_failure);
		sc->expect_failure = xstrdup(val);
	} else if (!strcmp(key, "count") || !strcmp(key, "forbid")) {
		struct counter *c = &sc->counters[sc->ncounters];
		char *name, *text, msg[200];
		regex_t re;
		int rc;

		if (sc->ncounters == MAX_DEVICES)
			return perr(p, "%s: too many counters", key);
		if (!two_words(val, words, sizeof(words), &name, &text))
			return perr(p, "%s: want 'NAME %s' (\\s for a space), got '%s'", key,
				    strcmp(key, "count") ? "REGEX" : "TEXT", val);
		snprintf(c->name, sizeof(c->name), "%s", name);
		if (strlen(text) >= sizeof(c->text))
			return perr(p, "%s %s: longer than %zu characters", key, name,
				    sizeof(c->text) - 1);
		unescape_spaces(text, c->text, sizeof(c->text));
		c->forbid = !strcmp(key, "forbid");
		if (c->forbid) {
			rc = regcomp(&re, c->text, REG_EXTENDED | REG_NOSUB);
			if (rc) {
				regerror(rc, &re, msg, sizeof(msg));
				return perr(p, "forbid %s: '%s' is not %s: %s", name, c->text,
					    "an extended regular expression", msg);
			}
			regfree(&re);
		}
		sc->ncounters++;
	} else {
		return perr(p, "unknown key '%s' (keys: %s)", key,
			    "name arches slow_on races_on cpus memory slots maxmem numa virtio_mem nvdimm machine count forbid kunit kunit_skip expect_report expect_failure torture torture_ops cmdline timeout");
	}
	return 0;
}

/*
 * "\s" stands for a space in console texts, which are single tokens; "\\"
 * is kept as it is (a backslash escaped in a regular expression).
 */
void unescape_spaces(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in && n + 1 < len; in++) {
		if (in[0] == '\\' && in[1] == 's') {
			out[n++] = ' ';
			in++;
		} else if (in[0] == '\\' && in[1] == '\\' && n + 2 < len) {
			out[n++] = *in++;
			out[n++] = *in;
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

/*
 * How many lines of the file at path (without their "\r\n") match a
 * forbid counter's expression, the first of them copied to first; -1 when
 * the file cannot be read.
 */
static int forbidden_lines(const char *path, const struct counter *c, char *first, size_t len)
{
	char *line = NULL;
	size_t size = 0;
	regex_t re;
	int n = 0;
	FILE *f;

	first[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (regcomp(&re, c->text, REG_EXTENDED | REG_NOSUB))
		die("forbid %s: '%s' no longer compiles", c->name, c->text);
	while (getline(&line, &size, f) >= 0) {
		line[strcspn(line, "\r\n")] = '\0';
		if (regexec(&re, line, 0, NULL, 0))
			continue;
		if (!n++)
			snprintf(first, len, "%s", line);
	}
	free(line);
	fclose(f);
	regfree(&re);
	return n;
}

/*
 * A forbid counter's verdict on the console at path: the number of lines
 * it forbids there (-1: unreadable), and, when not 0, why the run fails.
 */
int forbid_verdict(const struct counter *c, const char *path, char *why, size_t len)
{
	char first[300];
	int n = forbidden_lines(path, c, first, sizeof(first));

	if (n < 0)
		snprintf(why, len, "forbid %s: cannot read %s", c->name, path);
	else if (n)
		snprintf(why, len, "kernel console: %d line(s) the scenario forbids (%s): %s", n,
			 c->name, first);
	return n;
}

/* "key = value" has one word before the '='; a step may hold NAME=VALUE. */
static bool is_key_line(const char *line, const char *eq)
{
	const char *p = line;

	while (p < eq && !isspace((unsigned char)*p))
		p++;
	if (p == line)
		return false;
	while (p < eq && isspace((unsigned char)*p))
		p++;
	return p == eq;
}

/*
 * From loop_for ID to its loop_stop the rig must not ask the guest
 * anything (steps.c): only sleep, dimm_add ... nowait and dimm_del ...
 * quiet may run there, and dimm_del ... quiet only there.
 */
static int check_loop_for(struct parse *p, const struct scenario *sc)
{
	const char *open = NULL;
	int i;

	for (i = 0; i < sc->nsteps; i++) {
		const struct step *st = &sc->steps[i];
		bool quiet_del = st->verb == V_DIMM_DEL && st->nargs > 1 &&
				 !strcmp(st->args[1], "quiet");

		p->line = st->line;
		if (st->verb == V_LOOP_STOP && open && !strcmp(st->args[0], open)) {
			open = NULL;
			continue;
		}
		if (!open && quiet_del)
			return perr(p, "dimm_del: quiet checks nothing in the guest: %s",
				    "only between loop_for and its loop_stop");
		if (!open) {
			if (st->verb == V_LOOP_FOR)
				open = st->args[0];
			continue;
		}
		if (st->verb != V_SLEEP && !quiet_del &&
		    !(st->verb == V_DIMM_ADD && dimm_add_nowait(st)))
			return perr(p, "%s: the guest is not asked anything until loop_stop %s; %s",
				    verbs[st->verb].name, open,
				    "only sleep, dimm_add ... nowait and dimm_del ... quiet may run");
	}
	p->line = 0;
	return open ? perr(p, "loop_for %s has no loop_stop %s", open, open) : 0;
}

int scenario_load(const char *path, struct scenario *sc, char *err, size_t len)
{
	struct parse p = { .path = path, .err = err, .len = len };
	char buf[1024], *line, *eq;
	const char *base;
	int rc = 0;
	FILE *fp;

	memset(sc, 0, sizeof(*sc));
	sc->path = xstrdup(path);
	sc->cpus = 2;
	sc->memory = 512ULL << 20;
	sc->timeout = 300;
	fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (!rc && fgets(buf, sizeof(buf), fp)) {
		p.line++;
		if (!strchr(buf, '\n') && !feof(fp)) {
			rc = perr(&p, "line too long");
			break;
		}
		line = strchr(buf, '#');
		if (line)
			*line = '\0';
		line = trim(buf);
		if (!*line)
			continue;
		eq = strchr(line, '=');
		if (eq && is_key_line(line, eq)) {
			*eq = '\0';
			rc = parse_key(&p, sc, trim(line), trim(eq + 1));
			continue;
		}
		rc = parse_step_line(&p, sc, line);
	}
	fclose(fp);
	if (rc)
		return rc;
	p.line = 0;
	if (!sc->name) {
		base = strrchr(path, '/');
		base = base ? base + 1 : path;
		sc->name = xstrdup(base);
		if (strchr(sc->name, '.'))
			*strchr(sc->name, '.') = '\0';
	}
	if (!sc->narches)
		return perr(&p, "no 'arches' key: say which architectures the scenario is for");
	for (int i = 0; i < sc->nslow; i++)
		if (!scenario_for_arch(sc, sc->slow_on[i]))
			return perr(&p, "slow_on: '%s' is not one of the scenario's arches",
				    sc->slow_on[i]);
	for (int i = 0; i < sc->nraces; i++) {
		if (!scenario_for_arch(sc, sc->races_on[i]))
			return perr(&p, "races_on: '%s' is not one of the scenario's arches",
				    sc->races_on[i]);
		if (scenario_slow_on(sc, sc->races_on[i]))
			return perr(&p, "races_on: '%s' is in slow_on too", sc->races_on[i]);
	}
	for (int i = 0; i < sc->narches; i++) {
		struct arch a;

		if (arch_load("arches.tbl", sc->arches[i], &a))
			return perr(&p, "arches: '%s' is not a row of arches.tbl", sc->arches[i]);
	}
	if (sc->slots && sc->maxmem <= sc->memory)
		return perr(&p, "maxmem must be larger than memory when slots are given");
	if (sc->nvmem && sc->maxmem <= sc->memory)
		return perr(&p, "virtio_mem needs maxmem larger than memory");
	if (sc->nnvdimm && !sc->slots)
		return perr(&p, "nvdimm needs slots (and maxmem): an NVDIMM takes a memory slot");
	if (check_loop_for(&p, sc))
		return -1;
	for (int i = 0; i < sc->nsteps; i++) {
		const struct step *st = &sc->steps[i];

		if (st->verb == V_DIMM_ADD && st->nargs == 4 &&
		    !strncmp(st->args[2], "node=", 5) == !strncmp(st->args[3], "node=", 5)) {
			p.line = st->line;
			return perr(&p, "dimm_add: want at most one node=N and one nowait");
		}
		if (st->verb == V_DIMM_ADD && dimm_add_node(st) >= sc->nnuma) {
			p.line = st->line;
			return perr(&p, "dimm_add: node=%d, but the scenario has %d NUMA node(s)",
				    dimm_add_node(st), sc->nnuma ? sc->nnuma : 1);
		}
		if (st->verb == V_DIMM_DEL && st->nargs > 1 && !strcmp(st->args[1], "nowait") &&
		    !sc->nexpect) {
			p.line = st->line;
			return perr(&p, "dimm_del: nowait checks nothing: %s",
				    "only for a scenario with expect_report");
		}
	}
	if (torture_check(sc, err, len)) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err);
		return perr(&p, "%s", msg);
	}
	if (sc->nnuma) {
		unsigned long long sum = 0;

		for (int i = 0; i < sc->nnuma; i++)
			sum += sc->numa[i].memory;
		if (sum != sc->memory)
			return perr(&p, "numa: the nodes have %llu MiB, memory is %llu MiB",
				    sum >> 20, sc->memory >> 20);
	}
	return 0;
}

static bool names_has(char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* Too slow for make check on this row: runs there only with --slow. */
bool scenario_slow_on(const struct scenario *sc, const char *arch)
{
	return names_has(sc->slow_on, sc->nslow, arch);
}

/* A data-race row: runs there only with --races (make races). */
bool scenario_races_on(const struct scenario *sc, const char *arch)
{
	return names_has(sc->races_on, sc->nraces, arch);
}

bool scenario_for_arch(const struct scenario *sc, const char *arch)
{
	return names_has(sc->arches, sc->narches, arch);
}

void scenario_free(struct scenario *sc)
{
	int i, j;

	for (i = 0; i < sc->nsteps; i++)
		for (j = 0; j < sc->steps[i].nargs; j++)
			free(sc->steps[i].args[j]);
	for (i = 0; i < sc->narches; i++)
		free(sc->arches[i]);
	for (i = 0; i < sc->nslow; i++)
		free(sc->slow_on[i]);
	for (i = 0; i < sc->nraces; i++)
		free(sc->races_on[i]);
	for (i = 0; i < sc->nexpect; i++)
		free(sc->expect_reports[i]);
	for (i = 0; i < sc->nkunit_skip; i++) {
		free(sc->kunit_skip[i]);
		free(sc->kunit_skip_opt[i]);
	}
	for (i = 0; i < sc->nkunit; i++) {
		free(sc->kunit[i]);
		free(sc->kunit_opt[i]);
	}
	free(sc->steps);
	free(sc->path);
	free(sc->name);
	free(sc->cmdline);
	free(sc->expect_failure);
	free(sc->torture_seeds);
	memset(sc, 0, sizeof(*sc));
}
