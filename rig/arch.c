// SPDX-License-Identifier: GPL-2.0
/*
 * arches.tbl: everything that differs between target architectures, one
 * row per target.  This is the table's only reader: the Makefile and the
 * scripts ask "rig arch NAME COLUMN".
 */
#include <stddef.h>
#include <string.h>

#include "rig.h"

static const struct arch shape;

static const struct {
	const char *name;
	size_t off, len;
} columns[] = {
#define OFF(f) offsetof(struct arch, f)
#define LEN(f) sizeof(shape.f)
	{ "name", OFF(name), LEN(name) },
	{ "karch", OFF(karch), LEN(karch) },
	{ "cross", OFF(cross), LEN(cross) },
	{ "image", OFF(image), LEN(image) },
	{ "qemu", OFF(qemu), LEN(qemu) },
	{ "cpu", OFF(cpu), LEN(cpu) },
	{ "machine", OFF(machine), LEN(machine) },
	{ "console", OFF(console), LEN(console) },
	{ "accel", OFF(accel), LEN(accel) },
	{ "sysrq", OFF(sysrq), LEN(sysrq) },
	{ "config", OFF(config), LEN(config) },
	{ "debarch", OFF(debarch), LEN(debarch) },
	{ "scenarios", OFF(scenarios), LEN(scenarios) },
	{ "retaddr", OFF(retaddr), LEN(retaddr) },
#undef OFF
#undef LEN
};

#define NCOLUMNS ARRAY_SIZE(columns)

/* One row as it is written; -1 when the table has no row NAME. */
static int read_row(const char *table, const char *name, struct arch *out)
{
	char line[1024], *f[NCOLUMNS + 1], *save, *tok;
	size_t n;
	FILE *fp;

	fp = fopen(table, "r");
	if (!fp)
		die("cannot open %s", table);
	while (fgets(line, sizeof(line), fp)) {
		if (line[0] == '#')
			continue;
		n = 0;
		for (tok = strtok_r(line, " \t\n", &save); tok && n <= NCOLUMNS;
		     tok = strtok_r(NULL, " \t\n", &save))
			f[n++] = tok;
		if (!n || strcmp(f[0], name))
			continue;
		if (n != NCOLUMNS)
			die("%s: row '%s' has %s%zu fields, want %zu", table, name,
			    n > NCOLUMNS ? "more than " : "", n, NCOLUMNS);
		if (strcmp(f[9], "break") && strcmp(f[9], "ctrl-o"))
			die("%s: row '%s': sysrq '%s' is not break or ctrl-o", table, name, f[9]);
		for (n = 0; n < NCOLUMNS; n++) {
			char *dst = (char *)out + columns[n].off;

			if (strlen(f[n]) >= columns[n].len)
				die("%s: row '%s': %s '%s' is too long", table, name,
				    columns[n].name, f[n]);
			snprintf(dst, columns[n].len, "%s", strcmp(f[n], "-") ? f[n] : "");
		}
		fclose(fp);
		return 0;
	}
	fclose(fp);
	return -1;
}

/* Row NAME; the row its scenarios column names must run scenarios of its own. */
int arch_load(const char *table, const char *name, struct arch *out)
{
	struct arch of;

	if (read_row(table, name, out))
		return -1;
	if (out->scenarios[0] && (read_row(table, out->scenarios, &of) || of.scenarios[0]))
		die("%s: row '%s': scenarios '%s' is not a row that runs its own", table, name,
		    out->scenarios);
	return 0;
}

/* "rig arch NAME COLUMN": one column of one row, "-" printed as nothing. */
int arch_print(const char *table, const char *name, const char *column)
{
	struct arch a;
	size_t i;

	if (arch_load(table, name, &a)) {
		fprintf(stderr, "rig: unknown architecture '%s' (see %s)\n", name, table);
		return 1;
	}
	for (i = 0; i < NCOLUMNS; i++) {
		if (!strcmp(columns[i].name, column)) {
			printf("%s\n", (char *)&a + columns[i].off);
			return 0;
		}
	}
	fprintf(stderr, "rig: %s has no column '%s' (columns:", table, column);
	for (i = 0; i < NCOLUMNS; i++)
		fprintf(stderr, " %s", columns[i].name);
	fprintf(stderr, ")\n");
	return 1;
}
