#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Data races, judged against the base (make races).  On each KCSAN row of
# arches.tbl, the scenarios whose races_on names that row run on the base
# (prefix 0) and on the series, RUNS rounds of both, alternating so that
# the machine's drift hits both.  Every KCSAN title ("KCSAN: data-race in
# A / B") is then, per row and scenario:
#
#   series only  a race the series may have opened: fails, unless
#                tests/known-issues.tbl lists it (seen on the base before);
#   both         pre-existing: must be a row of tests/known-issues.tbl,
#                with why it is benign or not this work's, else fails;
#   base only    listed; fails too when it is not in the table.
#
# A run that fails for anything but a data race (a step, another report)
# fails.  The positive control (a scenario running KCSAN's own KUnit
# suite) is judged by its cases; its reports are counted, not judged.
# Writes build/races/summary.md; docs/races.md is its latest copy.
#
# --recheck judges the last run again without building or booting
# anything: after a row of tests/known-issues.tbl was added, or the
# scanner or the judging changed.  While the run's consoles are there
# (build/races/*.log name their results directories) it scans them again,
# as rcutorture's kvm-recheck does; else it judges the titles, frames and
# failures the run kept in build/races.  RACES_OUT
# names another directory of a run, RACES_KERNELS where its kernels are
# (for file:line); make check rechecks tests/races/run that way.
#
#   scripts/races.sh [RUNS [ROW...]]
#   scripts/races.sh --recheck
set -uo pipefail

rig=build/bin/rig
out=${RACES_OUT:-build/races}

die() { echo "races: $*" >&2; exit 2; }

recheck=0
if [ "${1:-}" = --recheck ]; then
	[ $# -eq 1 ] || die "--recheck takes no other argument: it judges the rows of the last run"
	[ -s "$out/runs" ] && [ -s "$out/rows" ] || die "no earlier run in $out to recheck (run 'make races' first)"
	recheck=1
	runs=$(cat "$out/runs")
	mapfile -t rows <"$out/rows"
	set -- "${rows[@]}"
else
	runs=${1:-1}
	shift || true
fi

case $runs in
'' | *[!0-9]* | 0) die "RUNS is a number of rounds (1 or more), got '$runs'" ;;
esac
[ -x "$rig" ] || die "no $rig (run 'make rig')"

# Scenario files whose KEY line names ROW.
names_row() { # key row
	grep -l -E "^$1 *=.*(^| )$2( |\$)" scenarios/*.scn 2>/dev/null
}

if [ $# -eq 0 ]; then
	for row in $(awk '!/^#/ && NF { print $1 }' arches.tbl); do
		case ",$($rig arch "$row" config)," in
		*,kcsan,*) [ -n "$(names_row races_on "$row")" ] && set -- "$@" "$row" ;;
		esac
	done
	[ $# -gt 0 ] || die "no scenario's races_on names a KCSAN row of arches.tbl"
fi
for row in "$@"; do
	$rig arch "$row" config >/dev/null || exit 2
	case ",$($rig arch "$row" config)," in
	*,kcsan,*) ;;
	*) die "row '$row' is not a KCSAN row (its config column has no kcsan)" ;;
	esac
done

# The first frame of each access of every KCSAN report in a console log,
# as "title<TAB>frame<TAB>frame".
frames() { # console.log
	awk '
		{ sub(/\r$/, "") }
		/BUG: KCSAN: / {
			t = $0; sub(/.*BUG: /, "", t); gsub(/\+0x[0-9a-f]+\/0x[0-9a-f]+/, "", t)
			n = 0; want = 0; unknown = 0; next
		}
		t != "" && /race at unknown origin/ { want = 1; unknown = 1; next }
		t != "" && / (read|write)( \(marked\))? to .* by / { want = 1; next }
		t != "" && want && /[A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+\/0x[0-9a-f]+/ {
			f = $0; sub(/^.*\] */, "", f); sub(/^ */, "", f); sub(/ .*/, "", f)
			fr[++n] = f; want = 0
			if (n == 1 && unknown) { fr[++n] = "unknown-origin"; unknown = 0 }
			if (n == 2) { print t "\t" fr[1] "\t" fr[2]; t = "" }
		}
		# KCSAN'"'"'s report failing (rig/scan.c): the frame past KCSAN'"'"'s own
		/--- interrupt:|<\/IRQ>|<\/NMI>/ && !/--- interrupt: 700/ { k = 0 }
		/kcsan_report_[a-z_]*\+0x/ { k = 1; next }
		k && /[A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+\/0x[0-9a-f]+/ {
			f = $0; sub(/^.*\] */, "", f); sub(/^ */, "", f); sub(/ .*/, "", f)
			if (f ~ /^(kcsan_|__kcsan_|__tsan_)/)
				next
			fn = f; sub(/\+.*/, "", fn); sub(/\..*/, "", fn)
			print "KCSAN: report failed in " fn "\t" f "\t-"; k = 0
		}' "$1"
}

# The positive control: a scenario that runs KCSAN's own KUnit suite.  Its
# races are on purpose; the suite's cases judge them, not this script.
control() { # scenario
	grep -q -E '^kunit *= *kcsan ' "scenarios/$1.scn" 2>/dev/null
}

# Start the files a run's judging is made of.
reset() { # row...
	mkdir -p "$out"
	rm -f "$out"/*.titles "$out"/*.frames "$out"/*.control "$out"/*.cases "$out"/failed
	touch "$out/failed"
}

# One round of one kernel, from its log and the consoles of its results
# directory: the failures given on stdin ("not ok" lines), the control's
# KUnit cases and report count, and every other scenario's KCSAN titles
# and frames, as today's scanner sees them.
collect() { # row variant round log
	local row=$1 v=$2 round=$3 log=$4 dir c scn

	sed "s|^|$v round $round: |" >>"$out/failed"
	grep -E "^(not )?ok [0-9]+ - $row/kunit/kcsan/" "$log" >>"$out/$row-$v.cases"
	dir=$(sed -n 's/^# results: //p' "$log" | tail -1)
	[ -d "$dir" ] || die "$row/$v: no results directory in $log"
	for c in "$dir"/"$row"-*/console.log; do
		[ -f "$c" ] || continue
		scn=${c%/console.log}
		scn=${scn##*/"$row"-}
		if control "$scn"; then
			$rig scan "$c" | grep -c '^KCSAN: ' >>"$out/$row-$v.control"
			continue
		fi
		$rig scan "$c" | grep '^KCSAN: ' | sed "s|^|$scn\t|" >>"$out/$row-$v.titles"
		frames "$c" | sed "s|^|$scn\t|" >>"$out/$row-$v.frames"
	done
}

run_rows() { # row...
	reset
	echo "$runs" >"$out/runs"
	printf '%s\n' "$@" >"$out/rows"
	date -u +%Y-%m-%d >"$out/date"
	for row in "$@"; do
		mapfile -t scns < <(names_row races_on "$row")
		[ ${#scns[@]} -gt 0 ] || die "no scenario's races_on names $row"
		for v in prefix-0 main; do
			make --no-print-directory kernels initramfs VARIANT=$v ARCH="$row" ||
				die "$row/$v: kernel or initramfs build failed"
		done
		for round in $(seq "$runs"); do
			for v in prefix-0 main; do
				log=$out/$row-$v-$round.log
				echo "races: $row, $v, round $round of $runs (log $log)"
				if ! $rig check --races --arch "$row" --variant $v "${scns[@]}" >"$log" 2>&1; then
					echo "races: $row/$v failed for a reason other than a data race:" >&2
					grep -E '^not ok' "$log" | sed 's/^/races:   /' >&2
					grep -E '^not ok' "$log" || echo "rig check failed, no test says why (see $log)"
				fi | collect "$row" $v "$round" "$log" || exit 2
			done
		done
	done
}

# --recheck of a run whose consoles are still there (its logs and results
# directories): judge every console again with today's scanner and table
# (rig rescan; a step that failed stays failed).  A kept run without its
# consoles (tests/races/) is judged from the titles it kept.
consoles_kept() { # row...
	local row round v log dir

	for row in "$@"; do
		for round in $(seq "$runs"); do
			for v in prefix-0 main; do
				log=$out/$row-$v-$round.log
				[ -f "$log" ] || return 1
				dir=$(sed -n 's/^# results: //p' "$log" | tail -1)
				[ -n "$dir" ] && [ -d "$dir" ] || return 1
			done
		done
	done
}

# The "not ok" lines of a round's log that a console did not cause (a
# step, a KUnit case, no reason given): a rescan cannot clear those.
step_failures() { # log
	awk '
		function flush() {
			if (t != "" && (why || !seen))
				print t
			t = ""; why = 0; seen = 0
		}
		/^(not )?ok [0-9]+ - / { flush(); if ($1 == "not") t = $0; next }
		t != "" && /^# FAIL: / { seen = 1; if ($0 !~ /^# FAIL: kernel console: /) why = 1 }
		END { flush() }' "$1"
}

rescan_rows() { # row...
	local row round v log dir res rc

	reset
	for row in "$@"; do
		for round in $(seq "$runs"); do
			for v in prefix-0 main; do
				log=$out/$row-$v-$round.log
				dir=$(sed -n 's/^# results: //p' "$log" | tail -1)
				res=$($rig rescan "$dir")
				rc=$?
				[ $rc -le 1 ] || die "rig rescan $dir failed (exit $rc)"
				{ step_failures "$log"; grep -E '^not ok' <<<"$res" || true; } |
					collect "$row" $v "$round" "$log" || exit 2
			done
		done
	done
}

if [ $recheck = 0 ]; then
	run_rows "$@"
elif consoles_kept "$@"; then
	echo "races: judging the consoles of the run of $(cat "$out/date") again"
	rescan_rows "$@"
else
	echo "races: judging what the run of $(cat "$out/date" 2>/dev/null || echo "unknown date") kept (its consoles are gone)"
fi

# file:line of a frame, from the kernel's debug info when it has some.
where() { # row variant frame
	local vmlinux=${RACES_KERNELS:-build/kernels}/$2/$1/vmlinux cross
	[ -f "$vmlinux" ] || { echo "$3"; return; }
	cross=$($rig arch "$1" cross)
	CROSS_COMPILE=$cross build/src/scripts/faddr2line "$vmlinux" "$3" 2>/dev/null |
		sed -n 's/.* at \([^ ]*\)$/\1/p' | head -1 | sed "s|^$PWD/build/src/||;s|^build/src/||" |
		grep . || echo "$3"
}

sum=$out/summary.md
{
	echo "# Data races (make races): base vs series"
	echo
	echo "$(cat "$out/date" 2>/dev/null || echo "undated"), $runs round(s) of each, rows: $*."
	echo "Generated by scripts/races.sh; counts are scenario runs that showed the race."
	echo
	echo "| row | scenario | race | base | series | verdict | accesses |"
	echo "|-----|----------|------|------|--------|---------|----------|"
} >"$sum"
for row in "$@"; do
	touch "$out/$row-prefix-0.titles" "$out/$row-main.titles"
	sort -u "$out/$row-prefix-0.titles" "$out/$row-main.titles" | while IFS=$'\t' read -r scn title; do
		nb=$(grep -cxF "$scn"$'\t'"$title" "$out/$row-prefix-0.titles")
		ns=$(grep -cxF "$scn"$'\t'"$title" "$out/$row-main.titles")
		if $rig known "$row" "$scn" "$title"; then
			verdict="pre-existing (tests/known-issues.tbl)"
		elif [ "$nb" = 0 ]; then
			verdict="**FAIL: series only**"
		else
			verdict="**FAIL: not in tests/known-issues.tbl**"
		fi
		v=main
		[ "$ns" = 0 ] && v=prefix-0
		fr=$(grep -F "$scn"$'\t'"$title"$'\t' "$out/$row-$v.frames" | head -1)
		a=$(echo "$fr" | cut -f3)
		b=$(echo "$fr" | cut -f4)
		acc="-"
		[ -n "$a" ] && acc="$(where "$row" $v "$a") / $(where "$row" $v "$b")"
		echo "| $row | $scn | \`$title\` | $nb | $ns | $verdict | $acc |"
	done >>"$sum"
done
{
	echo
	echo "Positive control (scenarios/kcsan-kunit.scn, KCSAN's own KUnit suite):"
	echo
	echo "| row | kernel | cases passed | cases skipped | cases failed | KCSAN reports |"
	echo "|-----|--------|--------------|---------------|--------------|---------------|"
	for row in "$@"; do
		for v in prefix-0 main; do
			[ -s "$out/$row-$v.cases" ] || continue
			echo "| $row | $v | $(grep '^ok' "$out/$row-$v.cases" | grep -vc '# SKIP') |" \
				"$(grep -c '^ok.*# SKIP' "$out/$row-$v.cases") |" \
				"$(grep -c '^not ok' "$out/$row-$v.cases") |" \
				"$(awk '{ n += $1 } END { print n + 0 }' "$out/$row-$v.control" 2>/dev/null) |"
		done
	done
} >>"$sum"
if [ -s "$out/failed" ]; then
	{
		echo
		echo "Runs that failed for a reason other than a data race (each fails make races):"
		echo
		sed 's/^/    /' "$out/failed"
	} >>"$sum"
fi
echo >>"$sum"
fails=$(grep -c '\*\*FAIL' "$sum")
races=$(grep -c '^| .* | `KCSAN' "$sum")
echo "$races race title(s), $fails failing." >>"$sum"
cat "$sum"
[ "$fails" = 0 ] && [ ! -s "$out/failed" ] || { echo "races: FAILED"; exit 1; }
echo "races: passed"
