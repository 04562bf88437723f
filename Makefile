# SPDX-License-Identifier: GPL-2.0
#
#   make run      build the patched kernel and show memory hotplug working
#   make check    scanner fixtures + every scenario; ends "N passed, N failed"
#   make tree     build/src: git tree of base + one commit per patch
#   make export   write patches/ back from build/src (branch main)
#
# ARCH=x86_64|ppc64le (or a list; rows of arches.tbl) limits the
# architectures; VARIANT=name runs a variant of the series
# (patches/variants/NAME/series); JOBS=N runs guests in parallel on up to N
# host cores (default: all of them for check, one guest for run).

ALL_ARCHES := $(shell awk '!/^\#/ && NF { print $$1 }' arches.tbl)
# By default, the rows on which some scenario of scenarios/ runs in make
# check: named in its arches, not in its slow_on or races_on (ppc64le-kasan
# only serves the race-window controls, the KCSAN rows make races).
CHECK_ARCHES := $(filter $(shell awk -F' *= *' 'FNR == 1 { flush(); } \
	$$1 == "arches" { a = $$2 } $$1 == "slow_on" || $$1 == "races_on" { x = x " " $$2 } \
	function flush(  n, i, r, s) { n = split(a, r, " "); split(x, s, " "); \
		for (i = 1; i <= n; i++) { ok = 1; for (j in s) if (s[j] == r[i]) ok = 0; if (ok) print r[i] } \
		a = ""; x = "" } END { flush() }' scenarios/*.scn | sort -u),$(ALL_ARCHES))
ARCH ?= $(CHECK_ARCHES)
# In a recipe: the rows that KEY (arches, slow_on) of the scenario FILES
# names, one per line: $(call scn_rows,KEY,FILES)
scn_rows = $$(sed -n 's/^$(1) *= *//p' $(2) | tr ' ' '\n' | sort -u)
VARIANT ?= main
B := build
CFLAGS := -O2 -g -Wall -Wextra -Wno-missing-field-initializers -Wno-format-truncation -Werror=implicit-function-declaration
RIG := $(B)/bin/rig
SCENARIOS := $(sort $(wildcard scenarios/*.scn))
PROVOKE ?= $(sort $(wildcard tests/provoke/$(VARIANT)/*.scn))

# KSRC=/path/to/linux: build and test that tree as it is (variant "own"),
# with the rig's fragments and KCONFIG=extra.config if given.
ifneq ($(KSRC),)
override VARIANT := own
export KSRC
endif
export KCONFIG

DEBS := gcc make bc bison flex libelf-dev libssl-dev cpio xz-utils kmod ccache \
	pkg-config libjson-c-dev gnuplot-nox qemu-system-x86 qemu-system-ppc python3-ply python3-git \
	gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross linux-source-6.12

# The list of rows is all make reads of arches.tbl; columns come from the
# rig (rig arch NAME COLUMN), the table's one reader.
arch_cc = $$($(RIG) arch $(1) cross)gcc

.SECONDARY: $(foreach a,$(ALL_ARCHES),$(B)/agent/$(a)/init)
.PHONY: lines bisect-table bench shell torture races slow send-prep all deps base tree export kernels selftests initramfs rig run check bisect provoke fixtures lint checkpatch clean known-issues race-window
all: rig kernels initramfs

$(B)/.deps: Makefile
	@missing=$$(for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: need root for apt-get" >&2; exit 1; fi; \
		apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			$$(echo $$missing | tr ' ' '\n' | grep -vx 'linux-source-6.12') >/dev/null || \
			{ echo "deps: apt-get install failed" >&2; exit 1; }; \
	fi
	@mkdir -p $(B) && touch $@
deps: $(B)/.deps

base: deps
	@scripts/base.sh

tree: base
	@scripts/series.sh apply main

export:
	@scripts/series.sh export

$(RIG): $(wildcard rig/*.c rig/*.h) | deps
	@mkdir -p $(dir $@)
	@echo "rig: building $@"
	@$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $$(pkg-config --cflags --libs json-c)
rig: $(RIG)

$(B)/agent/%/init: guest/agent.c | deps $(RIG)
	@mkdir -p $(dir $@)
	@echo "agent: building $@"
	@$(call arch_cc,$*) $(CFLAGS) -static -o $@ $<

kernels: base rig
	@for a in $(ARCH); do scripts/kernel.sh $$a $(VARIANT) || exit 1; done

# The series' kselftests, static, from the full series (scripts/selftests.sh).
selftests: base rig
	@for a in $(ARCH); do scripts/selftests.sh $$a || exit 1; done

# The initramfs is made with the kernel's own gen_init_cpio: the agent as
# /init, the kselftests in /selftests, busybox for make shell.  Always remade (it takes
# milliseconds): the selftests have no make-visible prerequisites.
$(B)/initramfs/%.cpio: $(B)/agent/%/init guest/initramfs.list FORCE | kernels selftests
	@mkdir -p $(dir $@)
	@scripts/busybox.sh $*
	@{ sed -e 's|@AGENT@|$(abspath $<)|' \
		-e "s|@BUSYBOX@|$(abspath $(B))/busybox/$$($(RIG) arch $* debarch)/bin/busybox|" \
		guest/initramfs.list; \
	  for f in $$(find $(B)/selftests/$* -maxdepth 1 -type f -perm -u+x | sort); do \
		echo "file /selftests/$${f##*/} $(abspath .)/$$f 0755 0 0"; \
	  done; } >$@.list
	@$(B)/kernels/$(VARIANT)/$*/gen_init_cpio $@.list >$@.tmp && mv $@.tmp $@
initramfs: $(foreach a,$(ARCH),$(B)/initramfs/$(a).cpio)
FORCE:

# make run shows one architecture: the first of arches.tbl unless ARCH is given.
RUN_ARCH := $(if $(filter command line environment,$(origin ARCH)),$(ARCH),$(firstword $(ALL_ARCHES)))
RUN_SCENARIOS := scenarios/dimm.scn scenarios/virtio-mem.scn scenarios/dimm-hpt.scn
run: rig
	@$(MAKE) --no-print-directory kernels initramfs ARCH="$(RUN_ARCH)" VARIANT=$(VARIANT)
	@$(RIG) run $(foreach a,$(RUN_ARCH),--arch $(a)) --variant $(VARIANT) $(RUN_SCENARIOS)

check: rig kernels initramfs
	@COVERAGE_PARTIAL=$(if $(filter-out $(ARCH),$(CHECK_ARCHES)),1,0) scripts/coverage.sh $(VARIANT) $(ARCH)
	@$(RIG) rescan tests/rescan/run | diff -u tests/rescan/expect - || \
		{ echo "check: rig rescan of tests/rescan/run differs from tests/rescan/expect" >&2; exit 1; }
	@for t in kcsan:kcsan kcsan:kcsan-one-fails \
		memory_hotplug_locking:memory_hotplug_locking-kunit-alone-x86_64 \
		memory_hotplug_locking:memory_hotplug_locking-kunit-alone-ppc64le; do \
		echo "== $${t#*:}"; $(RIG) kunit $${t%%:*} tests/ktap/$${t#*:}.log; done | \
		diff -u tests/ktap/expect - || \
		{ echo "check: rig kunit on tests/ktap/*.log differs from tests/ktap/expect" >&2; exit 1; }
	@scripts/bench.sh --selftest
	@for r in run run2; do \
		rm -rf $(B)/races-test && cp -r tests/races/$$r $(B)/races-test && \
		RACES_OUT=$(B)/races-test RACES_KERNELS=$(B)/races-test scripts/races.sh --recheck 2>&1 | \
		diff -u tests/races/$$r.expect - || \
		{ echo "check: scripts/races.sh --recheck of tests/races/$$r differs from tests/races/$$r.expect" >&2; exit 1; }; \
	done
	@rm -rf $(B)/callers-test && cp -r tests/callers/run $(B)/callers-test && \
	$(RIG) callers --table tests/callers/table $(B)/callers-test | diff -u tests/callers/expect - && \
	diff -u tests/callers/coverage.expect $(B)/callers-test/coverage.tsv || \
		{ echo "check: rig callers of tests/callers/run differs from tests/callers/*expect" >&2; exit 1; }
	@rm -rf $(B)/lines-test && mkdir -p $(B)/lines-test && cp -r tests/lines/run tests/lines/bad $(B)/lines-test/ && \
	{ $(RIG) lines $(B)/lines-test/run && cat $(B)/lines-test/run/lines.tsv $(B)/lines-test/run/lines-functions.tsv; \
	  $(RIG) lines $(B)/lines-test/bad 2>&1; echo "rc=$$?"; } | diff -u tests/lines/expect - || \
		{ echo "check: rig lines of tests/lines/ differs from tests/lines/expect" >&2; exit 1; }
	@$(if $(filter x86_64,$(ARCH)),scripts/shell-check.sh x86_64 $(VARIANT) >$(B)/shell-check.tap 2>&1 &) \
	$(RIG) check $(foreach a,$(ARCH),--arch $(a)) --variant $(VARIANT) $(if $(JOBS),--jobs $(JOBS)) \
		--callers --fixtures tests/fixtures --refuse tests/refuse --judge tests/judge $(SCENARIOS); rc=$$?; \
	$(if $(filter x86_64,$(ARCH)),wait; cat $(B)/shell-check.tap; \
		grep -q '^not ok' $(B)/shell-check.tap && rc=1; \
		grep -q '^1\.\.' $(B)/shell-check.tap || rc=1;) \
	exit $$rc

# Line coverage of the files tests/callers.tbl covers as a whole: make
# check's scenarios on the gcov rows of the architectures (x86_64-gcov runs
# what x86_64 runs), then rig lines.  docs/callers/lines*.tsv keep the
# latest tables (rig/lines.c).
GCOV_ARCHES := $(filter $(foreach a,$(ARCH),$(a)-gcov),$(ALL_ARCHES))
lines: rig
	@[ -n "$(GCOV_ARCHES)" ] || { echo "lines: no gcov row for ARCH=$(ARCH) in arches.tbl" >&2; exit 1; }
	@$(MAKE) --no-print-directory kernels initramfs ARCH="$(GCOV_ARCHES)"
	@$(RIG) check $(foreach a,$(GCOV_ARCHES),--arch $(a)) $(if $(JOBS),--jobs $(JOBS)) \
		--callers $(SCENARIOS); rc=$$?; \
	$(RIG) lines $(B)/results/latest || exit 1; \
	cp $(B)/results/latest/lines.tsv $(B)/results/latest/lines-functions.tsv docs/callers/ && \
	echo "lines: docs/callers/lines.tsv and lines-functions.tsv updated"; \
	exit $$rc

# The scenario/row pairs too slow for make check (slow_on in a scenario):
# KSM and the readers on the KASAN kernel.  docs/slow.md has the latest
# results.
slow: rig
	@arches=$(call scn_rows,slow_on,$(SCENARIOS)); \
	$(MAKE) --no-print-directory kernels initramfs ARCH="$$arches" && \
	$(RIG) check --slow $$(for a in $$arches; do echo --arch $$a; done) $(if $(JOBS),--jobs $(JOBS)) \
		$(SCENARIOS)

# Data races, judged against the base (scripts/races.sh): on the KCSAN rows,
# the scenarios whose races_on names the row run on the base (prefix 0) and
# on the series, RUNS rounds each, alternating.  A race only the series
# shows fails; one on both must be a row of tests/known-issues.tbl.
# RECHECK=1 judges the last run again without booting anything.
# docs/races.md has the latest results.
races: rig
	@$(if $(RECHECK),scripts/races.sh --recheck,scripts/races.sh $(or $(RUNS),1) $(if $(filter command line,$(origin ARCH)),$(ARCH)))

# Base (prefix 0) against the series on the workloads of scenarios/bench/,
# RUNS runs each, alternating (scripts/bench.sh): a table and plots in
# build/results/bench-DATE/; docs/bench.md has the latest.  ARCH defaults
# to x86_64 ppc64le.  Not part of make check, which tests its table and
# plots on recorded samples (tests/bench/).
BENCH_ARCH := $(if $(filter command line environment,$(origin ARCH)),$(ARCH),x86_64 ppc64le)
bench: rig
	@scripts/bench.sh "$(BENCH_ARCH)" $(or $(RUNS),3)

# An interactive shell on the patched kernel (docs/shell.md); from a second
# terminal, build/bin/rig ctl plugs memory and CPUs into it.
shell: rig
	@$(MAKE) --no-print-directory kernels initramfs ARCH="$(RUN_ARCH)" VARIANT=$(VARIANT)
	@$(RIG) shell --arch $(RUN_ARCH) --variant $(VARIANT)

# Seeded hotplug torture (docs/torture.md): the torture scenarios of ARCH
# (x86_64 ppc64le by default) with other seeds, more operations or for a
# time: make torture ARCH=ppc64le SEED=7,8 OPS=200, or DURATION=3600.  A
# failure prints the make command that replays it.
TORTURE_ARCH := $(if $(filter command line environment,$(origin ARCH)),$(ARCH),x86_64 ppc64le)
torture: rig
	@$(MAKE) --no-print-directory kernels initramfs ARCH="$(TORTURE_ARCH)" VARIANT=$(VARIANT)
	@$(RIG) check $(foreach a,$(TORTURE_ARCH),--arch $(a)) --variant $(VARIANT) \
		$(if $(JOBS),--jobs $(JOBS)) $(if $(SEED),--seed $(SEED)) $(if $(OPS),--ops $(OPS)) \
		$(if $(DURATION),--duration $(DURATION)) $(wildcard scenarios/torture*.scn)

# Kernel style for the rig and the agent.  They are userspace: rig.h defines
# the attribute macros the kernel's headers would, and a signal flag is a
# volatile sig_atomic_t by definition.
CHECKPATCH_USERSPACE := SPDX_LICENSE_TAG,FILE_PATH_CHANGES,PREFER_DEFINED_ATTRIBUTE_MACRO,VOLATILE
lint: base
	@$(B)/src/scripts/checkpatch.pl --no-tree --strict -q --terse --max-line-length=100 \
		--ignore $(CHECKPATCH_USERSPACE) -f rig/*.c rig/*.h guest/*.c

# Every prefix of the series (0 = the base) must build, boot and pass
# (scripts/bisect.sh; FIRST=i LAST=j for a range, RERUN=1 to run a prefix
# whose passing row docs/bisect.tsv already holds).  Slow: a kernel build per
# architecture and the suite per prefix, 15-25 minutes each.  Not run by CI.
bisect: rig
	@CHECK_ARCHES="$(CHECK_ARCHES)" scripts/bisect.sh $(or $(FIRST),0) $(LAST)
bisect-table: rig
	@CHECK_ARCHES="$(CHECK_ARCHES)" scripts/bisect.sh --table

# checkpatch.pl must run from the top of a kernel tree.  Its guess "does
# MAINTAINERS need updating?" (any new file) is replaced by the real check:
# get_maintainer.pl must find a MAINTAINERS section for every added file.
# The stored patches carry no identity: 'make send-prep' adds the sender's
# From: and Signed-off-by from git config.  EMBEDDED_FUNCTION_NAME misfires on thread-name formats
# like "kcompactd%d" in a hunk whose context is the thread function.
# UNKNOWN_COMMIT_ID: the base is an unpacked source package without
# history, so no Fixes: id can be looked up here (the ids are mainline's).
checkpatch: base
	@scripts/series.sh apply main
	@cd $(B)/src && for p in $$(sed -e 's/#.*//' ../../patches/series); do \
		echo "checkpatch: $$p"; \
		PATH=/usr/bin:$$PATH scripts/checkpatch.pl --strict -q \
			--ignore FILE_PATH_CHANGES,MISSING_SIGN_OFF,EMBEDDED_FUNCTION_NAME,UNKNOWN_COMMIT_ID \
			../../patches/$$p || exit 1; \
		for f in $$(awk '/^new file mode/ { n = 1; next } \
				n && /^\+\+\+ b\// { print substr($$2, 3); n = 0 }' ../../patches/$$p); do \
			scripts/get_maintainer.pl --no-git --no-git-fallback --no-rolestats \
				--no-l --no-r -f $$f 2>/dev/null | grep -q . || \
				{ echo "checkpatch: $$p adds $$f, which no MAINTAINERS section covers"; exit 1; }; \
		done; \
	done

# build/send/: the series with the sender's identity (git config), ready
# for git send-email.
send-prep: base
	@scripts/send-prep.sh

clean:
	rm -rf $(B)/bin $(B)/agent $(B)/initramfs $(B)/results

# Provoked reports, live: tests/provoke/VARIANT/*.scn run on that variant
# of the series (main: LKDTM and sysrq; naive*: the negative controls).
# Each must produce exactly the reports it declares (expect_report).
# A variant runs on the architectures its scenarios name (of those in ARCH).
PROVOKE_VARIANTS := $(notdir $(wildcard tests/provoke/*))
provoke: rig
	@failed=; for v in $(PROVOKE_VARIANTS); do \
		arches=$$(echo "$(call scn_rows,arches,tests/provoke/$$v/*.scn)" | \
			grep -xF -e "$$(echo $(ARCH) | tr ' ' '\n')" | tr '\n' ' '); \
		[ -n "$$arches" ] || continue; \
		$(MAKE) --no-print-directory kernels initramfs VARIANT=$$v ARCH="$$arches" || exit 1; \
		$(RIG) check $$(for a in $$arches; do echo --arch $$a; done) --variant $$v \
			tests/provoke/$$v/*.scn || failed="$$failed $$v"; \
	done; \
	[ -z "$$failed" ] || { echo "provoke: FAILED on:$$failed"; exit 1; }

# Every report of tests/known-issues.tbl must still occur on the base
# (prefix 0) in the scenarios listed for it.
KNOWN_ARCHES := $(filter $(ARCH),$(shell awk '!/^\#/ && NF { print $$1 }' tests/known-issues.tbl | sort -u))
KNOWN_SCENARIOS = $(sort $(foreach n,$(shell awk -F'|' '!/^\#/ && NF > 2 { print $$2 }' tests/known-issues.tbl),$(wildcard scenarios/$(n).scn)))
known-issues: rig
	@$(MAKE) --no-print-directory kernels initramfs VARIANT=prefix-0 ARCH="$(KNOWN_ARCHES)"
	@$(RIG) check --known-issues $(foreach a,$(KNOWN_ARCHES),--arch $(a)) --variant prefix-0 \
		$(KNOWN_SCENARIOS)

# Race-window controls (tests/race-window/VARIANT): a variant that holds a
# race window open, and a scenario that drives both sides into it.
# Each runs on the rows of arches.tbl its scenarios name.
RACE_VARIANTS := $(notdir $(wildcard tests/race-window/*))
race-window: rig
	@failed=; for v in $(RACE_VARIANTS); do \
		arches=$(call scn_rows,arches,tests/race-window/$$v/*.scn); \
		$(MAKE) --no-print-directory kernels initramfs VARIANT=$$v ARCH="$$arches" || exit 1; \
		$(RIG) check $$(for a in $$arches; do echo --arch $$a; done) --variant $$v \
			tests/race-window/$$v/*.scn || failed="$$failed $$v"; \
	done; \
	[ -z "$$failed" ] || { echo "race-window: FAILED on:$$failed"; exit 1; }

# Record scanner fixtures from provoked reports (tests/provoke) on this
# rig's kernels.  Review each log and write its .expect by hand.
fixtures: rig kernels initramfs
	@$(RIG) run $(foreach a,$(ARCH),--arch $(a)) --variant $(VARIANT) \
		--record tests/fixtures $(PROVOKE)
