#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Restart persistence: topics (auto-created, created, grown, deleted) and
# their data survive clean SIGTERM restarts; offsets continue after a
# restart.  Config errors (unknown key, bad values) make kbrokerd exit 1
# with a message naming the key and its line, without listening.
. "$(dirname "$0")/lib.sh"

W=$KB_TMP/work
mkdir -p "$W"
KC() { timeout 60 kcat -b "$KB_BOOTSTRAP" -X socket.timeout.ms=20000 "$@"; }

admin()
{
	timeout 120 $PY - "$KB_BOOTSTRAP" "$@" <<'EOF'
import sys
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions
bs, op, name = sys.argv[1:4]
a = AdminClient({"bootstrap.servers": bs})
if op == "create":
    f = a.create_topics([NewTopic(name, int(sys.argv[4]), 1)],
                        request_timeout=60)
elif op == "grow":
    f = a.create_partitions([NewPartitions(name, int(sys.argv[4]))],
                            request_timeout=60)
else:
    f = a.delete_topics([name], request_timeout=60)
try:
    f[name].result(60)
except Exception as e:
    print("# %s %s: %s" % (op, name, e))
    sys.exit(1)
EOF
}

# Partition count of TOPIC per kcat -L, or "none".
parts()
{
	KC -L -t "$1" 2>/dev/null | sed -n "s/.*topic \"$1\" with \([0-9]*\) partitions.*/\1/p" |
		grep . || echo none
}

gen()	# gen TAG P N: N lines for partition P
{
	$PY - "$@" <<'EOF'
import sys
tag, p, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    print("%s-%d-%04d:%s" % (tag, p, i, ("%s/%d/%d " % (tag, p, i)) * (1 + i % 30)))
EOF
}

kb_config "num.partitions=2" "log.segment.bytes=16384"
if ! kb_start; then
	tap_ok 1 "kbrokerd starts"
	tap_done
	exit
fi
tap_ok 0 "kbrokerd starts"

# persist-auto: auto-created (2 partitions), persist-made: CreateTopics
# with 4 then grown to 6, persist-gone: created then deleted.
for p in 0 1; do
	gen a $p 300 >"$W/auto.$p"
	KC -P -t persist-auto -p $p -K : -l "$W/auto.$p" 2>/dev/null
done
admin create persist-made 4
tap_ok $? "CreateTopics persist-made (4 partitions)"
admin grow persist-made 6
tap_ok $? "CreatePartitions persist-made to 6"
for p in 0 5; do
	gen m $p 200 >"$W/made.$p"
	KC -P -t persist-made -p $p -K : -l "$W/made.$p" 2>/dev/null
done
admin create persist-gone 1 && echo "gone:x" | KC -P -t persist-gone -K : 2>/dev/null
admin delete persist-gone
tap_ok $? "DeleteTopics persist-gone"

check_all()	# check_all WHEN
{
	local rc=0 p
	[ "$(parts persist-auto)" = 2 ]
	tap_ok $? "$1: persist-auto has 2 partitions"
	[ "$(parts persist-made)" = 6 ]
	tap_ok $? "$1: persist-made has 6 partitions (grown)"
	KC -L >"$W/meta" 2>&1
	! grep -q 'topic "persist-gone"' "$W/meta"
	tap_ok $? "$1: persist-gone stays deleted"
	for f in auto.0 auto.1 made.0 made.5; do
		local t=persist-${f%.*} p=${f#*.}
		KC -C -t "$t" -p "$p" -o beginning -e -q -f '%k:%s\n' >"$W/out" 2>/dev/null
		if ! cmp -s "$W/$f" "$W/out"; then
			echo "# $t [$p]: $(wc -l <"$W/out") of $(wc -l <"$W/$f") lines match?"
			rc=1
		fi
	done
	tap_ok $rc "$1: all data reads back byte-identical"
}

check_all "before restart"
na=$(ls -d "$KB_TMP"/logs-a/persist-*-[0-9]* 2>/dev/null | wc -l)
nb=$(ls -d "$KB_TMP"/logs-b/persist-*-[0-9]* 2>/dev/null | wc -l)
[ "$na" -gt 0 ] && [ "$nb" -gt 0 ] && [ $((na + nb)) -eq 8 ]
tap_ok $? "the 8 partitions are spread over both log dirs ($na + $nb)"
kb_stop
tap_ok $? "kbrokerd exits 0 on SIGTERM"
if ! kb_start; then
	tap_ok 1 "kbrokerd restarts on the same log dirs"
	kb_dump_log
	tap_done
	exit
fi
tap_ok 0 "kbrokerd restarts on the same log dirs"
check_all "after restart 1"

# Produce after the restart: offsets continue where they were.
gen b 1 50 >"$W/more.1"
KC -P -t persist-auto -p 1 -K : -l "$W/more.1" 2>/dev/null
cat "$W/more.1" >>"$W/auto.1"
first=$(KC -C -t persist-auto -p 1 -o 300 -c 1 -e -q -f '%o %k' 2>/dev/null)
[ "$first" = "300 b-1-0000" ]
tap_ok $? "produce after restart continues at offset 300 ($first)"
echo "new:after-restart" | KC -P -t persist-new -K : 2>/dev/null
[ "$(parts persist-new)" = 2 ]
tap_ok $? "a topic auto-created after the restart works"

kb_stop
tap_ok $? "kbrokerd exits 0 on the second SIGTERM"
if kb_start; then
	tap_ok 0 "kbrokerd restarts again"
	check_all "after restart 2"
	[ "$(KC -C -t persist-new -p 0 -o beginning -e -q -f '%k:%s' 2>/dev/null)$(KC -C -t persist-new -p 1 -o beginning -e -q -f '%k:%s' 2>/dev/null)" = "new:after-restart" ]
	tap_ok $? "after restart 2: persist-new holds its message"
	kb_stop
	tap_ok $? "kbrokerd exits 0 on the third SIGTERM"
else
	tap_ok 1 "kbrokerd restarts again"
	kb_dump_log
fi

# Config errors: exit 1, a message naming the key and its line, no
# listener.  Each case is KEY=VALUE placed on line 6.
bad_config()	# bad_config DESC LINE
{
	local out=$W/bad.out rc key=${2%%=*}
	{
		echo "# line 1"
		echo "broker.id=0"
		echo "listeners=PLAINTEXT://127.0.0.1:$(kb_free_port)"
		echo "log.dirs=$KB_TMP/bad-a,$KB_TMP/bad-b"
		echo "at.rest.encryption=off"
		echo "$2"
		echo "num.partitions=1"
	} >"$W/bad.properties"
	timeout 30 "$KBROKERD" --config "$W/bad.properties" >"$out" 2>&1
	rc=$?
	[ $rc -eq 1 ]
	tap_ok $? "$1: kbrokerd exits 1 (got $rc)"
	grep -q -- "$key" "$out" && grep -Eq "(:|line |line: ?)6\b" "$out"
	tap_ok $? "$1: the error names $key and line 6"
	! grep -q "listening on" "$out"
	tap_ok $? "$1: no listener was opened"
	[ $rc -eq 1 ] && grep -q -- "$key" "$out" || sed 's/^/#   /' "$out" | head -5
}
bad_config "unknown key" "log.dirz=/tmp/nowhere"
bad_config "non-numeric num.partitions" "num.partitions=abc"
bad_config "negative log.segment.bytes" "log.segment.bytes=-5"
bad_config "bad boolean" "auto.create.topics.enable=maybe"
bad_config "trailing junk in a number" "message.max.bytes=12x"

[ $TAP_FAILED -eq 0 ] || kb_dump_log
tap_done
