#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every prefix of the series must build, boot and pass the suite:
# 'make check' per prefix, prefix 0 being the base and the last one the
# series itself (run as variant main).  A result that tests/fixed-by.tbl
# ties to a patch the prefix lacks must fail there, and does not count.
# Goes on past a failing prefix, prints one row per prefix, and exits 1
# if any prefix failed.
#
# A full run takes longer than a working session, so each prefix's outcome
# is kept in docs/bisect.tsv, keyed by what the prefix is made of (the
# patches up to it and the configuration fragments).  A prefix whose key
# has a passing row there is not run again unless RERUN=1; a row whose key
# no longer matches is stale and shown as such.  The table printed at the
# end (and by --table) is the one the cover letter quotes.
#
#   scripts/bisect.sh [FIRST [LAST]]     prefixes FIRST..LAST (default all)
#   scripts/bisect.sh --table            the recorded rows, nothing run
# (run through make bisect and make bisect-table, which say which rows
# make check builds)
set -uo pipefail

tsv=docs/bisect.tsv
mapfile -t entries < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' patches/series | grep .)
n=${#entries[@]}

# What a prefix is made of: its patches and the configuration fragments
# of the rows make check builds (CHECK_ARCHES, from the Makefile).
key() {
	local h row frags=
	h=$(scripts/series.sh hash "prefix-$1") || exit 2
	for row in ${CHECK_ARCHES:?run as make bisect}; do
		frags="$frags $(scripts/kernel.sh --fragments "$row")" || exit 2
	done
	frags=$(echo $frags | tr ' ' '\n' | sort -u)
	# shellcheck disable=SC2086
	echo "$h-$(cat $frags | sha256sum | cut -c1-8)"
}

# The recorded row of prefix $1 (tab-separated), if any.
row() {
	[ -f "$tsv" ] && awk -F'\t' -v p="$1" '$1 == p' "$tsv"
}

record() { # prefix key secs summary expected
	local tmp=$tsv.tmp
	{
		printf '# prefix\ttop\tkey\trig\tdate\tseconds\tresults\texpected failures\n'
		[ -f "$tsv" ] && awk -F'\t' -v p="$1" '!/^#/ && $1 != p' "$tsv"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(top "$1")" "$2" \
			"$(git rev-parse --short HEAD)" "$(date -u +%F)" "$3" "$4" "$5"
	} | { read -r head; echo "$head"; sort -n; } >"$tmp"
	mv "$tmp" "$tsv"
}

# Expected failures of a log, "NAME (patch P)": the TAP lines
# 'not ok N - NAME # TODO fails until "SUBJECT" (T s)', SUBJECT a patch of
# the series.
expected() {
	local p i=0
	for p in "${entries[@]}"; do
		i=$((i + 1))
		awk -v i="$i" '/^Subject:/ { s = $0; while ((getline l) > 0 && l ~ /^ /) s = s l
			sub(/^Subject: (\[[^]]*\] )?/, "", s); print i "\t" s; exit }' "patches/$p"
	done >build/bisect/subjects
	sed -n 's/^not ok [0-9]* - \([^ ]*\) # TODO fails until "\(.*\)" ([0-9.]* s)$/\1\t\2/p' "$1" |
		awk -F'\t' 'NR == FNR { num[$2] = $1; next }
			{ print $1 " (patch " ($2 in num ? num[$2] : "?") ")" }' build/bisect/subjects - |
		sort -u | paste -sd, - | sed 's/,/, /g'
}

top() {
	if [ "$1" = 0 ]; then echo "the base"; else echo "${entries[$1 - 1]%%.patch}"; fi
}

table() {
	local i r k state
	printf '%-7s %-7s %-8s %-11s %s\n' prefix time rig date "results (expected failures)"
	for i in $(seq 0 "$n"); do
		r=$(row "$i")
		if [ -z "$r" ]; then
			printf '%-7s %s\n' "$i" "not run"
			continue
		fi
		k=$(key "$i")
		state=
		[ "$(cut -f3 <<<"$r")" = "$k" ] || state=" STALE: the prefix or the configs changed since"
		awk -F'\t' -v s="$state" '{ printf "%-7s %-7s %-8s %-11s %s%s%s\n", $1, $6 "s", $4, $5, $7,
			($8 == "" ? "" : " (" $8 ")"), s }' <<<"$r"
	done
}

if [ "${1:-}" = --table ]; then
	table
	exit 0
fi

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
bad=0
for i in $(seq "$first" "$last"); do
	variant=prefix-$i
	[ "$i" = "$n" ] && variant=main
	log=build/bisect/prefix-$i.log
	k=$(key "$i")
	r=$(row "$i")
	if [ "${RERUN:-0}" != 1 ] && [ -n "$r" ] && [ "$(cut -f3 <<<"$r")" = "$k" ] &&
	   [ "$(cut -f7 <<<"$r" | cut -c1-6)" != FAILED ]; then
		echo "bisect: prefix $i of $n: recorded in $tsv, not run again (RERUN=1 to run it)"
		continue
	fi
	echo "bisect: prefix $i of $n ($(top "$i")), log $log"
	start=$(date +%s)
	make --no-print-directory check VARIANT="$variant" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	expected=$(expected "$log")
	if [ "$rc" != 0 ]; then
		bad=1
		summary="FAILED (${summary:-no results; see the log})"
		grep -E '^not ok' "$log" | grep -v '# TODO' | sed 's/^/bisect:   /' | head -10
	fi
	record "$i" "$k" "$secs" "$summary" "$expected"
	echo "bisect: prefix $i: $summary"
done

table | sed 's/^/bisect: /'
[ "$bad" = 0 ] && echo "bisect: prefixes $first..$last passed" || echo "bisect: some prefixes FAILED"
exit "$bad"
