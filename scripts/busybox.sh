#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest shell of make shell: Debian's busybox-static for the row's
# architecture (arches.tbl debarch), unpacked into build/busybox/DEBARCH/.
# A foreign architecture is added to dpkg for the download only; nothing
# of it is installed.
set -euo pipefail

row=${1:?arch row}
debarch=$(build/bin/rig arch "$row" debarch) || exit 1
out=build/busybox/$debarch
[ -x "$out/bin/busybox" ] && exit 0

die() { echo "busybox: $row: $*" >&2; exit 1; }

# apt-get update, tried three times: a mirror in the middle of a sync
# serves an index of the wrong size for a minute ("Mirror sync in
# progress?"), and one bad index fails the update although the package
# lists the download needs may well have arrived.
update() {
	local i
	for i in 1 2 3; do
		apt-get update -q >/dev/null && return 0
		echo "busybox: $row: apt-get update failed (try $i of 3)" >&2
		sleep $((i * 10))
	done
	return 1
}

# (apt warns that root downloads unsandboxed into a root-owned directory)
download() {
	(cd build/debs && apt-get download -q "busybox-static:$debarch" 2>&1 >/dev/null |
		grep -v 'unsandboxed' >&2; exit "${PIPESTATUS[0]}")
}

host=$(dpkg --print-architecture)
if [ "$debarch" != "$host" ] && ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
	[ "$(id -u)" = 0 ] || die "need root to add the $debarch architecture to dpkg"
	echo "busybox: adding the $debarch architecture to dpkg (package lists only)"
	dpkg --add-architecture "$debarch"
	update || echo "busybox: $row: going on with the package lists apt has" >&2
fi
mkdir -p build/debs "$out/bin"
if ! download; then
	# lists missing or stale (an earlier update failed): update, then again
	[ "$(id -u)" = 0 ] || die "cannot download busybox-static:$debarch (apt-get update needs root)"
	update || die "cannot download busybox-static:$debarch, and apt-get update fails"
	download || die "cannot download busybox-static:$debarch"
fi
deb=$(ls build/debs/busybox-static_*_"$debarch".deb | tail -1)
dpkg -x "$deb" "$out.tmp"
mv "$out.tmp/bin/busybox" "$out/bin/busybox"
rm -rf "$out.tmp"
echo "busybox: $out/bin/busybox ($(basename "$deb"))"
