#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check drives the README's walkthrough: rig shell with its input from
# a pipe, rig ctl from "a second terminal", and every answer checked
# against what the README shows.  TAP on stdout; non-zero when a step did
# not behave as documented.  Leaves nothing running.
set -uo pipefail

arch=${1:-x86_64}
variant=${2:-main}
b=${BUILD:-build}
rig="build/bin/rig"
dir=$b/shell-check/$arch
rm -rf "$dir"
mkdir -p "$dir"
fifo=$dir/input
mkfifo "$fifo"
n=0
failed=0
pid=

ok() { n=$((n + 1)); echo "ok $n - shell/$arch/$1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - shell/$arch/$1"
	echo "# $2"
}
finish() {
	exec 3>&-
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid"
		for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -f "$fifo"
}
trap finish EXIT
trap 'exit 130' INT TERM HUP

# wait_for FILE TEXT SECONDS
wait_for() {
	local i
	for i in $(seq "$3"); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 1
	done
	return 1
}
guest() { echo "$1" >&3; }
# ctl NAME EXPECTED-FIRST-LINE-PREFIX ARGS...
ctl() {
	local name=$1 want=$2 got
	shift 2
	got=$($rig ctl --build "$b" --arch "$arch" "$@" 2>&1)
	echo "$got" >"$dir/ctl-$name.txt"
	if [ "${got#"$want"}" != "$got" ]; then
		ok "ctl-$name"
	else
		not_ok "ctl-$name" "rig ctl $*: want '$want...', got '$(echo "$got" | head -1)'"
	fi
}

echo "TAP version 13"
$rig shell --build "$b" --arch "$arch" --variant "$variant" <"$fifo" >"$dir/console.txt" 2>"$dir/rig.txt" &
pid=$!
exec 3>"$fifo"
if ! wait_for "$dir/rig.txt" "is ready" 300; then
	not_ok boot "no shell: $(tail -3 "$dir/rig.txt")"
	echo "1..$n"
	exit 1
fi
ok boot
guest "echo guest-says-hello"
wait_for "$dir/console.txt" "^guest-says-hello" 30 && ok guest-command ||
	not_ok guest-command "the guest did not run a typed command"

guest 'ls -d /sys/devices/system/memory/memory* >/tmp/before; echo listed-blocks'
wait_for "$dir/console.txt" "^listed-blocks" 30 || not_ok list-blocks "the guest did not list its blocks"
ctl plug "OK d0 plugged" plug dimm 512M
ctl status "OK" status
grep -q "d0 .* 512 MiB plugged" "$dir/ctl-status.txt" && ok status-shows-dimm ||
	not_ok status-shows-dimm "status does not list d0 with 512 MiB"
# pseries onlines DLPAR memory itself, x86_64 leaves it offline: take the
# new blocks offline where they are online, then online them movable
guest 'ls -d /sys/devices/system/memory/memory* | grep -vxF -f /tmp/before >/tmp/new; for b in $(cat /tmp/new); do grep -qx online $b/state && echo offline >$b/state; echo online_movable >$b/state; done; echo onlined-$(wc -l </tmp/new)'
wait_for "$dir/console.txt" "^onlined-[1-9]" 60 && ok online-movable ||
	not_ok online-movable "the guest did not online the DIMM's blocks"
ctl status-online "OK" status
# the blocks line must be there (a status without it proves nothing)
if grep -q "^  blocks .* online" "$dir/ctl-status-online.txt" &&
   ! grep -q "offline" "$dir/ctl-status-online.txt"; then
	ok status-all-online
else
	not_ok status-all-online "not all blocks online: $(grep blocks "$dir/ctl-status-online.txt")"
fi
guest 'n=0; for b in $(cat /tmp/new); do echo offline >$b/state; grep -qx offline $b/state || n=$((n+1)); done; echo offline-failures-$n'
wait_for "$dir/console.txt" "^offline-failures-0" 60 && ok offline ||
	not_ok offline "the guest did not offline the DIMM's blocks"
ctl unplug "OK d0 unplugged" unplug dimm d0
# a virtio-mem device where the shell's machine has one
if grep -lE "^arches = (.* )?$arch( |\$)" scenarios/shell/*.scn | xargs grep -q '^virtio_mem'; then
	ctl vmem-grow "OK vm0 resized to 256M" virtio-mem vm0 256M
	ctl vmem-shrink "OK vm0 resized to 0" virtio-mem vm0 0
fi
ctl bad-size "ERROR 100M is not a multiple" plug dimm 100M
ctl bad-id "ERROR dimm_del d9" unplug dimm d9
ctl bad-command "ERROR unknown command 'frobnicate'" frobnicate
ctl scan "OK 0 report(s)" scan
guest exit
for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$pid" 2>/dev/null; then
	not_ok exit "the shell did not end after 'exit'"
else
	wait "$pid"
	rc=$?
	pid=
	grep -q "the guest powered off; lockdep was on; 0 report(s)" "$dir/rig.txt" && [ "$rc" = 0 ] &&
		ok exit || not_ok exit "rc=$rc: $(tail -1 "$dir/rig.txt")"
fi
[ -e "$b/shell/$arch.sock" ] && not_ok socket-removed "$b/shell/$arch.sock is left" ||
	ok socket-removed
$rig ctl --build "$b" --arch "$arch" status >/dev/null 2>&1 && not_ok no-vm "rig ctl still answers" ||
	ok no-vm-after-exit
echo "1..$n"
[ "$failed" = 0 ]
