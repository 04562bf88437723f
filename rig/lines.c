// SPDX-License-Identifier: GPL-2.0
/*
 * Line coverage of the files tests/callers.tbl covers as a whole, on the
 * gcov rows of arches.tbl (configs/gcov.config; make lines).
 *
 * Only those files carry gcov's counters (scripts/kernel.sh), and the
 * kernel build leaves their notes (.gcno) in build/kernels/V/ROW/gcno/.
 * Before a guest goes, lines_collect() copies each file's counts out of
 * the guest (/sys/kernel/debug/gcov/<build path>/FILE.gcda, through
 * busybox base64) into the result's gcov/ directory, next to a copy of
 * the notes, so that a result can be judged again without its kernel.
 * The counts run from boot: what booting does to memory blocks counts.
 *
 * 'rig lines DIR' runs gcov (JSON on standard output) on every guest of
 * the run in DIR and adds the counts up per architecture:
 * DIR/lines.tsv, one row per file and architecture (lines gcov knows as
 * executable, lines run at least once, percent, guests), and
 * DIR/lines-functions.tsv, one row per function (its lines, those run,
 * and the line numbers of the ones no guest ran).
 */
#define _GNU_SOURCE	/* nftw */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rig.h"

#define GCOV_DEBUGFS	"/sys/kernel/debug/gcov"

/* The base64 text of busybox's applet back into bytes; -1 when it is not. */
static ssize_t base64_decode(const char *in, unsigned char *out)
{
	static const char set[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned int acc = 0;
	int bits = 0;
	ssize_t n = 0;

	for (; *in; in++) {
		const char *p;

		if (*in == '\n' || *in == '\r' || *in == '=')
			continue;
		p = strchr(set, *in);
		if (!p || !*p)
			return -1;
		acc = (acc << 6) | (unsigned int)(p - set);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (acc >> bits) & 0xff;
		}
	}
	return n;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out;
	size_t n;
	int rc = 0;

	if (!in)
		return -1;
	out = fopen(to, "wb");
	if (!out) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	fclose(in);
	if (fclose(out))
		rc = -1;
	return rc;
}

/* One file's counts (REL: "mm/memory_hotplug") out of the guest. */
static void collect_one(struct run *r, FILE *log, const char *notes, const char *rel,
			const char *found)
{
	char want[300], src[PATH_MAX], dst[PATH_MAX], reply[256] = "", *buf, *hit = NULL;
	unsigned char *bytes;
	ssize_t n;
	FILE *f;

	snprintf(want, sizeof(want), "/%s.gcda", rel);
	/* the build directory is in the guest's path: match the end */
	for (char *line = strtok((char *)found, "\n"); line; line = strtok(NULL, "\n")) {
		size_t l = strlen(line), w = strlen(want);

		if (l > w && !strcmp(line + l - w, want))
			hit = line;
	}
	if (!hit) {
		fprintf(log, "missing %s.gcda\n", rel);
		return;
	}
	if (agent_busybox(r->vm, "base64", hit, 60, &buf, reply, sizeof(reply))) {
		fprintf(log, "lost %s.gcda %s\n", rel, reply[0] ? reply : r->vm->err);
		return;
	}
	bytes = malloc(strlen(buf) + 1);
	if (!bytes)
		die("out of memory");
	n = base64_decode(buf, bytes);
	free(buf);
	snprintf(dst, sizeof(dst), "%s/gcov/%s.gcda", r->vm->dir, rel);
	*strrchr(dst, '/') = '\0';
	if (n <= 0 || mkdir_p(dst)) {
		fprintf(log, "bad %s.gcda\n", rel);
		free(bytes);
		return;
	}
	snprintf(dst, sizeof(dst), "%s/gcov/%s.gcda", r->vm->dir, rel);
	f = fopen(dst, "wb");
	if (!f || fwrite(bytes, 1, n, f) != (size_t)n || fclose(f)) {
		fprintf(log, "bad %s.gcda (cannot write)\n", rel);
		free(bytes);
		return;
	}
	free(bytes);
	snprintf(src, sizeof(src), "%s/%s.gcno", notes, rel);
	snprintf(dst, sizeof(dst), "%s/gcov/%s.gcno", r->vm->dir, rel);
	if (copy_file(src, dst))
		fprintf(log, "bad %s.gcno (cannot copy)\n", rel);
	else
		fprintf(log, "collected %s %zd\n", rel, n);
}

static const char *walk_root;
static char **walk_rel;
static int walk_n;

static int add_notes(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	size_t l = strlen(path);

	(void)st;
	(void)ftw;
	if (flag != FTW_F || l < 6 || strcmp(path + l - 5, ".gcno"))
		return 0;
	walk_rel = realloc(walk_rel, (walk_n + 1) * sizeof(*walk_rel));
	if (!walk_rel)
		die("out of memory");
	walk_rel[walk_n] = xstrdup(path + strlen(walk_root) + 1);
	walk_rel[walk_n][strlen(walk_rel[walk_n]) - 5] = '\0';
	walk_n++;
	return 0;
}

/*
 * Before the guest goes, on a kernel with notes beside its image (a gcov
 * row): each noted file's counts into the result's gcov/, and what
 * happened into gcov/lines.log.
 */
void lines_collect(struct run *r, const char *kernel)
{
	char notes[PATH_MAX], path[PATH_MAX], reply[256] = "", *found;
	FILE *log;
	int i;

	if (r->vm->dead)
		return;
	snprintf(notes, sizeof(notes), "%s", kernel);
	if (strrchr(notes, '/'))
		*strrchr(notes, '/') = '\0';
	strncat(notes, "/gcno", sizeof(notes) - strlen(notes) - 1);
	if (access(notes, R_OK))
		return;
	snprintf(path, sizeof(path), "%s/gcov", r->vm->dir);
	if (mkdir_p(path))
		return;
	strncat(path, "/lines.log", sizeof(path) - strlen(path) - 1);
	log = fopen(path, "w");
	if (!log)
		return;
	fprintf(log, "run %s/%s %s %s\n", r->vm->arch->name, r->sc->name, r->vm->arch->karch,
		r->vm->arch->cross[0] ? r->vm->arch->cross : "-");
	if (agent_busybox(r->vm, "find " GCOV_DEBUGFS " -name", "*.gcda", 60, &found, reply,
			  sizeof(reply))) {
		fprintf(log, "lost %s\n", reply[0] ? reply : r->vm->err);
		fclose(log);
		return;
	}
	walk_root = notes;
	walk_n = 0;
	walk_rel = NULL;
	nftw(notes, add_notes, 8, FTW_PHYS);
	for (i = 0; i < walk_n; i++) {
		char *copy = xstrdup(found);

		collect_one(r, log, notes, walk_rel[i], copy);
		free(copy);
		free(walk_rel[i]);
	}
	free(walk_rel);
	free(found);
	fclose(log);
}

/* The counts of one file on one architecture, over every guest. */
struct file_lines {
	char file[256], karch[16], cross[64];
	long *count;			/* by line number; -1: not executable */
	int nlines, guests;
	struct json_object *fns;	/* the first guest's functions */
};

static struct file_lines *tables;
static int ntables;

static struct file_lines *table_for(const char *file, const char *karch, const char *cross)
{
	for (int i = 0; i < ntables; i++)
		if (!strcmp(tables[i].file, file) && !strcmp(tables[i].karch, karch))
			return &tables[i];
	tables = realloc(tables, (ntables + 1) * sizeof(*tables));
	if (!tables)
		die("out of memory");
	memset(&tables[ntables], 0, sizeof(*tables));
	snprintf(tables[ntables].file, sizeof(tables->file), "%s", file);
	snprintf(tables[ntables].karch, sizeof(tables->karch), "%s", karch);
	snprintf(tables[ntables].cross, sizeof(tables->cross), "%s", cross);
	return &tables[ntables++];
}

/* gcov's JSON for DIR/REL.gcda (with its notes beside it); NULL on failure. */
static struct json_object *run_gcov(const char *cross, const char *dir, const char *rel,
				    char *why, size_t len)
{
	char tool[96], objdir[PATH_MAX], name[PATH_MAX], err[PATH_MAX], msg[300] = "";
	char *out = NULL;
	size_t size = 0;
	int pfd[2], status;
	struct json_object *j;
	FILE *mem, *in;
	pid_t pid;

	snprintf(tool, sizeof(tool), "%sgcov", cross);
	snprintf(objdir, sizeof(objdir), "%s/gcov/%s", dir, rel);
	*strrchr(objdir, '/') = '\0';
	snprintf(name, sizeof(name), "%s.c", strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel);
	/* gcov says what is wrong with the counts on stderr, and exits 0 */
	snprintf(err, sizeof(err), "%s/gcov/gcov.err", dir);
	if (pipe(pfd))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		if (!freopen(err, "w", stderr))
			_exit(126);
		execlp(tool, tool, "--json-format", "--stdout", "-o", objdir, name, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	mem = open_memstream(&out, &size);
	in = fdopen(pfd[0], "r");
	if (!mem || !in)
		die("out of memory");
	for (int c; (c = fgetc(in)) != EOF;)
		fputc(c, mem);
	fclose(in);
	fclose(mem);
	waitpid(pid, &status, 0);
	in = fopen(err, "r");
	if (in) {
		if (fgets(msg, sizeof(msg), in))
			msg[strcspn(msg, "\n")] = '\0';
		fclose(in);
	}
	if (msg[0]) {
		const char *what = strstr(msg, ".gcda:") ? strstr(msg, ".gcda:") + 6 : msg;

		snprintf(why, len, "%s on %s/gcov/%s.gcda: %s", tool, dir, rel, what);
		free(out);
		return NULL;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(why, len, "%s on %s/gcov/%s.gcda: %s", tool, dir, rel,
			 WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "not found" : "failed");
		free(out);
		return NULL;
	}
	j = json_tokener_parse(out);
	free(out);
	if (!j)
		snprintf(why, len, "%s on %s/gcov/%s.gcda: no JSON", tool, dir, rel);
	return j;
}

/* One guest's file into its table: the entry of REL.c, not its headers. */
static void add_guest(struct file_lines *t, struct json_object *j, const char *rel)
{
	struct json_object *files, *f, *lines, *l, *v;
	char want[300];
	size_t i, k, n;

	snprintf(want, sizeof(want), "%s.c", rel);
	if (!json_object_object_get_ex(j, "files", &files))
		return;
	n = json_object_array_length(files);
	for (i = 0; i < n; i++) {
		const char *name;
		size_t nl, w = strlen(want);

		f = json_object_array_get_idx(files, i);
		if (!json_object_object_get_ex(f, "file", &v))
			continue;
		name = json_object_get_string(v);
		nl = strlen(name);
		if (nl < w || strcmp(name + nl - w, want) || (nl > w && name[nl - w - 1] != '/'))
			continue;
		t->guests++;
		if (!t->fns && json_object_object_get_ex(f, "functions", &v))
			t->fns = json_object_get(v);
		if (!json_object_object_get_ex(f, "lines", &lines))
			return;
		for (k = 0; k < json_object_array_length(lines); k++) {
			struct json_object *ln, *cnt;
			int no;

			l = json_object_array_get_idx(lines, k);
			if (!json_object_object_get_ex(l, "line_number", &ln) ||
			    !json_object_object_get_ex(l, "count", &cnt))
				continue;
			no = json_object_get_int(ln);
			if (no <= 0 || no > 1000000)
				continue;
			if (no >= t->nlines) {
				t->count = realloc(t->count, (no + 1) * sizeof(*t->count));
				if (!t->count)
					die("out of memory");
				for (int m = t->nlines; m <= no; m++)
					t->count[m] = -1;
				t->nlines = no + 1;
			}
			if (t->count[no] < 0)
				t->count[no] = 0;
			t->count[no] += json_object_get_int64(cnt);
		}
		return;
	}
}

/* Each function's lines, those run, and the line numbers of the others. */
static void write_functions(FILE *out, const struct file_lines *t)
{
	size_t i, n = t->fns ? json_object_array_length(t->fns) : 0;

	for (i = 0; i < n; i++) {
		struct json_object *fn = json_object_array_get_idx(t->fns, i), *v;
		int start, end, lines = 0, run = 0, first = 1;
		const char *name;

		if (!json_object_object_get_ex(fn, "name", &v))
			continue;
		name = json_object_get_string(v);
		if (!json_object_object_get_ex(fn, "start_line", &v))
			continue;
		start = json_object_get_int(v);
		if (!json_object_object_get_ex(fn, "end_line", &v))
			continue;
		end = json_object_get_int(v);
		for (int l = start; l <= end && l < t->nlines; l++) {
			if (t->count[l] < 0)
				continue;
			lines++;
			run += t->count[l] > 0;
		}
		fprintf(out, "%s.c\t%s\t%s\t%d\t%d\t", t->file, t->karch, name, lines, run);
		for (int l = start; l <= end && l < t->nlines; l++) {
			if (t->count[l] != 0)
				continue;
			fprintf(out, "%s%d", first ? "" : ",", l);
			first = 0;
		}
		fprintf(out, "%s\n", first ? "-" : "");
	}
}

static int by_file(const void *a, const void *b)
{
	const struct file_lines *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c ? c : strcmp(x->karch, y->karch);
}

/* Every guest of the run in DIR; 0, or 1 with the reason in why. */
int lines_table(const char *dir, char *why, size_t len)
{
	char path[PATH_MAX], line[512], karch[16], cross[64], rel[300];
	struct dirent **ents;
	FILE *out, *fout;
	int n, i, guests = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		snprintf(why, len, "cannot read %s", dir);
		return 1;
	}
	why[0] = '\0';
	for (i = 0; i < n; i++) {
		FILE *log;

		snprintf(path, sizeof(path), "%s/%s/gcov/lines.log", dir, ents[i]->d_name);
		log = fopen(path, "r");
		if (!log) {
			free(ents[i]);
			continue;
		}
		karch[0] = '\0';
		cross[0] = '\0';
		while (fgets(line, sizeof(line), log)) {
			char w0[32], w1[300], w2[16] = "", w3[64] = "";
			struct json_object *j;

			if (sscanf(line, "%31s %299s %15s %63s", w0, w1, w2, w3) < 2)
				continue;
			if (!strcmp(w0, "run")) {
				snprintf(karch, sizeof(karch), "%s", w2);
				snprintf(cross, sizeof(cross), "%s", strcmp(w3, "-") ? w3 : "");
				guests++;
				continue;
			}
			if (strcmp(w0, "collected"))
				continue;
			snprintf(rel, sizeof(rel), "%s", w1);
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			j = run_gcov(cross, path, rel, why, len);
			if (!j)
				break;
			add_guest(table_for(rel, karch, cross), j, rel);
			json_object_put(j);
		}
		fclose(log);
		free(ents[i]);
		if (why[0]) {
			while (++i < n)
				free(ents[i]);
			break;
		}
	}
	free(ents);
	if (why[0])
		return 1;
	if (!ntables) {
		snprintf(why, len, "%s: no guest with gcov counts (%d guests of a gcov row)", dir,
			 guests);
		return 1;
	}
	qsort(tables, ntables, sizeof(*tables), by_file);
	out = fopen_in(dir, "lines.tsv", "w");
	fout = fopen_in(dir, "lines-functions.tsv", "w");
	if (!out || !fout) {
		snprintf(why, len, "cannot write %s/lines*.tsv", dir);
		if (out)
			fclose(out);
		if (fout)
			fclose(fout);
		return 1;
	}
	fprintf(out, "file\tarch\tlines\tran\tpercent\tguests\n");
	fprintf(fout, "file\tarch\tfunction\tlines\tran\tlines not run\n");
	for (i = 0; i < ntables; i++) {
		struct file_lines *t = &tables[i];
		long lines = 0, run = 0;

		for (int l = 0; l < t->nlines; l++) {
			lines += t->count[l] >= 0;
			run += t->count[l] > 0;
		}
		fprintf(out, "%s.c\t%s\t%ld\t%ld\t%.1f\t%d\n", t->file, t->karch, lines,
			run, lines ? 100.0 * run / lines : 0.0, t->guests);
		printf("lines: %s.c (%s): %ld of %ld lines ran (%.1f%%), %d guests\n", t->file,
		       t->karch, run, lines, lines ? 100.0 * run / lines : 0.0,
		       t->guests);
		write_functions(fout, t);
		free(t->count);
		json_object_put(t->fns);
	}
	fclose(out);
	fclose(fout);
	free(tables);
	tables = NULL;
	ntables = 0;
	return 0;
}

/* rig lines DIR */
int lines_main(int argc, char **argv)
{
	char why[600];

	if (argc != 2) {
		fprintf(stderr, "usage: rig lines RESULTS_DIR (a run on a gcov row)\n");
		return 2;
	}
	if (lines_table(argv[1], why, sizeof(why))) {
		fprintf(stderr, "rig lines: %s\n", why);
		return 1;
	}
	return 0;
}
