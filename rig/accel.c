// SPDX-License-Identifier: GPL-2.0
/* Which accelerator a guest of this architecture gets here. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "rig.h"

/*
 * KVM is used only where it demonstrably boots a guest: /dev/kvm can exist
 * on a host whose CPU cannot run one.  The answer is kept in
 * build/accel-ARCH as "kvm HOST" or "tcg HOST" (then the TCG options of
 * arches.tbl apply), HOST being the machine that was probed: a build
 * directory moved to another machine probes again.  RIG_ACCEL in the
 * environment overrides everything.
 */
void choose_accel(const struct opts *o, struct arch *arch)
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

