#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Three kbrokerd on loopback in one cluster on a private ZooKeeper (Debian's
# server), in-cluster TLS: membership and controller election.
#  - a broker started before ZooKeeper waits and says so, then joins;
#  - kcat on the plaintext client listener and over TLS on the inter-broker
#    listener sees all three brokers (the endpoints of the listener it used)
#    and the same controller from each broker; a plaintext client on the
#    inter-broker listener is refused;
#  - refused with a clear error: encryption.in.cluster=true with a plaintext
#    inter-broker listener, encryption.in.cluster=false against a cluster
#    created with true, a duplicate broker.id;
#  - kill -9 of the controller: another broker is elected, the killed one
#    rejoins when restarted; a broker whose session expired (SIGSTOP past
#    the session timeout) registers again; a ZooKeeper restart loses no
#    broker; SIGTERM leaves the cluster at once;
#  - topics in ZooKeeper: CreateTopics with replication factor 3 and with
#    an explicit assignment, spread over the brokers, leaders elected by
#    the controller; a replication factor above the live brokers refused;
#    records through any broker reach the leaders and read back whole;
#    NOT_LEADER_OR_FOLLOWER from a non-leader, FENCED_LEADER_EPOCH and
#    UNKNOWN_LEADER_EPOCH for a stale or future epoch; the partitions of a
#    killed leader go offline (not re-created empty elsewhere: there is no
#    replication yet) and come back whole when it returns;
#  - CreatePartitions (rack-aware and explicit) and DeleteTopics through
#    confluent-kafka's admin client: the controller elects the new
#    partitions' leaders and carries out deletions, every broker deletes
#    its local log;
#  - SIGTERM runs a controlled shutdown (nothing to move to without
#    replication: said so, and the broker leaves at once).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/zk.sh"
. "$(dirname "$0")/tls_ca.sh"

SESSION_MS=6000
N=3
declare -a PID CPORT BPORT MPORT

trap 'for p in "${PID[@]}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done; zk_cleanup; kb_cleanup' EXIT

CA=$KB_TMP/ca
if ! tls_make_ca "$CA" >/dev/null 2>&1; then
	tap_ok 1 "test CA made"
	tap_done
	exit
fi
zk_init

# conf ID [EXTRA...]: broker ID's config in $KB_TMP/bID/server.properties.
conf()
{
	local id=$1 d=$KB_TMP/b$1
	shift
	mkdir -p "$d"
	[ -n "${CPORT[$id]}" ] || CPORT[$id]=$(kb_free_port)
	[ -n "${BPORT[$id]}" ] || BPORT[$id]=$(kb_free_port)
	[ -n "${MPORT[$id]}" ] || MPORT[$id]=$(kb_free_port)
	{
		echo "broker.id=$id"
		echo "listeners=CLIENT://127.0.0.1:${CPORT[$id]},BROKER://127.0.0.1:${BPORT[$id]}"
		echo "listener.security.protocol.map=CLIENT:PLAINTEXT,BROKER:SSL"
		echo "listener.name.BROKER.ssl.keystore.location=$CA/server.pem"
		echo "ssl.truststore.location=$CA/ca.pem"
		echo "inter.broker.listener.name=BROKER"
		echo "log.dirs=$d/logs"
		echo "at.rest.encryption=off"
		echo "control.socket=$d/ctl.sock"
		echo "metrics.listener=http://127.0.0.1:${MPORT[$id]}"
		echo "zookeeper.connect=$ZK_CONNECT/kbroker/test"
		echo "zookeeper.session.timeout.ms=$SESSION_MS"
		echo "zookeeper.connection.timeout.ms=1000"
		echo "broker.rack=rack$id"
		for l in "$@"; do echo "$l"; done
	} >"$d/server.properties"
}

# start ID: runs broker ID in the background, appending to its log.
start()
{
	local d=$KB_TMP/b$1
	echo "# --- start $(date +%T)" >>"$d/log"
	"$KBROKERD" --config "$d/server.properties" >>"$d/log" 2>&1 &
	PID[$1]=$!
}

# wait_log ID PATTERN SECONDS: true once the log of ID has a new line
# matching PATTERN after its last start.
wait_log()
{
	local d=$KB_TMP/b$1 i
	for i in $(seq 1 $(($3 * 10))); do
		awk '/^# --- start/{n=NR} END{print n}' "$d/log" >"$d/start.n"
		tail -n +"$(cat "$d/start.n")" "$d/log" | grep -q -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

dump()
{
	echo "# broker $1 log:"
	tail -n "${2:-15}" "$KB_TMP/b$1/log" | sed 's/^/#   /'
}

# meta ID [kcat args]: kcat -L -J through broker ID's client listener.
meta()
{
	local id=$1
	shift
	timeout 20 kcat -b "127.0.0.1:${CPORT[$id]}" -m 10 -L -J "$@" 2>/dev/null
}

# brokers_seen ID: "controller=C 1@host:port 2@host:port ..." from broker ID.
brokers_seen()
{
	meta "$1" | $PY -c '
import json, sys
m = json.load(sys.stdin)
bs = sorted(m["brokers"], key=lambda b: b["id"])
print("controller=%d" % m["controllerid"], " ".join("%d@%s" % (b["id"], b["name"]) for b in bs))'
}

expect_brokers()
{
	local via=$1 want=$2 i got
	for i in $(seq 1 "${3:-1}"); do
		got=$(brokers_seen "$via")
		[ "${got#* }" = "$want" ] && { echo "$got"; return 0; }
		sleep 1
	done
	echo "$got"
	return 1
}

for id in 1 2 3; do conf "$id"; done
all3="1@127.0.0.1:${CPORT[1]} 2@127.0.0.1:${CPORT[2]} 3@127.0.0.1:${CPORT[3]}"

# 1. ZooKeeper down at start: broker 1 waits and says so.
start 1
wait_log 1 "still waiting for ZooKeeper at $ZK_CONNECT" 10
rc=$?
tap_ok $rc "a broker started before ZooKeeper waits and says so"
[ $rc -eq 0 ] || dump 1
kill -0 "${PID[1]}" 2>/dev/null
tap_ok $? "... and keeps running"
if ! zk_start; then
	tap_fail_rest 1 "ZooKeeper starts"
	tap_done
	exit
fi
tap_ok 0 "ZooKeeper answers on $ZK_CONNECT"
wait_log 1 "registered as broker 1" 30
rc=$?
tap_ok $rc "broker 1 registers once ZooKeeper is up"
[ $rc -eq 0 ] || dump 1
grep -q "created cluster .* encryption.in.cluster=true" "$KB_TMP/b1/log"
tap_ok $? "the first broker creates the cluster with encryption.in.cluster=true"

# 2. Two more brokers join.
start 2
start 3
ok=0
for id in 2 3; do
	wait_log "$id" "registered as broker $id" 30 || { ok=1; dump "$id"; }
done
tap_ok $ok "brokers 2 and 3 register"
cid=$(sed -n 's/^cluster.id=//p' "$KB_TMP/b1/logs/meta.properties")
same=0
for id in 2 3; do
	[ "$(sed -n 's/^cluster.id=//p' "$KB_TMP/b$id/logs/meta.properties")" = "$cid" ] || same=1
done
tap_ok $same "all three log dirs record the cluster id $cid from ZooKeeper"

ctl=
ok=0
for id in 1 2 3; do
	got=$(expect_brokers "$id" "$all3" 10)
	rc=$?
	[ $rc -eq 0 ] || { ok=1; echo "# via broker $id: $got"; }
	c=${got%% *}
	[ -z "$ctl" ] && ctl=$c
	[ "$c" = "$ctl" ] || { ok=1; echo "# via broker $id: $c, before: $ctl"; }
done
tap_ok $ok "Metadata from each broker lists all three (client listener) and one controller ($ctl)"
ctl=${ctl#controller=}
case $ctl in 1|2|3) tap_ok 0 "the controller is a live broker ($ctl)" ;; *) tap_ok 1 "the controller is a live broker ($ctl)" ;; esac
n=$(grep -l "broker $ctl is the controller (epoch" "$KB_TMP"/b*/log | wc -l)
[ "$n" -eq 1 ]
tap_ok $? "only broker $ctl says it was elected controller"

# 3. TLS on the inter-broker listener: the brokers' BROKER endpoints.
out=$(timeout 20 kcat -b "127.0.0.1:${BPORT[2]}" -X security.protocol=ssl \
	-X ssl.ca.location="$CA/ca.pem" -m 10 -L -J 2>/dev/null | $PY -c '
import json, sys
m = json.load(sys.stdin)
print(" ".join(sorted("%d@%s" % (b["id"], b["name"]) for b in m["brokers"])))')
want="1@127.0.0.1:${BPORT[1]} 2@127.0.0.1:${BPORT[2]} 3@127.0.0.1:${BPORT[3]}"
[ "$out" = "$want" ]
tap_ok $? "a TLS client on the inter-broker listener sees its endpoints: $out"
timeout 15 kcat -b "127.0.0.1:${BPORT[2]}" -m 5 -L >/dev/null 2>&1
[ $? -ne 0 ]
tap_ok $? "a plaintext client on the inter-broker listener is refused"

# 3b. Topics in ZooKeeper.
PROBE="$PY $(dirname "$0")/cluster_probe.py"
out=$($PROBE create "${CPORT[1]}" 2>/dev/null | tr '\n' ' ')
[ "$out" = "bad INVALID_REPLICATION_FACTOR t3 ok tx ok " ]
tap_ok $? "CreateTopics: RF 3 and an explicit assignment made, RF 4 over 3 brokers refused ($out)"
md=
for i in $(seq 1 30); do
	md=$($PROBE md "${CPORT[2]}" 2>/dev/null)
	[ "$(echo "$md" | awk '$1 ~ /^t[3x]$/ && $3 >= 0' | wc -l)" -eq 8 ] && break
	sleep 0.5
done
echo "$md" | sed 's/^/#   /'
ok=$(echo "$md" | awk '$1 == "t3" {
	n = split($4, r, ","); d = (r[1] != r[2] && r[2] != r[3] && r[1] != r[3])
	if (n != 3 || !d || $3 != r[1] || $5 != $3 || $6 != "-") bad++
	lead[$3]++; c++ }
	END { print (c == 6 && !bad && lead[1] == 2 && lead[2] == 2 && lead[3] == 2) ? 0 : 1 }')
tap_ok "$ok" "t3: 6 partitions on 3 distinct brokers each, 2 led by each broker, leader = first replica, ISR = leader"
echo "$md" | grep -q "^tx 0 1 1,2 1 -" && echo "$md" | grep -q "^tx 1 3 3,1 3 -"
tap_ok $? "tx: the explicit assignment [[1,2],[3,1]] kept, leaders 1 and 3"

# 3c. CreatePartitions and DeleteTopics through the admin path.
out=$($PROBE create1 "${CPORT[2]}" grow 2 2 2>/dev/null)
[ "$out" = "grow ok" ]
tap_ok $? "CreateTopics grow: 2 partitions, replication factor 2 ($out)"
out=$($PROBE grow "${CPORT[3]}" grow 5 2>/dev/null)
[ "$out" = "grow ok" ]
tap_ok $? "CreatePartitions grow to 5 through broker 3 ($out)"
out=$($PROBE grow "${CPORT[3]}" grow 4 2>/dev/null; $PROBE grow "${CPORT[3]}" grow 6 '[[1]]' 2>/dev/null;
	$PROBE grow "${CPORT[3]}" grow 6 '[[2,2]]' 2>/dev/null; $PROBE grow "${CPORT[3]}" nope 6 2>/dev/null)
out=$(echo $out)
[ "$out" = "grow INVALID_PARTITIONS grow INVALID_REPLICA_ASSIGNMENT grow INVALID_REPLICA_ASSIGNMENT nope UNKNOWN_TOPIC_OR_PART" ]
tap_ok $? "refused: fewer partitions, another replication factor, a broker twice, an unknown topic ($out)"
out=$($PROBE grow "${CPORT[1]}" grow 6 '[[3,1]]' 2>/dev/null)
[ "$out" = "grow ok" ]
tap_ok $? "CreatePartitions grow to 6 with an explicit assignment [[3,1]] ($out)"
for i in $(seq 1 30); do
	md=$($PROBE md "${CPORT[1]}" 2>/dev/null)
	[ "$(echo "$md" | awk '$1 == "grow" && $3 >= 0' | wc -l)" -eq 6 ] && break
	sleep 0.5
done
echo "$md" | grep "^grow" | sed 's/^/#   /'
ok=$(echo "$md" | awk '$1 == "grow" {
	n = split($4, r, ","); if (n != 2 || r[1] == r[2] || $3 != r[1] || $6 != "-") bad++
	c++ } END { print (c == 6 && !bad) ? 0 : 1 }')
tap_ok "$ok" "grow: 6 partitions, each on 2 distinct brokers (racks), each with its leader"
echo "$md" | grep -q "^grow 5 3 3,1 3 -"
tap_ok $? "grow-5 keeps the explicit assignment [3,1], led by 3"
seq 1 60 | sed 's/^/g-/' >"$KB_TMP/grow.in"
timeout 60 kcat -X socket.timeout.ms=20000 -X topic.message.timeout.ms=30000 \
	-b "127.0.0.1:${CPORT[2]}" -P -t grow -p 5 -l "$KB_TMP/grow.in" 2>/dev/null
timeout 60 kcat -b "127.0.0.1:${CPORT[2]}" -C -t grow -p 5 -o beginning -e -q \
	-f '%s\n' 2>/dev/null | cmp -s - "$KB_TMP/grow.in"
tap_ok $? "records produced to the new partition grow-5 read back"
ls -d "$KB_TMP"/b[123]/logs/grow-* >/dev/null 2>&1
tap_ok $? "every broker has the topic's local log"

out=$($PROBE delete "${CPORT[1]}" grow nope 2>/dev/null | tr '\n' ' ')
[ "$out" = "grow ok nope UNKNOWN_TOPIC_OR_PART " ]
tap_ok $? "DeleteTopics grow (and an unknown topic) through broker 1: $out"
gone=1
for i in $(seq 1 30); do
	n=0
	for id in 1 2 3; do
		$PROBE md "${CPORT[$id]}" 2>/dev/null | grep -q "^grow " && n=1
	done
	ls -d "$KB_TMP"/b[123]/logs/grow-* >/dev/null 2>&1 && n=1
	[ $n -eq 0 ] && { gone=0; break; }
	sleep 0.5
done
tap_ok $gone "grow is gone from every broker's Metadata and every local log"
[ $gone -eq 0 ] || ls -d "$KB_TMP"/b[123]/logs/grow-* | sed 's/^/#   /'
grep -q "topic grow deleted from the cluster" "$KB_TMP"/b*/log
tap_ok $? "the controller carried out the deletion"
out=$($PROBE create1 "${CPORT[3]}" grow 1 3 2>/dev/null)
n=$(timeout 30 kcat -b "127.0.0.1:${CPORT[3]}" -C -t grow -p 0 -o beginning -e -q 2>/dev/null | wc -l)
[ "$out" = "grow ok" ] && [ "$n" -eq 0 ]
tap_ok $? "grow created again: a new, empty topic ($out, $n records)"
out=$($PROBE delete "${CPORT[3]}" grow 2>/dev/null)
[ "$out" = "grow ok" ]
tap_ok $? "... and deleted again ($out)"

W=$KB_TMP/work
mkdir -p "$W"
seq 1 3000 | sed 's/^/record-/' >"$W/in"
KC="kcat -X socket.timeout.ms=20000 -X topic.message.timeout.ms=30000"
timeout 60 $KC -b "127.0.0.1:${CPORT[3]}" -P -t t3 -X partitioner=murmur2_random -K : \
	-l <(sed 's/^\(.*\)$/\1:\1/' "$W/in") 2>"$W/perr"
rc=$?
tap_ok $rc "kcat produces 3000 keyed records to t3 through broker 3 (to each leader)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$W/perr" | head
: >"$W/out"
for p in 0 1 2 3 4 5; do
	timeout 60 $KC -b "127.0.0.1:${CPORT[1]}" -C -t t3 -p $p -o beginning -e -q \
		-f '%s\n' >"$W/out.$p" 2>/dev/null
	cat "$W/out.$p" >>"$W/out"
done
sort "$W/in" | cmp -s - <(sort "$W/out")
tap_ok $? "every record reads back from the leaders through broker 1 ($(wc -l <"$W/out") records, per partition: $(for p in 0 1 2 3 4 5; do printf '%s ' "$(wc -l <"$W/out.$p")"; done))"

# Leader epochs: the probe asks each broker about t3-0.
lead0=$(echo "$md" | awk '$1 == "t3" && $2 == 0 {print $3}')
other=$(( lead0 % 3 + 1 ))
e=$($PROBE "${CPORT[$other]}" t3 0)
[ "$e" = 6 ]
tap_ok $? "ListOffsets of t3-0 at broker $other (not its leader): NOT_LEADER_OR_FOLLOWER ($e)"
e=$($PROBE "${CPORT[$lead0]}" t3 0)
e0=$($PROBE "${CPORT[$lead0]}" t3 0 0)
e1=$($PROBE "${CPORT[$lead0]}" t3 0 1)
[ "$e" = 0 ] && [ "$e0" = 0 ] && [ "$e1" = 76 ]
tap_ok $? "at its leader $lead0: served without an epoch and with epoch 0 ($e, $e0), UNKNOWN_LEADER_EPOCH for epoch 1 ($e1)"

# 4. Refusals.
conf 7
sed -i 's/^listener.security.protocol.map=.*/listener.security.protocol.map=CLIENT:PLAINTEXT,BROKER:PLAINTEXT/' \
	"$KB_TMP/b7/server.properties"
"$KBROKERD" --config "$KB_TMP/b7/server.properties" >"$KB_TMP/b7/log" 2>&1
rc=$?
grep -q "encryption.in.cluster=true needs the inter-broker listener BROKER to serve TLS only" "$KB_TMP/b7/log"
tap_ok $(( rc == 0 || $? )) "encryption.in.cluster=true with a plaintext inter-broker listener: refused to start (exit $rc)"
[ $rc -ne 0 ] || dump 7

conf 8 "encryption.in.cluster=false"
timeout 60 "$KBROKERD" --config "$KB_TMP/b8/server.properties" >"$KB_TMP/b8/log" 2>&1
rc=$?
grep -q "created with encryption.in.cluster=true and this broker has encryption.in.cluster=false" "$KB_TMP/b8/log"
tap_ok $(( rc == 0 || rc == 124 || $? )) "a broker with encryption.in.cluster=false cannot join the cluster created with true (exit $rc)"
[ $rc -ne 0 ] && [ $rc -ne 124 ] || dump 8

CPORT[9]=$(kb_free_port)
BPORT[9]=$(kb_free_port)
conf 9
sed -i 's/^broker.id=9/broker.id=2/' "$KB_TMP/b9/server.properties"
timeout 60 "$KBROKERD" --config "$KB_TMP/b9/server.properties" >"$KB_TMP/b9/log" 2>&1
rc=$?
grep -q "broker.id 2 is already registered by another live broker" "$KB_TMP/b9/log"
tap_ok $(( rc == 0 || rc == 124 || $? )) "a second broker with broker.id 2 is refused after one session timeout (exit $rc)"
[ $rc -ne 0 ] && [ $rc -ne 124 ] || dump 9
expect_brokers 1 "$all3" 1 >/dev/null
tap_ok $? "... and broker 2 is still the one listed"

# 5. kill -9 of the controller: another is elected within the session
# timeout (plus a margin for this shared machine).
old=$ctl
{ kill -KILL "${PID[$old]}"; wait "${PID[$old]}"; } 2>/dev/null
PID[$old]=
t0=$(date +%s)
left=
for id in 1 2 3; do [ "$id" != "$old" ] && left="$left $id"; done
set -- $left
want="$1@127.0.0.1:${CPORT[$1]} $2@127.0.0.1:${CPORT[$2]}"
new=
for i in $(seq 1 60); do
	got=$(brokers_seen "$1")
	c=${got%% *}
	c=${c#controller=}
	if [ "${got#* }" = "$want" ] && [ "$c" != "$old" ] && [ "$c" != -1 ]; then
		new=$c
		break
	fi
	sleep 0.5
done
t1=$(date +%s)
[ -n "$new" ]
tap_ok $? "after kill -9 of controller $old, broker $new is controller and $old is gone from Metadata ($((t1 - t0)) s)"
[ -n "$new" ] || { echo "# last: $got"; dump "$1"; }
got2=$(brokers_seen "$2")
[ "${got2%% *}" = "controller=$new" ]
tap_ok $? "broker $2 agrees ($got2)"

md=$($PROBE md "${CPORT[$1]}" 2>/dev/null)
echo "$md" | grep "^t3" | sed 's/^/#   /'
ok=$(echo "$md" | awk -v k="$old" '$1 == "t3" {
	split($4, r, ",")
	if (r[1] == k && !($3 == -1 && $6 == "LEADER_NOT_AVAILABLE")) bad++
	if (r[1] != k && $3 != r[1]) bad++ }
	END { print bad ? 1 : 0 }')
tap_ok "$ok" "t3's partitions led by $old are offline (no in-sync replica left, none re-created empty), the others unchanged"
KCTL=${KBROKERCTL:-$(dirname "$KBROKERD")/kbrokerctl}
js=$(KBROKER_SOCKET=$KB_TMP/b$1/ctl.sock "$KCTL" cluster status --json)
echo "$js" | $PY -c '
import json, sys
j = json.load(sys.stdin)
want_ids, ctl = sorted(map(int, sys.argv[1:3])), int(sys.argv[3])
ok = (sorted(b["id"] for b in j["brokers"]) == want_ids and
      j["controller"] == ctl and j["encryption_in_cluster"] is True and
      j["offline_count"] == int(sys.argv[4]) and j["partitions"] == 8 and
      len(j["offline_partitions"]) == j["offline_count"] and
      j["zookeeper"]["connected"] is True)
sys.exit(0 if ok else 1)' "$1" "$2" "$new" $(( 2 + (old != 2) ))
rc=$?
# t3: two partitions per leader; tx ([[1,2],[3,1]]): one led by 1, one by 3.
tap_ok $rc "kbrokerctl cluster status --json: brokers $1 $2, controller $new, $(( 2 + (old != 2) )) offline partitions, encryption on"
[ $rc -eq 0 ] || echo "$js" | cut -c1-600 | sed 's/^/#   /'
txt=$(KBROKER_SOCKET=$KB_TMP/b$1/ctl.sock "$KCTL" cluster status)
echo "$txt" | sed 's/^/#   /'
echo "$txt" | grep -q "^  offline: .*t3-" && echo "$txt" | grep -q "^brokers  *2 live" &&
	echo "$txt" | grep -q "^encryption  *in cluster on"
tap_ok $? "kbrokerctl cluster status: the same, for people"
m=$(curl -s --max-time 10 "http://127.0.0.1:${MPORT[$1]}/metrics")
want_off=$(( 2 + (old != 2) ))
echo "$m" | grep -q "^kbroker_offline_partitions $want_off\$" &&
	echo "$m" | grep -q "^kbroker_controller_id $new\$" &&
	echo "$m" | grep -q '^kbroker_zookeeper_session_state{state="connected"} 1$'
rc=$?
tap_ok $rc "/metrics agrees: $want_off offline partitions, controller $new, ZooKeeper connected"
[ $rc -eq 0 ] || echo "$m" | grep -E '^kbroker_(offline|under|controller|zookeeper)' | sed 's/^/#   /'
po=$(echo "$md" | awk -v k="$old" '$1 == "t3" {split($4, r, ","); if (r[1] == k) {print $2; exit}}')
e=$($PROBE "${CPORT[$1]}" t3 "$po" 0)
[ "$e" = 74 ]
tap_ok $? "a client still on leader epoch 0 of t3-$po is told FENCED_LEADER_EPOCH ($e)"

start "$old"
wait_log "$old" "registered as broker $old" 30
rc=$?
tap_ok $rc "the killed broker $old, restarted, registers again"
[ $rc -eq 0 ] || dump "$old"
got=$(expect_brokers "$old" "$all3" 10)
rc=$?
[ "${got%% *}" = "controller=$new" ]
tap_ok $(( rc || $? )) "... sees all three and controller $new ($got)"
ok=1
for i in $(seq 1 30); do
	md=$($PROBE md "${CPORT[$old]}" 2>/dev/null)
	[ "$(echo "$md" | awk '$1 == "t3" {split($4, r, ","); if ($3 == r[1]) n++} END {print n + 0}')" = 6 ] && { ok=0; break; }
	sleep 0.5
done
tap_ok $ok "broker $old leads its t3 partitions again"
: >"$W/out2"
for p in 0 1 2 3 4 5; do
	timeout 60 $KC -b "127.0.0.1:${CPORT[$old]}" -C -t t3 -p $p -o beginning -e -q \
		-f '%s\n' >>"$W/out2" 2>/dev/null
done
sort "$W/in" | cmp -s - <(sort "$W/out2")
tap_ok $? "every record of t3 is readable again ($(wc -l <"$W/out2"))"

# 6. Session expiry: broker $new stopped past the session timeout loses its
# registration and the controller role, then registers again.
kill -STOP "${PID[$new]}"
sleep $((SESSION_MS / 1000 + 4))
got=$(brokers_seen "$old")
case " ${got#* } " in *" $new@"*) rc=1 ;; *) rc=0 ;; esac
tap_ok $rc "a broker stopped past zookeeper.session.timeout.ms leaves Metadata ($got)"
kill -CONT "${PID[$new]}"
wait_log "$new" "ZooKeeper session expired" 20 && wait_log "$new" "registered as broker $new" 20
rc=$?
tap_ok $rc "... and once running again, hears its session expired and registers with a new one"
[ $rc -eq 0 ] || dump "$new"
got=$(expect_brokers "$new" "$all3" 15)
tap_ok $? "... and all three are listed again ($got)"

# 7. A ZooKeeper restart loses no broker.
zk_stop
sleep 2
zk_start
rc=$?
tap_ok $rc "ZooKeeper restarts on the same data"
sleep 3
ok=0
for id in 1 2 3; do
	got=$(expect_brokers "$id" "$all3" 20) || { ok=1; echo "# via $id: $got"; }
done
tap_ok $ok "after the restart every broker still lists all three ($got)"
ok=0
for id in 1 2 3; do
	kill -0 "${PID[$id]}" 2>/dev/null || ok=1
done
tap_ok $ok "no broker restarted or exited"

# 8. SIGTERM: a clean exit, and the others see it leave at once.
kill -TERM "${PID[3]}"
wait "${PID[3]}"
rc=$?
PID[3]=
tap_ok $rc "SIGTERM: broker 3 exits 0"
want="1@127.0.0.1:${CPORT[1]} 2@127.0.0.1:${CPORT[2]}"
got=$(expect_brokers 1 "$want" 3)
tap_ok $? "... and leaves the cluster without waiting for its session to time out ($got)"
grep -q "controlled shutdown: [0-9]* partition(s) led here have no other in-sync replica to move to" "$KB_TMP/b3/log"
tap_ok $? "... after a controlled shutdown that says its partitions have no in-sync replica to move to"

for id in 1 2; do
	kill -TERM "${PID[$id]}"
	wait "${PID[$id]}"
	PID[$id]=
done
grep -h "ERROR\|AddressSanitizer" "$KB_TMP"/b[123]/log | head -5 | sed 's/^/# /'
zk_stop
tap_done
