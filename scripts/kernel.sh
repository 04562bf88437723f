#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the kernel for one architecture and one variant of the series:
# tinyconfig + configs/*.config fragments (merge_config.sh), verified;
# out-of-tree build with ccache; symbol check.  The image, System.map and
# .config land in build/kernels/VARIANT/ARCH/.  Nothing is rebuilt when no
# input (base, series, fragment options, compiler columns of the arch row)
# changed.
#
#   kernel.sh ARCH [VARIANT]      build
#   kernel.sh --fragments ARCH    the row's configuration fragments, in order
set -euo pipefail
# Our own make's ARCH= (x86_64, ppc64le) is not the kernel's ARCH=.
unset MAKEFLAGS MFLAGS MAKELEVEL

fragments_only=
if [ "${1:-}" = --fragments ]; then
	fragments_only=1
	shift
fi
arch=${1:?arch}
variant=${2:-main}
src=build/src
obj=build/obj/$arch
# KSRC=/path/to/linux: that tree as it is (variant "own"), no series
if [ -n "${KSRC:-}" ]; then
	variant=own
	src=$(cd "$KSRC" 2>/dev/null && pwd) || { echo "kernel: KSRC=$KSRC: no such directory" >&2; exit 1; }
	obj=build/obj-own/$arch
fi
out=build/kernels/$variant/$arch

die() { echo "kernel: $arch: $*" >&2; exit 1; }

rig=build/bin/rig
[ -x "$rig" ] || die "no $rig (run 'make rig')"
karch=$($rig arch "$arch" karch) || exit 1
cross=$($rig arch "$arch" cross)
image=$($rig arch "$arch" image)

fragments="configs/base.config configs/lockdep.config configs/mm.config"
for f in $($rig arch "$arch" config | tr , ' '); do
	[ -f "configs/$f.config" ] || die "arches.tbl names configs/$f.config, which does not exist"
	fragments="$fragments configs/$f.config"
done
fragments="$fragments configs/series.config"
if [ -n "$fragments_only" ]; then
	echo "$fragments"
	exit 0
fi
if [ -n "${KCONFIG:-}" ]; then
	[ -f "$KCONFIG" ] || die "KCONFIG=$KCONFIG: no such file"
	fragments="$fragments $KCONFIG"
fi
[ -n "$cross" ] && ! command -v "${cross}gcc" >/dev/null && die "${cross}gcc not found (run 'make deps')"

# One build at a time: the tree is checked out per variant.
mkdir -p build
exec 9>build/.kernel.lock
if ! flock -n 9; then
	echo "kernel: waiting for another kernel build to finish"
	flock 9
fi
# series.sh, which checks build/src out, takes the same lock unless told
# that its caller holds it
export RIG_SRC_LOCKED=1

if [ -n "${KSRC:-}" ]; then
	[ -f "$src/Makefile" ] && [ -f "$src/mm/memory_hotplug.c" ] ||
		die "KSRC=$src is not a Linux tree with memory hotplug (no mm/memory_hotplug.c)"
	# the tree's state: its commit and uncommitted changes, else file times
	tree_state() {
		if git -C "$src" rev-parse HEAD >/dev/null 2>&1; then
			git -C "$src" rev-parse HEAD
			git -C "$src" diff HEAD | sha256sum
		else
			find "$src" -name '*.[chS]' -newer "$src/Makefile" -printf '%p %T@\n' | sort | sha256sum
		fi
	}
	stamp=$(git -C "$src" log -1 --format=%cd 2>/dev/null || echo "Thu Jan 1 00:00:00 1970")
else
	scripts/series.sh apply "$variant"
	# the content, not the commit: a fresh clone makes other commit ids
	tree_state() { git -C "$src" rev-parse 'HEAD^{tree}'; }
	stamp=$(git -C "$src" log -1 --format=%cd base)
fi

# A gcov row (configs/gcov.config): the files that tests/callers.tbl
# covers as a whole get gcov's counters, and only they.  Kbuild names the
# switch by the file's name alone (GCOV_PROFILE_memory.o would also count
# arch/x86/boot/memory.o, which cannot link with gcov), so the value is
# left for make to expand in each directory: "y" only in the file's own.
gcov_files=
gcov_vars=()
if grep -qx 'CONFIG_GCOV_KERNEL=y' $fragments; then
	gcov_files=$(sed -n 's/^file:\([^[:space:]|]*\).*/\1/p' tests/callers.tbl)
	[ -n "$gcov_files" ] || die "gcov: tests/callers.tbl has no file: rows to count"
	for f in $gcov_files; do
		b=${f##*/}
		gcov_vars+=("GCOV_PROFILE_${b%.c}.o=\$(if \$(filter ${f%/*},\$(obj)),y)")
	done
fi

# Only what reaches the image counts: comments in the fragments and the
# QEMU columns of the arch row do not.
state=$(tree_state)
inputs=$( { echo "$state"
	    awk '/^# CONFIG_/ || (!/^#/ && NF)' $fragments configs/symbols.tbl
	    echo "$karch $cross $image"
	    [ -z "$gcov_files" ] || echo "gcov" $gcov_files; } | sha256sum | cut -c1-16)
if [ -f "$out/inputs" ] && [ "$(cat "$out/inputs")" = "$inputs" ] && [ -f "$out/image" ]; then
	echo "kernel: $arch/$variant is up to date"
	exit 0
fi

# Built kernels by their inputs (with the compiler), in $HOME like ccache:
# another clone with the same tree, fragments and arch row reuses them.
kcache=${RIG_KERNEL_CACHE:-$HOME/.cache/rig-kernels}/$(
	{ echo "$inputs"; "${cross}gcc" --version | head -1; } | sha256sum | cut -c1-16)
series_txt() {
	git -C "$src" log --oneline base..HEAD >"$out/series.txt"
}
if [ -z "${KSRC:-}" ] && [ -f "$kcache/complete" ]; then
	mkdir -p "$out"
	rm -rf "$out/vmlinux" "$out/gcno"
	cp -pr "$kcache/." "$out/"
	rm -f "$out/complete"
	series_txt
	echo "$inputs" >"$out/inputs"
	echo "kernel: $arch/$variant: from the kernel cache ($kcache)"
	exit 0
fi

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=/
export CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=include_file_mtime,include_file_ctime,time_macros
export CCACHE_MAXSIZE=10G
export KBUILD_BUILD_TIMESTAMP="$stamp"
export KBUILD_BUILD_USER=rig KBUILD_BUILD_HOST=rig

kmake() {
	make -C "$src" O="$PWD/$obj" ARCH="$karch" CROSS_COMPILE="$cross" \
		CC="ccache ${cross}gcc" HOSTCC="ccache gcc" "$@"
}

mkdir -p "$obj" "$out"
echo "kernel: $arch/$variant: configuring (tinyconfig + ${fragments//configs\//})"
kmake -s tinyconfig >/dev/null
"$src"/scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" $fragments >/dev/null
kmake -s olddefconfig >/dev/null

# merge_config.sh silently drops options whose dependencies are unmet.  A
# later fragment may override an earlier one (the radix fragment turns on
# what ppc64le.config turns off): the last setting of a symbol counts.
dropped=$(cat $fragments | awk -v cfg="$obj/.config" '
	BEGIN { while ((getline l < cfg) > 0) have[l] = 1 }
	/^CONFIG_/ { sym = $0; sub(/=.*/, "", sym); want[sym] = $0; if (!(sym in seen)) order[n++] = sym; seen[sym] = 1 }
	/^# CONFIG_.* is not set/ { sym = $2; want[sym] = $0; if (!(sym in seen)) order[n++] = sym; seen[sym] = 1 }
	END {
		for (i = 0; i < n; i++) {
			sym = order[i]; w = want[sym]
			if (w ~ /^CONFIG_/) { if (!(w in have)) print "  " w }
			else if ((sym "=y") in have || (sym "=m") in have) print "  " w
		}
	}')
# Options of configs/series.config that this variant's tree does not define
# are expected to be missing.
for opt in $(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=.*/\1/p' configs/series.config); do
	if ! grep -rqx --include='Kconfig*' "config ${opt#CONFIG_}" "$src"; then
		echo "kernel: $arch/$variant: $opt is not in this tree (added by the series)"
		dropped=$(echo "$dropped" | grep -v "^  $opt=" || true)
	fi
done
[ -z "$dropped" ] || die "the merged configuration lost requested options:
$dropped"

log=$obj/build.log
echo "kernel: $arch/$variant: building (log: $log)"
start=$(date +%s)
touch "$obj/.build-start"
kmake -j"$(nproc)" "${gcov_vars[@]}" all >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
while kill -0 $pid 2>/dev/null; do
	for _ in 1 2 3 4 5 6; do
		sleep 5
		kill -0 $pid 2>/dev/null || break
	done
	kill -0 $pid 2>/dev/null || break
	echo "kernel: $arch/$variant: $(find "$obj" -name '*.o' -newer "$obj/.build-start" | wc -l) objects compiled, $(( $(date +%s) - start )) s"
done
rc=0
wait $pid || rc=$?
trap - EXIT
if [ "$rc" != 0 ]; then
	grep -E 'error|Error' "$log" | head -20 >&2
	tail -20 "$log" >&2
	die "build failed (full log: $log)"
fi
# A tree checked out to another commit during the build (by anything
# that does not take the lock) gives an image of neither: never keep or
# cache it.
if [ "$(tree_state)" != "$state" ]; then
	rm -f "$obj/$image"
	die "the source tree $src changed during the build; nothing kept (build again)"
fi

missing=$(awk -v a="$arch" '!/^#/ && NF && ($1 == "*" || $1 == a) { print $2 }' configs/symbols.tbl |
	while read -r sym; do
		case $sym in
		*:*)	"${cross}nm" "$obj/${sym%%:*}" 2>/dev/null | grep -c " ${sym#*:}\$" >/dev/null ;;
		*)	grep -q " $sym\$" "$obj/System.map" ;;
		esac || echo "  $sym"
	done)
[ -z "$missing" ] || die "the kernel lacks code paths this project tests (not in System.map):
$missing"

cp "$obj/$image" "$out/image"
cp "$obj/System.map" "$obj/.config" "$out/"
# With debug info (the KCSAN rows), vmlinux too: make races gives the
# file:line of both accesses of a data race (scripts/faddr2line).
rm -f "$out/vmlinux"
if grep -q '^CONFIG_DEBUG_INFO=y' "$obj/.config"; then
	cp "$obj/vmlinux" "$out/vmlinux"
fi
cp "$obj/usr/gen_init_cpio" "$out/" 2>/dev/null || true
# a gcov row: the notes gcov reads next to each guest's counts (rig lines)
rm -rf "$out/gcno"
for f in $gcov_files; do
	[ -f "$obj/${f%.c}.gcno" ] || die "gcov: no $obj/${f%.c}.gcno ($f not compiled with counters)"
	mkdir -p "$out/gcno/${f%/*}"
	cp "$obj/${f%.c}.gcno" "$out/gcno/${f%.c}.gcno"
done
if [ -n "${KSRC:-}" ]; then
	# an own tree is judged as complete: every result must pass, none is
	# excused by tests/fixed-by.tbl as lacking a patch of the series
	for p in $(sed -e 's/#.*//' patches/series); do
		awk '/^Subject:/ { s = $0; while ((getline l) > 0 && l ~ /^[ \t]/) s = s l; print s; exit }' \
			"patches/$p" | sed -e 's/^Subject: *\(\[[^]]*\] *\)*//' -e 's/^/own /'
	done >"$out/series.txt"
	echo "$src $(git -C "$src" describe --always --dirty 2>/dev/null || echo '(not git)')" >"$out/tree"
else
	series_txt
fi
# what this configuration compiled, for the series' build coverage
ar t "$obj/vmlinux.a" | sed -e "s|^$PWD/||" -e "s|^$obj/||" >"$out/objects.txt"
# every function with the file that defines it: the function coverage of
# the files tests/callers.tbl names (rig/callers.c)
# (nm names the members of the thin archive by their path from here)
"${cross}nm" -A --defined-only "$obj/vmlinux.a" 2>/dev/null |
	awk -F: -v obj="$obj/" -v pwd="$PWD/" '{ split($3, s, " ") }
		s[2] ~ /^[tTwW]$/ && s[3] !~ /^(__pfx_|__cfi_|__SCT__)/ {
			f = $2; sub("^" pwd, "", f); if (index(f, obj) == 1) f = substr(f, length(obj) + 1)
			sub(/\.o$/, ".c", f); print f, s[3] }' >"$out/functions.txt"
echo "$inputs" >"$out/inputs"
if [ -z "${KSRC:-}" ]; then
	# keep the 48 most recent kernels (every prefix of the series on both
	# architectures fits: make bisect)
	rm -rf "$kcache.tmp"
	mkdir -p "$kcache.tmp"
	for f in image System.map .config vmlinux gen_init_cpio objects.txt functions.txt; do
		[ -f "$out/$f" ] && cp -p "$out/$f" "$kcache.tmp/"
	done
	[ -d "$out/gcno" ] && cp -pr "$out/gcno" "$kcache.tmp/"
	touch "$kcache.tmp/complete"
	rm -rf "$kcache"
	mv "$kcache.tmp" "$kcache"
	ls -1dt "${kcache%/*}"/*/ 2>/dev/null | tail -n +49 | xargs -r rm -rf
fi
echo "kernel: $arch/$variant: built in $(( $(date +%s) - start )) s"
