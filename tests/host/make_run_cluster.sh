#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run BROKERS=3`: ZooKeeper and three brokers come up on free ports;
# kcat over TLS sees all three from any one of them, produces to demo and
# reads it back; SIGTERM (what Ctrl-C does) stops every broker with a
# controlled shutdown and then ZooKeeper, all exiting 0.
. "$(dirname "$0")/lib.sh"

cd "$KB_ROOT" || exit 1
RUN=$KB_TMP/run
PORT=$(kb_free_port)
ZKPORT=$(kb_free_port)
MAKE_PID=
LOG=$KB_TMP/run.log

if [ ! -x /usr/share/zookeeper/bin/zkServer.sh ]; then
	echo "1..0 # SKIP no ZooKeeper (make deps installs it)"
	exit 0
fi
cleanup()
{
	if [ -n "$MAKE_PID" ] && kill -0 "$MAKE_PID" 2>/dev/null; then
		kill -TERM "$MAKE_PID"
		wait "$MAKE_PID"
	fi
	kb_cleanup
}
trap cleanup EXIT

# The three client ports and the inter-broker ones must be free too.
for p in 0 1 2 100 101 102 200 201 202; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$((PORT + p))") 2>/dev/null; then
		echo "1..0 # SKIP port $((PORT + p)) in use"
		exit 0
	fi
done

RUN_DIR=$RUN KBROKER_PORT=$PORT KBROKER_ZK_PORT=$ZKPORT \
	make -s run BROKERS=3 >"$LOG" 2>&1 &
MAKE_PID=$!
ok=1
for i in $(seq 1 120); do
	grep -q '^run-cluster: ready' "$LOG" && { ok=0; break; }
	kill -0 "$MAKE_PID" 2>/dev/null || break
	sleep 1
done
tap_ok $ok "make run BROKERS=3 says ready"
if [ $ok -ne 0 ]; then
	sed 's/^/# /' "$LOG" | tail -30
	tap_done
	exit
fi
grep -q "^run-cluster: metadata: kcat -b 127.0.0.1:$PORT,127.0.0.1:$((PORT + 1)),127.0.0.1:$((PORT + 2)) -X security.protocol=ssl" "$LOG"
tap_ok $? "it prints how to connect (TLS, the three brokers)"

KC="kcat -X security.protocol=ssl -X ssl.ca.location=$RUN/ca.pem"
for b in 0 1 2; do
	out=$(timeout 20 $KC -b "127.0.0.1:$((PORT + b))" -m 10 -L -J 2>/dev/null | $PY -c '
import json, sys
m = json.load(sys.stdin)
print(" ".join("%d@%s" % (b["id"], b["name"]) for b in sorted(m["brokers"], key=lambda b: b["id"])), m["controllerid"])')
	want="1@127.0.0.1:$PORT 2@127.0.0.1:$((PORT + 1)) 3@127.0.0.1:$((PORT + 2))"
	[ "${out% *}" = "$want" ] && [ "${out##* }" -ge 1 ]
	tap_ok $? "kcat over TLS through broker $((b + 1)) sees three brokers and a controller ($out)"
done
seq 1 30 | sed 's/^/m/' >"$KB_TMP/in"
timeout 60 $KC -b "127.0.0.1:$PORT" -X topic.message.timeout.ms=30000 -P -t demo \
	-l "$KB_TMP/in" 2>"$KB_TMP/perr"
tap_ok $? "kcat produces 30 messages to demo (auto-created in the cluster)"
: >"$KB_TMP/out"
for p in 0 1 2; do
	timeout 60 $KC -b "127.0.0.1:$((PORT + 2))" -C -t demo -p $p -o beginning -e -q \
		>>"$KB_TMP/out" 2>/dev/null
done
sort "$KB_TMP/in" | cmp -s - <(sort "$KB_TMP/out")
tap_ok $? "all 30 read back from the partitions' leaders ($(wc -l <"$KB_TMP/out"))"

# make itself exits non-zero after a SIGTERM; the script's words count.
kill -TERM "$MAKE_PID"
wait "$MAKE_PID"
MAKE_PID=
rc=1
for i in $(seq 1 60); do
	grep -q "^run-cluster: stopped; data kept in $RUN" "$LOG" && { rc=0; break; }
	sleep 1
done
tap_ok $rc "SIGTERM stops the cluster"
[ $rc -eq 0 ] || tail -20 "$LOG" | sed 's/^/# /'
n=$(grep -c "^run-cluster: broker [123] exited with status 0" "$LOG")
[ "$n" = 3 ] && grep -q "^run-cluster: ZooKeeper stopped" "$LOG"
tap_ok $? "every broker exited 0, then ZooKeeper stopped"
n=$(grep -l "controlled shutdown" "$RUN"/b[123]/kbrokerd.log | wc -l)
[ "$n" = 3 ]
tap_ok $? "each broker ran a controlled shutdown ($n)"
tap_done
