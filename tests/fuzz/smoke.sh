#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make check's share of the fuzzer: it must build (it links the whole
# daemon, so it breaks when a dependency is added), replay the seed corpus
# and survive a short fixed-seed run under ASan and UBSan.  TAP.
cd "$(dirname "$0")" || exit 1
log=${B:-../../build}/fuzz-smoke.log
mkdir -p "$(dirname "$log")"
if make -s all >"$log" 2>&1; then
	echo "ok 1 - the request fuzzer builds"
else
	sed 's/^/# /' "$log" | tail -20
	echo "not ok 1 - the request fuzzer builds"
	exit 0
fi
if make -s smoke >"$log" 2>&1; then
	echo "ok 2 - seed corpus and $(grep -o 'Done [0-9]* runs' "$log" | tail -1 | cut -d' ' -f2) fuzzed inputs clean"
else
	grep -E 'ERROR|SUMMARY|runtime error|artifact' "$log" | head -20 | sed 's/^/# /'
	echo "not ok 2 - seed corpus and short fuzz run clean"
fi
