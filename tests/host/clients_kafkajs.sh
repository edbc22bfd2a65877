#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kafkajs end-to-end test: installs the pinned kafkajs (tests/host/js/
# package-lock.json) with npm ci into $B/tests/host/js/node_modules, never
# into the source tree, then runs js/e2e.js against a fresh kbrokerd.
. "$(dirname "$0")/lib.sh"

B=${B:-$KB_ROOT/build}
JSDIR=$B/tests/host/js
SRC=$KB_ROOT/tests/host/js

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	tap_ok 1 "node and npm installed (Debian nodejs/npm or Node.js 20)"
	tap_done
	exit
fi
mkdir -p "$JSDIR"
# npm ci only when the lock file changed since the last install.
if ! cmp -s "$SRC/package-lock.json" "$JSDIR/package-lock.json" ||
	! cmp -s "$SRC/package.json" "$JSDIR/package.json" ||
	[ ! -f "$JSDIR/node_modules/kafkajs/package.json" ]; then
	cp "$SRC/package.json" "$SRC/package-lock.json" "$JSDIR/"
	if ! (cd "$JSDIR" && timeout 180 npm ci --no-audit --no-fund) \
		>"$KB_TMP/npm.log" 2>&1; then
		sed 's/^/#   /' "$KB_TMP/npm.log" | tail -20
		rm -f "$JSDIR/package-lock.json"
		tap_ok 1 "npm ci installs kafkajs (npm registry unreachable?)"
		tap_done
		exit
	fi
fi
tap_ok 0 "kafkajs $(sed -n 's/.*"version": "\(.*\)".*/\1/p' \
	"$JSDIR/node_modules/kafkajs/package.json" | head -1) installed by npm ci"

kb_config "num.partitions=1"
if ! kb_start; then
	tap_ok 1 "kbrokerd starts"
	tap_done
	exit
fi
# e2e.js numbers its checks after ours; its plan line is dropped.
NODE_PATH=$JSDIR/node_modules timeout 170 node "$SRC/e2e.js" "$KB_BOOTSTRAP" |
	tee "$KB_TMP/out" | grep -v '^1\.\.[0-9]*$' |
	awk -v base=$TAP_N '/^(not )?ok [0-9]+/ { n = $0; sub(/^(not )?ok [0-9]+/, "", n);
		pre = ($1 == "not") ? "not ok" : "ok"; cnt++;
		print pre " " base + cnt n; fflush(); next } { print; fflush() }'
rc=${PIPESTATUS[0]}
TAP_N=$((TAP_N + $(grep -cE '^(not )?ok ' "$KB_TMP/out")))
TAP_FAILED=$((TAP_FAILED + $(grep -c '^not ok ' "$KB_TMP/out")))
[ $rc -eq 0 ] || [ "$(grep -c '^not ok ' "$KB_TMP/out")" -gt 0 ] ||
	tap_ok 1 "e2e.js exits 0 (status $rc)"
[ $rc -eq 0 ] || kb_dump_log 40
kb_alive
tap_ok $? "kbrokerd still running after the kafkajs test"
kb_stop
tap_ok $? "kbrokerd exits 0 on SIGTERM"
tap_done
