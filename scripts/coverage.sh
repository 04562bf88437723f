#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Which kernel configuration compiled each C file the series touches (for
# the kselftests: which architecture built the program, scripts/selftests.sh).
# Fails when a touched C file was compiled by none of them, unless
# COVERAGE_PARTIAL=1 says that only some architectures were built.
#
#   coverage.sh VARIANT ARCH...
set -euo pipefail

variant=${1:?variant}
shift
src=build/src
branch=main
[ "$variant" = main ] || branch="variant/$variant"
# an own tree (KSRC=) has no series to cover
if [ "$variant" = own ]; then
	echo "coverage: own tree (KSRC): no series applied, nothing to cover"
	exit 0
fi

uncovered=0
for f in $(git -C "$src" diff --name-only base "$branch" -- '*.c'); do
	by=""
	for arch in "$@"; do
		case $f in
		tools/testing/selftests/*)
			# built by scripts/selftests.sh, one program per file
			prog=${f##*/}
			[ -x "build/selftests/$arch/${prog%.c}" ] && by="$by $arch"
			;;
		*)
			grep -qx "${f%.c}.o" "build/kernels/$variant/$arch/objects.txt" \
				2>/dev/null && by="$by $arch"
			;;
		esac
	done
	if [ -n "$by" ]; then
		echo "coverage: $f:$by"
	else
		echo "coverage: $f: NOT COMPILED by any configuration built ($*)" >&2
		uncovered=$((uncovered + 1))
	fi
done
[ "$uncovered" = 0 ] && exit 0
if [ "${COVERAGE_PARTIAL:-0}" = 1 ]; then
	echo "coverage: $uncovered touched file(s) not compiled by the architectures built" >&2
	exit 0
fi
echo "coverage: $uncovered touched file(s) not compiled" >&2
exit 1
