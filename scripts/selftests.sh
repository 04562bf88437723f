#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the series' kselftests for one architecture, static, into
# build/selftests/ARCH/: tools/testing/selftests/memory-hotplug of the base
# with every patch of patches/series that touches it, built by its own
# Makefile (lib.mk).  They come from the full series whatever variant is
# booted: a series prefix, the base and the negative controls are all
# judged by the same tests.
set -euo pipefail
unset MAKEFLAGS MFLAGS MAKELEVEL ARCH

arch=${1:?arch}
src=build/src
out=build/selftests/$arch
dir=tools/testing/selftests/memory-hotplug

die() { echo "selftests: $arch: $*" >&2; exit 1; }

[ -x build/bin/rig ] || die "no build/bin/rig (run 'make rig')"
cross=$(build/bin/rig arch "$arch" cross) || exit 1
karch=$(build/bin/rig arch "$arch" karch) || exit 1
git -C "$src" rev-parse -q --verify base >/dev/null || die "no kernel tree (run 'make base')"

patches=()
for p in $(sed -e 's/#.*//' patches/series); do
	grep -q "^+++ b/tools/testing/selftests/" "patches/$p" && patches+=("patches/$p")
done
inputs=$( { git -C "$src" rev-parse base; echo "$karch $cross"; cat scripts/selftests.sh; \
	    [ ${#patches[@]} -gt 0 ] && cat "${patches[@]}"; } | sha256sum | cut -c1-16)
if [ -f "$out/.inputs" ] && [ "$(cat "$out/.inputs")" = "$inputs" ]; then
	exit 0
fi
# Rows of the same architecture (x86_64 and x86_64-kasan) get the same
# programs: copy them from a row that has them.
for other in build/selftests/*/; do
	other=${other%/}
	[ "$other" != "$out" ] && [ -f "$other/.inputs" ] &&
		[ "$(cat "$other/.inputs")" = "$inputs" ] || continue
	rm -rf "$out"
	cp -a "$other" "$out"
	echo "selftests: $arch: the same as ${other##*/}"
	exit 0
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$src" archive base tools/testing/selftests/lib.mk \
	tools/testing/selftests/kselftest.h tools/testing/selftests/kselftest_harness.h \
	"$dir" | tar -x -C "$tmp"
for p in "${patches[@]}"; do
	(cd "$tmp" && git apply --include='tools/testing/selftests/*' "$OLDPWD/$p") ||
		die "$p does not apply to $dir"
done
rm -rf "$out"
mkdir -p "$out"
# The tests include the kernel's uapi headers (KHDR_INCLUDES, as lib.mk
# expects them: "make headers" leaves them in usr/include of the build).
make -s -C "$src" O="$tmp/hdr" ARCH="$karch" headers >"$tmp/build.log" 2>&1 ||
	{ cat "$tmp/build.log" >&2; die "make headers failed"; }
echo "selftests: $arch: building $dir (${#patches[@]} patch(es) of the series)"
make -s -C "$tmp/$dir" CROSS_COMPILE="$cross" OUTPUT="$PWD/$out" LDFLAGS=-static \
	KHDR_INCLUDES="-isystem $tmp/hdr/usr/include" \
	>"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; die "build failed"; }
# the directory's shell tests (TEST_PROGS), unmodified: the shell_test step
for t in $(sed -n 's/^TEST_PROGS *:= *//p' "$tmp/$dir/Makefile"); do
	install -m 0755 "$tmp/$dir/$t" "$out/$t"
done
[ -n "$(find "$out" -maxdepth 1 -type f -perm -u+x)" ] || die "no program was built"
echo "$inputs" >"$out/.inputs"
