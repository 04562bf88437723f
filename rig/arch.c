// SPDX-License-Identifier: GPL-2.0
/* arches.tbl: everything that differs between target architectures. */
#include <string.h>

#include "rig.h"

static void field(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", strcmp(src, "-") ? src : "");
}

int arch_load(const char *table, const char *name, struct arch *out)
{
	char line[1024], f[10][128];
	FILE *fp;
	int n;

	fp = fopen(table, "r");
	if (!fp)
		die("cannot open %s", table);
	while (fgets(line, sizeof(line), fp)) {
		if (line[0] == '#')
			continue;
		n = sscanf(line, "%127s %127s %127s %127s %127s %127s %127s %127s %127s %127s",
			   f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]);
		if (n <= 0 || strcmp(f[0], name))
			continue;
		if (n != 10)
			die("%s: row '%s' has %d fields, want 10", table, name, n);
		if (strcmp(f[9], "break") && strcmp(f[9], "ctrl-o"))
			die("%s: row '%s': sysrq '%s' is not break or ctrl-o", table, name, f[9]);
		field(out->name, sizeof(out->name), f[0]);
		field(out->karch, sizeof(out->karch), f[1]);
		field(out->cross, sizeof(out->cross), f[2]);
		field(out->image, sizeof(out->image), f[3]);
		field(out->qemu, sizeof(out->qemu), f[4]);
		field(out->cpu, sizeof(out->cpu), f[5]);
		field(out->machine, sizeof(out->machine), f[6]);
		field(out->console, sizeof(out->console), f[7]);
		field(out->accel, sizeof(out->accel), f[8]);
		field(out->sysrq, sizeof(out->sysrq), f[9]);
		fclose(fp);
		return 0;
	}
	fclose(fp);
	return -1;
}
