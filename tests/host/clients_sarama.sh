#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Go client Sarama (Debian's golang-github-shopify-sarama-dev, built
# in GOPATH mode against Debian's Go libraries) against kbrokerd: see
# tests/host/go/sarama_e2e.go.
. "$(dirname "$0")/lib.sh"

bin=$B/tests/host/sarama_e2e
mkdir -p "$B/tests/host" "$B/go-cache"
if ! (cd "$(dirname "$0")/go" &&
	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$B/go-cache \
		CGO_CFLAGS=-Wno-deprecated-declarations \
		go build -o "$bin" sarama_e2e.go) >"$KB_TMP/build.log" 2>&1; then
	sed 's/^/# /' "$KB_TMP/build.log"
	echo "not ok 1 - sarama_e2e builds"
	exit 1
fi
kb_config "num.partitions=1" "auto.create.topics.enable=false"
kb_start || { echo "not ok 1 - kbrokerd starts"; kb_dump_log; exit 1; }
timeout 180 "$bin" "$KB_BOOTSTRAP"
rc=$?
[ $rc = 0 ] || kb_dump_log
if kb_stop; then
	echo "ok - kbrokerd shuts down cleanly after the Go client"
else
	echo "not ok - kbrokerd shuts down cleanly after the Go client"
	rc=1
fi
exit $rc
