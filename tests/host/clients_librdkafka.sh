#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the librdkafka end-to-end test (clients_librdkafka.c, built by
# run.sh into build/tests/host/) against a fresh kbrokerd.
. "$(dirname "$0")/lib.sh"

BIN=${RDK_E2E:-${B:-$KB_ROOT/build}/tests/host/clients_librdkafka}
PARTS=3

if [ ! -x "$BIN" ]; then
	tap_ok 1 "$BIN built (make -C tests/host)"
	tap_done
	exit
fi
kb_config "num.partitions=$PARTS" "log.segment.bytes=1048576"
if ! kb_start; then
	tap_ok 1 "kbrokerd starts"
	tap_done
	exit
fi
# Our checks continue clients_librdkafka's numbering; its plan line is dropped.
timeout 300 "$BIN" "$KB_BOOTSTRAP" $PARTS | tee "$KB_TMP/out" |
	grep -v '^1\.\.[0-9]*$'
rc=${PIPESTATUS[0]}
TAP_N=$(grep -cE '^(not )?ok ' "$KB_TMP/out")
TAP_FAILED=$(grep -c '^not ok ' "$KB_TMP/out")
[ $rc -eq 0 ] || [ "$TAP_FAILED" -gt 0 ] || tap_ok 1 "clients_librdkafka exits 0 (status $rc)"
[ $rc -eq 0 ] || kb_dump_log 40
kb_alive
tap_ok $? "kbrokerd still running after the librdkafka test"
kb_stop
tap_ok $? "kbrokerd exits 0 on SIGTERM"
tap_done
