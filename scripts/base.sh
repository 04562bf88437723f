#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the pinned Debian kernel source and turn it into a git repository
# (build/src) whose root commit is tagged "base".  Prints the version used.
set -euo pipefail

pkg=linux-source-6.12
pin=6.12.117-1~deb12u1
src=build/src
note=build/base-version

installed() {
	dpkg-query -W -f='${Status} ${Version}\n' "$pkg" 2>/dev/null |
		awk '$3 == "installed" { print $4 }' || true
}

have=$(installed)
if [ "$have" != "$pin" ]; then
	echo "base: installing $pkg=$pin"
	if ! apt-get install -y -q --allow-downgrades --no-install-recommends "$pkg=$pin" >/dev/null; then
		echo "base: WARNING: $pkg $pin cannot be installed; using the available version" >&2
		apt-get install -y -q --no-install-recommends "$pkg" >/dev/null
	fi
	have=$(installed)
fi
[ -n "$have" ] || { echo "base: $pkg is not installed" >&2; exit 1; }

if [ -f "$note" ] && [ "$(cut -d" " -f1 "$note")" = "$have" ] && [ -d "$src/.git" ]; then
	exit 0
fi

echo "base: unpacking $pkg $have into $src"
rm -rf "$src" "$src.tmp"
mkdir -p "$src.tmp"
tar -xJf /usr/src/$pkg.tar.xz -C "$src.tmp" --strip-components=1
# Debian's packaging .gitignore ignores every top-level path ("/*"): new
# files of a patch would be silently left out of commits.  Drop that block.
sed -i -e '/^# Debian packaging: ignore everything at the top level/,/^!\/debian\/$/d' \
	"$src.tmp/.gitignore"
git -C "$src.tmp" init -q -b debian
git -C "$src.tmp" config core.autocrlf false
git -C "$src.tmp" config gc.auto 0
git -C "$src.tmp" config user.name "Memory Hotplug Rig"
git -C "$src.tmp" config user.email "rig@localhost"
echo "base: recording $pkg $have as the base commit"
git -C "$src.tmp" add -A -f .
git -C "$src.tmp" -c user.name=base -c user.email=base@localhost \
	commit -q -m "base: Debian $pkg $have"
git -C "$src.tmp" tag base
mv "$src.tmp" "$src"
if [ "$have" != "$pin" ]; then
	echo "$have (WANTED $pin)" >"$note"
else
	echo "$have" >"$note"
fi
