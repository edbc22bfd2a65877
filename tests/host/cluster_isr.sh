#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The cluster layer's ISR change API (kb_cluster_isr_update) against a
# private ZooKeeper: tests/unit/test_cluster_isr runs three members in one
# process; here it gets a live server.  Its TAP is this test's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/zk.sh"

trap 'zk_cleanup; kb_cleanup' EXIT
BIN=${B:-$KB_ROOT/build}/tests/unit/test_cluster_isr
if [ ! -x "$BIN" ]; then
	tap_ok 1 "$BIN built (make unit-build)"
	tap_done
	exit
fi
zk_init
if ! zk_start; then
	tap_ok 1 "ZooKeeper starts"
	tap_done
	exit
fi
KB_TMPDIR=$KB_TMP KB_TEST_ZK=$ZK_CONNECT "$BIN"
