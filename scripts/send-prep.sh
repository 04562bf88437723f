#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Make the series ready to send: build/send/ gets the cover letter and
# every patch of patches/series with the sender's identity, taken from
# git config (user.name, user.email) of this repository: a From: line on
# each and a Signed-off-by: on each patch.  The stored patches carry
# neither, so nobody's name is on them until someone sends them.  Refuses
# without an identity, and runs checkpatch on the result, sign-offs
# included.
set -euo pipefail

src=build/src
out=build/send

die() { echo "send-prep: $*" >&2; exit 1; }

name=$(git config user.name || true)
email=$(git config user.email || true)
[ -n "$name" ] && [ -n "$email" ] ||
	die "no sender identity: set git config user.name and user.email (the sender certifies the DCO with them)"
case $email in
*@localhost | *@invalid | *.invalid) die "'$email' is not an address one can send from" ;;
esac
ident="$name <$email>"
[ -x "$src/scripts/checkpatch.pl" ] || die "no kernel tree (run 'make base')"

rm -rf "$out"
mkdir -p "$out"
for p in 0000-cover-letter.patch $(sed -e 's/#.*//' patches/series); do
	[ -f "patches/$p" ] || die "patches/series names $p, which does not exist"
	awk -v from="From: $ident" -v sob="Signed-off-by: $ident" -v cover="$p" '
		NR == 2 { print from; if (/^From: /) next }
		# the sign-off closes the message: before the first "---" line
		!signed && cover !~ /^0000-/ && /^---$/ { print sob; signed = 1 }
		{ print }' "patches/$p" >"$out/$p"
done
echo "send-prep: $(ls "$out" | wc -l) file(s) in $out/ as $ident"
cd "$src"
for p in $(sed -e 's/#.*//' ../../patches/series); do
	# UNKNOWN_COMMIT_ID: this tree has no history to look the Fixes: ids
	# (mainline's) up in; make checkpatch says the same
	PATH=/usr/bin:$PATH scripts/checkpatch.pl --strict -q \
		--ignore FILE_PATH_CHANGES,EMBEDDED_FUNCTION_NAME,UNKNOWN_COMMIT_ID "../../$out/$p" ||
		die "checkpatch: $out/$p"
done
echo "send-prep: checkpatch clean; send with git send-email $out/*.patch"
