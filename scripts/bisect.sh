#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every prefix of the series must build, boot and pass the suite:
# 'make check' per prefix, prefix 0 being the base and the last one the
# series itself (run as variant main).  A result that tests/fixed-by.tbl
# ties to a patch the prefix lacks must fail there, and does not count.
# Goes on past a failing prefix, prints one row per prefix, and exits 1
# if any prefix failed.
#
#   scripts/bisect.sh [FIRST [LAST]]     prefixes FIRST..LAST (default all)
set -uo pipefail

mapfile -t entries < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' patches/series | grep .)
n=${#entries[@]}
first=${1:-0}
last=${2:-$n}
case "$first$last" in
*[!0-9]*) echo "bisect: FIRST and LAST are prefix numbers, 0..$n" >&2; exit 2 ;;
esac
if [ "$first" -gt "$last" ] || [ "$last" -gt "$n" ]; then
	echo "bisect: want 0 <= FIRST <= LAST <= $n, got $first $last" >&2
	exit 2
fi

mkdir -p build/bisect
rows=()
bad=0
for i in $(seq "$first" "$last"); do
	variant=prefix-$i
	[ "$i" = "$n" ] && variant=main
	log=build/bisect/prefix-$i.log
	top="the base"
	[ "$i" = 0 ] || top=${entries[i - 1]}
	echo "bisect: prefix $i of $n ($top), log $log"
	start=$(date +%s)
	make --no-print-directory check VARIANT="$variant" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ "$rc" != 0 ]; then
		bad=1
		summary="FAILED (${summary:-no results; see the log})"
		grep -E '^not ok' "$log" | grep -v '# TODO' | sed 's/^/bisect:   /' | head -10
	fi
	rows+=("$(printf '%-7s %-6s %s' "$i" "${secs}s" "$summary")")
	echo "bisect: prefix $i: $summary"
done

echo "bisect: prefix  time   results"
for r in "${rows[@]}"; do
	echo "bisect: $r"
done
[ "$bad" = 0 ] && echo "bisect: prefixes $first..$last passed" || echo "bisect: some prefixes FAILED"
exit "$bad"
