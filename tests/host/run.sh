#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host end-to-end tests: real clients (kcat, librdkafka, confluent-kafka)
# against a real kbrokerd on loopback.  Usage: tests/host/run.sh RESULTS
# Assumes `make daemon` was done; builds the C tests, then runs every test
# through tests/run-tap, which appends pass/fail lines to RESULTS.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
results=${1:?usage: $0 RESULTS}
case $results in /*) ;; *) results=$PWD/$results ;; esac

cd "$top" || exit 1
if [ ! -x build/daemon/kbrokerd ]; then
	echo "fail host: build/daemon/kbrokerd missing (make daemon)" >>"$results"
	echo "# build/daemon/kbrokerd missing (make daemon)"
	exit 1
fi
export B=${B:-$top/build}
if ! make -s -C tests/host B="$B"; then
	echo "fail host: building the C host tests" >>"$results"
fi

tests=(
	"$here/kcat_e2e.sh"
	"$here/rdk_e2e.sh"
	"$here/js_e2e.sh"
	"$here/sarama_e2e.sh"
	"$here/py_e2e.py"
	"$here/kp_e2e.py"
	"$here/py_protocol.py"
	"$here/py_concurrent.py"
	"$here/py_manyconn.py"
	"$here/py_badinput.py"
	"$here/restart_e2e.sh"
	"$here/py_retention.py"
	"$here/py_crash.py"
	"$here/py_configs.py"
	"$here/py_group.py"
	"$here/py_group_restart.py"
	"$here/py_group_proto.py"
	"$here/py_wire.py"
	"$here/tls_e2e.sh"
	"$here/install_e2e.sh"
	"$here/run_e2e.sh"
	"$here/cert_rotate.sh"
	"$here/sighup_e2e.sh"
	"$here/cluster_e2e.sh"
)
# Each test starts its own broker(s) on free ports; none needs more than a
# minute, the timeout only guards against a hung broker or client.
# run-tap names results after the program, so each wrapper (adding the
# timeout) carries the test's own name.
wrap=$(mktemp -d)
trap 'rm -rf "$wrap"' EXIT
for t in "${tests[@]}"; do
	printf '#!/bin/sh\nexec timeout -k 10 240 "%s"\n' "$t" >"$wrap/${t##*/}"
	chmod +x "$wrap/${t##*/}"
	tests/run-tap "$results" "$wrap/${t##*/}"
done
exit 0
