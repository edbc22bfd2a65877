#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kcat against a real kbrokerd: keyed lines produced to each partition of an
# auto-created topic come back byte-identical with kcat -C -e -o beginning
# -p P; kcat -L lists the broker and the topic.
. "$(dirname "$0")/lib.sh"

N=500
PARTS=3
TOPIC=kcat-e2e
W=$KB_TMP/work
mkdir -p "$W"

kb_config "num.partitions=$PARTS" "log.segment.bytes=65536"
if ! kb_start; then
	tap_ok 1 "kbrokerd starts"
	kb_dump_log
	tap_done
	exit
fi
tap_ok 0 "kbrokerd starts and listens on $KB_BOOTSTRAP"
grep -qi "not encrypted" "$KB_LOG"
tap_ok $? "kbrokerd warns that at.rest.encryption=off leaves the log dirs unencrypted"

KC="kcat -b $KB_BOOTSTRAP -X socket.timeout.ms=20000 -X topic.message.timeout.ms=30000"

# Produce: one keyed file per partition.  Values hold characters kcat must
# pass through untouched (tabs, quotes, UTF-8, backslashes); a few long ones
# cross several record batches and segments (64 KiB segments).
for p in $(seq 0 $((PARTS - 1))); do
	$PY - "$p" "$N" >"$W/in.$p" <<'EOF'
import sys
p, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    v = "p%d-msg-%05d\tquote\" back\\slash é€ %s" % (p, i, "x" * (i % 97))
    if i % 100 == 7:
        v += "L" * 20000
    print("key-%d-%d:%s" % (p, i % 13, v))
EOF
	timeout 60 $KC -P -t "$TOPIC" -p "$p" -K : -l "$W/in.$p" 2>"$W/perr.$p"
	rc=$?
	tap_ok $rc "kcat -P $N keyed lines to partition $p"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$W/perr.$p"
done

# Consume each partition from the beginning to the end, key:value per line.
for p in $(seq 0 $((PARTS - 1))); do
	timeout 60 $KC -C -t "$TOPIC" -p "$p" -o beginning -e -q -f '%k:%s\n' \
		>"$W/out.$p" 2>"$W/cerr.$p"
	rc=$?
	tap_ok $rc "kcat -C -e -o beginning -p $p exits 0"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$W/cerr.$p" | head -20
	cmp -s "$W/in.$p" "$W/out.$p"
	rc=$?
	tap_ok $rc "partition $p reads back byte-identical ($N messages)"
	if [ $rc -ne 0 ]; then
		echo "# in: $(wc -lc <"$W/in.$p") out: $(wc -lc <"$W/out.$p")"
		diff "$W/in.$p" "$W/out.$p" | head -6 | cut -c1-200 | sed 's/^/#   /'
	fi
done

# Offsets are dense from 0: message at offset 250 of partition 1 is line 251,
# and kcat reports the offsets it read.
timeout 60 $KC -C -t "$TOPIC" -p 1 -o 250 -c 3 -e -q -f '%o %k:%s\n' >"$W/off" 2>&1
want=$(sed -n '251,253p' "$W/in.1" | awk '{print NR+249 " " $0}')
[ "$(cat "$W/off")" = "$want" ]
tap_ok $? "kcat -C -o 250 -c 3 reads offsets 250..252 of partition 1"

# Tail: -o -5 reads the last five messages.
timeout 60 $KC -C -t "$TOPIC" -p 2 -o -5 -e -q -f '%k:%s\n' >"$W/tail" 2>&1
tail -n 5 "$W/in.2" | cmp -s - "$W/tail"
tap_ok $? "kcat -C -o -5 reads the last five messages of partition 2"

# A second produce appends after the first.
echo "late:appended" | timeout 60 $KC -P -t "$TOPIC" -p 0 -K : 2>/dev/null
timeout 60 $KC -C -t "$TOPIC" -p 0 -o $N -e -q -f '%o %k:%s\n' >"$W/app" 2>&1
[ "$(cat "$W/app")" = "$N late:appended" ]
tap_ok $? "a later produce is appended at offset $N"

# Metadata.
timeout 60 $KC -L -t "$TOPIC" >"$W/meta" 2>&1
rc=$?
tap_ok $rc "kcat -L exits 0"
grep -q "broker 0 at 127.0.0.1:$KB_PORT" "$W/meta"
tap_ok $? "kcat -L shows broker 0 at $KB_BOOTSTRAP"
grep -q "topic \"$TOPIC\" with $PARTS partitions" "$W/meta"
tap_ok $? "kcat -L shows topic $TOPIC with $PARTS partitions"
n=$(grep -c "partition [0-9]*, leader 0," "$W/meta")
[ "$n" -eq $PARTS ]
tap_ok $? "every partition is led by broker 0"
timeout 60 $KC -L >"$W/metaall" 2>&1
grep -q "topic \"$TOPIC\"" "$W/metaall"
tap_ok $? "kcat -L without -t lists the topic"
if ! grep -q "topic \"$TOPIC\" with $PARTS partitions" "$W/meta"; then
	sed 's/^/#   /' "$W/meta" | head -20
fi

kb_alive
tap_ok $? "kbrokerd still running"
kb_stop
rc=$?
tap_ok $rc "kbrokerd exits 0 on SIGTERM"
[ $TAP_FAILED -eq 0 ] || kb_dump_log
tap_done
