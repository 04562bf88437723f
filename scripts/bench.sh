#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the base (prefix 0) and the series (main), built from the
# same configuration fragments, run the same workloads (scenarios/bench/)
# in one invocation, alternating (base first in odd runs, the series first
# in even ones) so that drift of a noisy host hits both.  One guest at a
# time.  Every "measure" step of the scenarios gives samples; the table
# (rig stats) and the plots (gnuplot) are made from all of them.
#
#   scripts/bench.sh 'ARCH ...' [RUNS]         measure, then report
#   scripts/bench.sh --report DIR              report again from DIR/samples.tsv
#   scripts/bench.sh --selftest                check the report code (make check)
#
# Writes build/results/bench-DATE/: samples.tsv, bench.md (the table, the
# lock classes after cpu_hotplug_lock on each kernel, what was measured),
# ARCH-UNIT.svg.  A scenario that fails (the kernel did not boot, a step
# did nothing) ends the bench: its numbers would mean nothing.
set -euo pipefail

rig=build/bin/rig
die() { echo "bench: $*" >&2; exit 1; }

label() { [ "$1" = prefix-0 ] && echo base || echo series; }

# The bench scenarios whose arches name row $1 exactly.
scenarios_for() {
	grep -lE "^arches *=(.* )?$1( |\$)" scenarios/bench/*.scn || true
}

# gnuplot, one chart per architecture and unit: median with min..max bars
# and the p99 as a cross, base and series side by side.
plots() { # dir
	local dir=$1 arch unit dat n ylabel log
	"$rig" stats --dat "$dir/samples.tsv" >"$dir/stats.dat"
	for arch in $(cut -f1 "$dir/samples.tsv" | sort -u); do
		for unit in s us classes; do
			dat=$dir/$arch-$unit.dat
			awk -v a="$arch/" -v u="$unit" 'index($1, a) == 1 && $2 == u {
				sub(a, "", $1); print }' "$dir/stats.dat" >"$dat"
			n=$(wc -l <"$dat")
			if [ "$n" = 0 ]; then
				rm -f "$dat"
				continue
			fi
			case $unit in
			s) ylabel="seconds per operation"; log= ;;
			us) ylabel="microseconds (log scale): a write, or a lock hold"; log="set logscale y" ;;
			classes) ylabel="lock classes after cpu_hotplug_lock"; log= ;;
			esac
			gnuplot <<-EOF
				set terminal svg size 960,540 dynamic background rgb 'white'
				set output '$dir/$arch-$unit.svg'
				set termoption noenhanced
				set title "$arch: median (point), min..max (bar), p99 (cross); $(runs_of "$dir") runs"
				set ylabel "$ylabel"
				$log
				set xrange [-0.5:$n - 0.5]
				set xtics rotate by -30 nomirror
				set grid ytics
				set key outside top center horizontal
				plot '$dat' using (\$0 - 0.12):4:3:6:xtic(1) with yerrorbars pt 7 lc rgb '#1f5fa0' title 'base (prefix 0)', \\
				     '' using (\$0 + 0.12):8:7:10 with yerrorbars pt 7 lc rgb '#c03020' title 'series', \\
				     '' using (\$0 - 0.12):5 with points pt 2 ps 1.5 lc rgb '#1f5fa0' notitle, \\
				     '' using (\$0 + 0.12):9 with points pt 2 ps 1.5 lc rgb '#c03020' notitle
			EOF
			rm -f "$dat"
		done
	done
	rm -f "$dir/stats.dat"
}

runs_of() {
	cut -f3 "$1/samples.tsv" | sort -u | wc -l
}

# The lock classes lockdep saw taken after a class (file names
# ARCH-VARIANT-RUN-SCENARIO-CLASS.txt: those the edges of /proc/lockdep
# reach from it), in the first run of each kernel: those on one kernel
# only.  Lockdep's "#N" suffix tells apart classes of
# the same name in the order they were registered, which differs between
# kernels: it is left out, and names are compared.
coupling() { # dir
	local dir=$1 f b s what
	for f in "$dir"/lockdep/*-prefix-0-1-*.txt; do
		[ -f "$f" ] || continue
		b=$f
		s=${f/-prefix-0-1-/-main-1-}
		[ -f "$s" ] || continue
		what=$(basename "${b%.txt}" | sed 's/-prefix-0-1-/: /')
		echo
		echo "### $what"
		echo
		echo "Taken after the class on the base only:"
		echo
		comm -23 <(names "$b") <(names "$s") | sed 's/^/    /'
		echo
		echo "On the series only:"
		echo
		comm -13 <(names "$b") <(names "$s") | sed 's/^/    /'
		echo
		echo "On both: $(comm -12 <(names "$b") <(names "$s") | wc -l) names."
	done
}

names() {
	sed 's/#[0-9]*$//' "$1" | sort -u
}

# The lines of file NAME of every scenario of a results directory, each
# after PREFIX and the scenario's name.
collect() { # results-dir name prefix
	local m scn
	for m in "$1"/*/"$2"; do
		[ -f "$m" ] || continue
		scn=$(basename "$(dirname "$m")")
		scn=${scn#"${3%%	*}"-}
		awk -v p="$3	$scn" '{ print p "\t" $0 }' "$m"
	done
}

# Who holds the lock, from the read_holds steps (holds.tsv: arch, variant,
# run, scenario, measure, caller, holds, longest and total in us): per
# measure and caller, the longest hold over all runs of each kernel, and in
# how many of the measure's windows (its .reads samples) the caller held
# it at all.
callers() { # dir
	local dir=$1
	[ -s "$dir/holds.tsv" ] || return 0
	echo
	echo "## Who holds the lock for read"
	echo
	echo "From kprobes on the lock and unlock functions (the read_holds steps:"
	echo "cpus_read_lock() and cpus_read_unlock() in scenarios/bench/): the caller"
	echo "of each hold, its longest hold over all runs (us; from the call, so a"
	echo "wait for a writer counts) and in how many of the measure's windows it"
	echo "held the lock; the longest first."
	echo
	echo "| arch | scenario | measure | caller | base | series |"
	echo "|------|----------|---------|--------|------|--------|"
	awk -F'\t' '
		FNR == NR {
			if ($5 ~ /\.reads$/) { m = $5; sub(/\.reads$/, "", m); win[$1 SUBSEP $4 SUBSEP m SUBSEP $2]++ }
			next
		}
		{
			k = $1 SUBSEP $4 SUBSEP $5 SUBSEP $6
			keys[k] = 1
			n[k SUBSEP $2]++
			if ($8 > mx[k SUBSEP $2]) mx[k SUBSEP $2] = $8
		}
		function cell(k, v, w,  a) {
			split(k, a, SUBSEP)
			w = win[a[1] SUBSEP a[2] SUBSEP a[3] SUBSEP v]
			if (!n[k SUBSEP v]) return "none (0 of " w ")"
			return sprintf("%.0f (%d of %d)", mx[k SUBSEP v], n[k SUBSEP v], w)
		}
		END {
			for (k in keys) {
				split(k, a, SUBSEP)
				b = mx[k SUBSEP "prefix-0"]; m = mx[k SUBSEP "main"]
				printf "%s\t%s\t%s\t%.0f\t%.0f\t| %s | %s | %s | %s | %s | %s |\n",
				       a[1], a[2], a[3], (b > m ? b : m), m,
				       a[1], a[2], a[3], a[4], cell(k, "prefix-0"), cell(k, "main")
			}
		}' "$dir/samples.tsv" "$dir/holds.tsv" |
		sort -t'	' -k1,1 -k2,2 -k3,3 -k4,4nr -k5,5nr -k6 | cut -f6-
}

report() { # dir
	local dir=$1
	[ -s "$dir/samples.tsv" ] || die "$dir/samples.tsv is missing or empty"
	plots "$dir"
	{
		echo "# make bench, $(cat "$dir/when")"
		echo
		cat "$dir/setup"
		echo
		"$rig" stats "$dir/samples.tsv"
		echo
		echo "Units: s = seconds per operation (host wall time of the step),"
		echo "us = microseconds per write (timed in the guest), classes = lock"
		echo "classes lockdep saw taken after cpu_hotplug_lock, directly or not."
		echo "Medians and p99 are nearest-rank over all samples of all runs."
		echo
		echo "## Lock coupling"
		coupling "$dir"
		callers "$dir"
		echo
		echo "## Plots"
		echo
		for f in "$dir"/*.svg; do
			[ -f "$f" ] && echo "![$(basename "$f" .svg)]($(basename "$f"))"
		done
	} >"$dir/bench.md"
	echo "bench: wrote $dir/bench.md"
}

# make check: the report code on recorded data (tests/bench/): the
# /proc/lockdep reader on a saved file, and the table and the charts of a
# recorded bench run.
selftest() {
	local t=tests/bench out=build/bench-selftest f
	for f in "$t/run/samples.tsv" "$t/run/holds.tsv" "$t/table.expect" "$t/plots.expect" \
		"$t/callers.expect"; do
		[ -f "$f" ] || die "selftest: $f is missing (recorded from a bench run, see docs/bench.md)"
	done
	for f in "$t"/lockdep-*.log; do
		"$rig" lockdep-after "$f" cpu_hotplug_lock | diff -u "${f%.log}.expect" - ||
			die "selftest: rig lockdep-after $f differs from ${f%.log}.expect"
	done
	# recorded /proc/lock_stat files, and the refusals of files without holds
	for f in "$t"/lockstat-*.log; do
		{ "$rig" lock-stat "$f" cpu_hotplug_lock 2>&1 || true; } | diff -u "${f%.log}.expect" - ||
			die "selftest: rig lock-stat $f differs from ${f%.log}.expect"
	done
	# recorded traces of read_holds' kprobes, and a file that is not one
	for f in "$t"/holds-*.log; do
		{ "$rig" read-holds "$f" 2>&1 || true; } | diff -u "${f%.log}.expect" - ||
			die "selftest: rig read-holds $f differs from ${f%.log}.expect"
	done
	"$rig" validate scenarios/bench/*.scn >/dev/null || die "selftest: a bench scenario does not parse"
	rm -rf "$out"
	cp -r "$t/run" "$out"
	report "$out" >/dev/null
	"$rig" stats "$out/samples.tsv" 2>/dev/null | diff -u "$t/table.expect" - ||
		die "selftest: the table of $t/run differs from $t/table.expect"
	grep -q '^## Lock coupling' "$out/bench.md" || die "selftest: bench.md has no lock coupling"
	callers "$out" | diff -u "$t/callers.expect" - ||
		die "selftest: the callers of $t/run/holds.tsv differ from $t/callers.expect"
	for f in $(cat "$t/plots.expect"); do
		grep -q '<svg' "$out/$f" 2>/dev/null && grep -q 'base (prefix 0)' "$out/$f" &&
			grep -q '>series<' "$out/$f" || die "selftest: $out/$f is not a chart of both kernels"
		grep -q "($f)" "$out/bench.md" || die "selftest: bench.md does not show $f"
	done
	echo "bench: report code checked on $t (table, $(wc -w <"$t/plots.expect") charts, lock classes)"
}

if [ "${1:-}" = --selftest ]; then
	selftest
	exit 0
fi
if [ "${1:-}" = --report ]; then
	[ $# = 2 ] || die "usage: bench.sh --report DIR"
	report "$2"
	exit 0
fi

arches=${1:-}
runs=${2:-3}
[ -n "$arches" ] || die "usage: bench.sh 'ARCH...' [RUNS]"
case $runs in
'' | *[!0-9]* | 0) die "RUNS must be a whole number of runs, 1 or more (got '$runs')" ;;
esac
for a in $arches; do
	"$rig" arch "$a" name >/dev/null 2>&1 || die "unknown architecture '$a' (rows of arches.tbl)"
	[ -n "$(scenarios_for "$a")" ] || die "no scenario of scenarios/bench/ is for $a"
done

dir=build/results/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$dir/lockdep"
date -u '+%Y-%m-%d %H:%M UTC' >"$dir/when"
start=$(date +%s)
for a in $arches; do
	for v in prefix-0 main; do
		make --no-print-directory kernels initramfs ARCH="$a" VARIANT="$v" ||
			die "$a: the $(label "$v") kernel did not build"
	done
done
{
	echo "Runs: $runs per kernel, alternating; one guest at a time on $(nproc) host cores."
	echo "Base: $(cat build/base-version 2>/dev/null || echo unknown); series: $(scripts/series.sh hash main)"
	echo "(the patches' fingerprint).  Same configuration fragments for both; options"
	echo "the base does not define (the series' KUnit suite) are left out there."
	echo
	for a in $arches; do
		echo "- $a: QEMU $("$rig" arch "$a" machine), accel $("$rig" arch "$a" accel); scenarios:"
		for f in $(scenarios_for "$a"); do
			echo "  $(basename "$f" .scn) ($(sed -n 's/^cpus *= *//p' "$f") vCPUs)"
		done
	done
} >"$dir/setup"
: >"$dir/samples.tsv"
: >"$dir/holds.tsv"
for r in $(seq 1 "$runs"); do
	order="prefix-0 main"
	[ $((r % 2)) = 0 ] && order="main prefix-0"
	for a in $arches; do
		scns=$(scenarios_for "$a")
		for v in $order; do
			log=$dir/$a-$v-$r.tap
			echo "bench: run $r of $runs, $a, $(label "$v")"
			# shellcheck disable=SC2086
			if ! "$rig" check --arch "$a" --variant "$v" --jobs 1 $scns >"$log" 2>&1; then
				grep '^not ok' "$log" | sed 's/^/bench:   /' >&2 || true
				die "run $r, $a, $(label "$v"): a scenario failed (see $log); its numbers would mean nothing"
			fi
			# this run's own results (not "latest", which another run may move)
			res=$(sed -n 's/^# results: //p' "$log" | tail -1)
			[ -d "$res" ] || die "run $r, $a, $(label "$v"): $log names no results directory"
			# a loop with few writes overlapped next to nothing (lock_stat
			# holds are microseconds too, one per operation)
			for m in "$res"/*/metrics.tsv; do
				[ -f "$m" ] || continue
				few=$(awk -F'\t' '$2 == "us" && $1 !~ /\.hold_(max|total)$/ { n[$1]++ }
					END { for (k in n) if (n[k] < 10) print k " (" n[k] " writes)" }' "$m")
				[ -z "$few" ] || die "run $r, $a, $(label "$v"): $few: the loop finished too fast to overlap anything"
			done
			collect "$res" metrics.tsv "$a	$v	$r" >>"$dir/samples.tsv"
			collect "$res" holds.tsv "$a	$v	$r" >>"$dir/holds.tsv"
			for l in "$res"/*/lockdep-after-*.txt; do
				[ -f "$l" ] || continue
				scn=$(basename "$(dirname "$l")")
				f=$(basename "$l" .txt)
				cp "$l" "$dir/lockdep/$a-$v-$r-${scn#"$a"-}-${f#lockdep-after-}.txt"
			done
		done
	done
done
echo "Wall time: $(( ($(date +%s) - start) / 60 )) minutes, kernel builds included." >>"$dir/setup"
report "$dir"
