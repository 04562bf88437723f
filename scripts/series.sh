#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The series and the kernel tree (build/src, a git repository whose root is
# tagged "base").  Each variant of the series is a branch: "main" is
# base + patches/series, variant V is base + patches/variants/V/series.
# Series entries are paths relative to patches/.
#
#   series.sh apply VARIANT   check the variant's branch out, (re)applying
#                             the series when it changed; VARIANT prefix-N
#                             is the first N patches of the series
#   series.sh export          write patches/ and patches/series from main
#   series.sh status          say whether main has unexported edits
#   series.sh hash VARIANT    the variant's fingerprint (series and patches)
set -euo pipefail

src=build/src
state=$src/.git/rig-applied

die() { echo "series: $*" >&2; exit 1; }

# main: patches/series; prefix-N: its first N patches (for bisecting);
# anything else: patches/variants/NAME/series.
series_file() {
	case $1 in
	main)
		echo patches/series ;;
	prefix-[0-9]*)
		mkdir -p build/variants
		series_entries patches/series | head -n "${1#prefix-}" >"build/variants/$1.series"
		echo "build/variants/$1.series" ;;
	*)
		echo "patches/variants/$1/series" ;;
	esac
}

series_entries() {
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$1" | grep -v '^$' || true
}

# A fingerprint of everything a variant is made of.
series_hash() {
	local file=$1 p
	{
		cat "$file"
		for p in $(series_entries "$file"); do
			[ -f "patches/$p" ] || die "$file names patches/$p, which does not exist"
			cat "patches/$p"
		done
	} | sha256sum | cut -c1-16
}

recorded() { # variant -> "hash commit"
	[ -f "$state-$1" ] && cat "$state-$1" || true
}

record() { # variant hash
	echo "$2 $(git -C "$src" rev-parse "$(branch_of "$1")")" >"$state-$1"
}

branch_of() {
	if [ "$1" = main ]; then echo main; else echo "variant/$1"; fi
}

# Refuse to go on when build/src holds work that patches/ does not have.
check_exported() {
	local rec commit
	if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
		git -C "$src" status --short --untracked-files=no | head -10 >&2
		die "build/src has uncommitted edits (above). Commit them on branch main and run 'make export', or discard them with 'make tree FORCE=1'."
	fi
	git -C "$src" rev-parse -q --verify main >/dev/null || return 0
	rec=$(recorded main)
	commit=${rec#* }
	if [ -n "$rec" ] && [ "$commit" != "$(git -C "$src" rev-parse main)" ]; then
		git -C "$src" log --oneline "$commit..main" | head -10 >&2
		die "branch main in build/src has commits that are not in patches/ (above). Run 'make export' to keep them, or 'make tree FORCE=1' to discard them."
	fi
}

# The stored patches carry no identity (no From:, no Signed-off-by; see
# scripts/send-prep.sh for sending).  git am needs an author: the commits
# of build/src get the tree's own, which export takes out again.
tree_ident() {
	echo "$(git -C "$src" config user.name) <$(git -C "$src" config user.email)>"
}

apply_one() { # patch-file
	local p=$1
	if awk -v from="From: $(tree_ident)" '
		NR == 2 && !/^From: / { print from }
		{ print }' "$p" | git -C "$src" am -q --keep-cr >/dev/null 2>&1; then
		return 0
	fi
	git -C "$src" am --abort 2>/dev/null || true
	echo "series: $p does not apply to the base; failing hunk:" >&2
	git -C "$src" apply --check -v "$PWD/$p" 2>&1 | grep -v '^Checking patch' |
		sed 's/^/    /' >&2 || true
	exit 1
}

apply() {
	local variant=$1 file hash branch rec p n=0
	# build/src has one checkout: never switch it under a kernel build
	# (kernel.sh holds this lock for the whole build and says so)
	if [ -z "${RIG_SRC_LOCKED:-}" ]; then
		exec 9>build/.kernel.lock
		if ! flock -n 9; then
			echo "series: waiting for a kernel build to finish before checking out build/src"
			flock 9
		fi
	fi
	file=$(series_file "$variant")
	[ -f "$file" ] || die "unknown variant '$variant': $file does not exist (variants: main $(ls patches/variants 2>/dev/null | tr '\n' ' '))"
	[ "${FORCE:-0}" = 1 ] || check_exported
	hash=$(series_hash "$file")
	branch=$(branch_of "$variant")
	rec=$(recorded "$variant")
	if [ "${rec%% *}" = "$hash" ] &&
	   [ "${rec#* }" = "$(git -C "$src" rev-parse -q --verify "$branch" || true)" ]; then
		if [ "${FORCE:-0}" = 1 ]; then
			git -C "$src" checkout -q -f "$branch"
		else
			git -C "$src" checkout -q "$branch"
		fi
		return 0
	fi
	echo "series: applying $file to the base (branch $branch)"
	git -C "$src" checkout -q -f -B "$branch" base
	for p in $(series_entries "$file"); do
		apply_one "patches/$p"
		n=$((n + 1))
	done
	record "$variant" "$hash"
	echo "series: $n patch(es) applied"
}

export_main() {
	local old p
	[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
		die "build/src has uncommitted edits: commit them on branch main first"
	[ "$(git -C "$src" rev-parse --abbrev-ref HEAD)" = main ] ||
		die "build/src is not on branch main (checked out: $(git -C "$src" rev-parse --abbrev-ref HEAD))"
	for old in $(series_entries patches/series); do
		rm -f "patches/$old"
	done
	{
		echo "# The series, in order; applied to the base by 'make tree'."
		for p in $(git -C "$src" format-patch --zero-commit --no-signature \
				-o "$PWD/patches" base..main); do
			basename "$p"
		done
	} >patches/series.new
	# no identity in the stored patches: drop the tree's From: and sign-off
	for p in $(series_entries patches/series.new); do
		awk -v from="From: $(tree_ident)" -v sob="Signed-off-by: $(tree_ident)" '
			!body && $0 == from { next }
			!body && /^$/ { body = 1 }
			$0 == sob { next }
			{ print }' "patches/$p" >"patches/$p.tmp"
		mv "patches/$p.tmp" "patches/$p"
	done
	mv patches/series.new patches/series
	record main "$(series_hash patches/series)"
	echo "series: exported $(series_entries patches/series | wc -l) patch(es) to patches/"
}

case "${1:-}" in
apply)	apply "${2:?variant}" ;;
export)	export_main ;;
status)	check_exported && echo "series: build/src matches patches/" ;;
hash)	f=$(series_file "${2:?variant}"); [ -f "$f" ] || die "unknown variant '$2'"
	series_hash "$f" ;;
*)	die "usage: series.sh apply VARIANT | export | status | hash VARIANT" ;;
esac
