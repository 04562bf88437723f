#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Compare two rig runs scenario by scenario: status, duration and every
# counter, with the ratio B/A.  Runs are results directories (their
# tap.txt); use two runs from the same machine, one after the other.
#
#   scripts/compare.sh build/results/RUN-A build/results/RUN-B
set -euo pipefail

[ $# = 2 ] || { echo "usage: compare.sh RESULTS-A RESULTS-B" >&2; exit 2; }
for d in "$@"; do
	[ -f "$d/tap.txt" ] || { echo "compare: $d/tap.txt not found" >&2; exit 1; }
done

awk '
function ratio(a, b) { return a + 0 > 0 ? sprintf("%.2f", b / a) : "-" }
FNR == 1 { run++ }
/^(ok|not ok) / {
	name = $0
	sub(/^(ok|not ok) [0-9]+ - /, "", name)
	secs = name
	sub(/ \([0-9.]+ s\)$/, "", name)
	sub(/^.*\(/, "", secs)
	sub(/ s\)$/, "", secs)
	if (name ~ /^scanner\//)
		next
	# an expected failure (tests/fixed-by.tbl) keeps its name
	xfail = sub(/ # TODO .*$/, "", name)
	sub(/ # SKIP .*$/, "", name)
	cur = name
	if (!(name in names))
		order[++norder] = name
	names[name] = 1
	status[run, name] = /^ok/ ? "pass" : xfail ? "FAIL(exp)" : "FAIL"
	time[run, name] = secs
	next
}
/^# [a-z_]+=/ && cur != "" {
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[2] !~ /^[0-9]+$/)
			continue
		key = cur SUBSEP kv[1]
		if (!(key in keys))
			keylist[cur, ++nkeys[cur]] = kv[1]
		keys[key] = 1
		val[run, key] = kv[2]
	}
	cur = ""
}
END {
	printf "%-28s %-22s %10s %10s %7s\n", "scenario", "measure", "A", "B", "B/A"
	for (j = 1; j <= norder; j++) {
		s = order[j]
		printf "%-28s %-22s %10s %10s %7s\n", s, "status", status[1, s], status[2, s], ""
		printf "%-28s %-22s %10s %10s %7s\n", s, "seconds", time[1, s], time[2, s], \
			ratio(time[1, s], time[2, s])
		for (i = 1; i <= nkeys[s]; i++) {
			m = keylist[s, i]
			k = s SUBSEP m
			if (val[1, k] == 0 && val[2, k] == 0)
				continue
			printf "%-28s %-22s %10s %10s %7s\n", s, m, val[1, k], val[2, k], \
				ratio(val[1, k], val[2, k])
		}
	}
}' "$1/tap.txt" "$2/tap.txt"
