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
	"$here/clients_kcat.sh"
	"$here/clients_librdkafka.sh"
	"$here/clients_kafkajs.sh"
	"$here/clients_sarama.sh"
	"$here/clients_confluent_kafka.py"
	"$here/clients_kafka_python.py"
	"$here/protocol_apis.py"
	"$here/produce_concurrent.py"
	"$here/connections_many.py"
	"$here/bad_input_raw.py"
	"$here/restart_persistence.sh"
	"$here/retention.py"
	"$here/compaction.py"
	"$here/crash_kill9.py"
	"$here/topic_configs.py"
	"$here/compression_type.py"
	"$here/groups_rebalance.py"
	"$here/groups_offsets_restart.py"
	"$here/groups_protocol_errors.py"
	"$here/protocol_fetch_txn_idle.py"
	"$here/fetch_sessions.py"
	"$here/tls_listeners.sh"
	"$here/py_acl.py"
	"$here/install.sh"
	"$here/make_run.sh"
	"$here/make_run_cluster.sh"
	"$here/certs_rotation.sh"
	"$here/certs_sighup_reload.sh"
	"$here/cluster_isr.sh"
	"$here/cluster_e2e.sh"
	"$here/metrics_e2e.sh"
	"$here/py_metrics_badinput.py"
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
