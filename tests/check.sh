#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make check: style, build, host unit tests, a fuzzer smoke run, host
# end-to-end tests with real clients, and the guest suite in one QEMU boot.  Ends with one line
# "N passed, N failed" and a non-zero exit on any failure.
B=${B:-$(pwd)/build}
export B
mkdir -p "$B"
results=$B/results
: >"$results"

section() { echo; echo "######## $*"; }

section build
if ! make -s all unit-build guest-build >"$B/build.log" 2>&1; then
	cat "$B/build.log"
	echo "fail build: make all unit-build guest-build (see above)" >>"$results"
	tests/summary.sh "$results"
	exit 1
fi
echo "pass build: module, daemon, tests" >>"$results"
echo "built kbroker.ko for $KVER, kbrokerd, kbrokerctl and the tests"

# The guest suite runs under software emulation and takes minutes: boot
# it now, beside the host tests, and report it after them.
guest_results=$B/results.guest
guest_log=$B/guest-run.log
: >"$guest_results"
start=$(date +%s)
tests/guest/run.sh "$guest_results" >"$guest_log" 2>&1 &
guest_pid=$!

section checkpatch
tests/run-tap "$results" tests/checkpatch.sh

section "netlink spec against the uapi header"
tests/run-tap "$results" tests/netlink_spec.sh

section "daemon layers (no call to a later layer)"
tests/run-tap "$results" tests/layers.sh

section "host unit tests"
tests/run-tap "$results" "$B"/tests/unit/test_*

section "request fuzzer (build, seed corpus, short run)"
tests/run-tap "$results" tests/fuzz/smoke.sh

if [ -x tests/host/run.sh ]; then
	section "host end-to-end tests"
	tests/host/run.sh "$results"
	echo "# host tests done after $(($(date +%s) - start)) s"
fi

section "guest tests (QEMU, $KVER)"
wait "$guest_pid"
cat "$guest_log"
cat "$guest_results" >>"$results"

section summary
tests/summary.sh "$results"
