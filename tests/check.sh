#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make check: style, build, host unit tests, host end-to-end tests with
# real clients, and the guest suite in one QEMU boot.  Ends with one line
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

section checkpatch
tests/run-tap "$results" tests/checkpatch.sh

section "host unit tests"
tests/run-tap "$results" "$B"/tests/unit/test_*

if [ -x tests/host/run.sh ]; then
	section "host end-to-end tests"
	tests/host/run.sh "$results"
fi

section "guest tests (QEMU, $KVER)"
tests/guest/run.sh "$results"

section summary
tests/summary.sh "$results"
