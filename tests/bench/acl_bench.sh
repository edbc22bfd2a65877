#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Cost of the authorizer: two kbrokerd side by side on plaintext listeners,
# one with authorizer=none and one with authorizer=acl holding 100 ACLs
# (the client's own bindings last, so every check scans them all), driven
# by rdk_bench (produce throughput and latency, consume throughput) in 5
# alternating pairs; prints each metric's median over the pairs of the
# acl/none ratio.  Figures only; nothing here asserts a timing.
# usage: acl_bench.sh RDK_BENCH_BINARY
# ACL_BENCH_SIZE (default 1024): message size; ACL_BENCH_PAIRS (5).
RDK=${1:?usage: acl_bench.sh RDK_BENCH}
. "$(dirname "$0")/../host/lib.sh"
KBCTL=$KB_ROOT/build/daemon/kbrokerctl
W=$KB_TMP/work
mkdir -p "$W" "$KB_TMP/state"

# The second broker: its own port, dirs, state and control socket.
P2=$(kb_free_port)
kb_config "authorizer=none"
C2=$KB_TMP/acl.properties
sed -e "s|127.0.0.1:$KB_PORT|127.0.0.1:$P2|" -e "s|logs-|acl-logs-|g" \
	-e 's/^authorizer=none$/authorizer=acl/' "$KB_CONF" >"$C2"
cat >>"$C2" <<CONF
at.rest.state.dir=$KB_TMP/state
control.socket=$KB_TMP/ctl.sock
CONF
if ! kb_start; then
	echo "kbrokerd (authorizer=none) did not start"
	kb_dump_log
	exit 1
fi
"$KBROKERD" --config "$C2" >"$KB_TMP/acl.log" 2>&1 &
P2PID=$!
trap 'kill $P2PID 2>/dev/null; wait $P2PID 2>/dev/null; kb_cleanup' EXIT
for _ in $(seq 100); do
	grep -q 'listening on' "$KB_TMP/acl.log" && break
	sleep 0.1
done
add() { KBROKER_SOCKET=$KB_TMP/ctl.sock "$KBCTL" acl add "$@" >/dev/null; }
for i in $(seq 1 94); do
	case $((i % 3)) in
	0) add --allow --principal "User:CN=svc$i,O=corp" --operation read --topic "orders-$i" ;;
	1) add --allow --principal "User:CN=svc$i,O=corp" --operation write --topic "logs-$i" --prefixed ;;
	2) add --deny --principal "User:CN=svc$i,O=corp" --operation read --group "g$i" ;;
	esac
done
# The bench client (no certificate: User:ANONYMOUS): topics, groups and
# the cluster (its topics are made through CreateTopics).
add --allow --principal User:ANONYMOUS --operation all --topic '*'
add --allow --principal User:ANONYMOUS --operation all --group '*'
add --allow --principal User:ANONYMOUS --operation all --cluster
add --allow --principal User:ANONYMOUS --operation write --topic rdk --prefixed
add --allow --principal User:ANONYMOUS --operation read --topic rdk --prefixed
add --allow --principal User:ANONYMOUS --operation describe --topic rdk --prefixed
n=$(KBROKER_SOCKET=$KB_TMP/ctl.sock "$KBCTL" acl list | tail -1)
echo "authorizer=acl broker: $n; log dirs on $(stat -f -c %T "$KB_TMP")"

size=${ACL_BENCH_SIZE:-1024}
pairs=${ACL_BENCH_PAIRS:-5}
export RDK_BENCH_ROUNDS=1 RDK_BENCH_KB_ONLY=1 RDK_BENCH_SIZE=$size
for i in $(seq 1 "$pairs"); do
	# Alternate which goes first.
	if [ $((i % 2)) = 1 ]; then
		RDK_BENCH_KB_PID=$KB_PID "$RDK" "127.0.0.1:$KB_PORT" >"$W/off.$i" 2>>"$W/err"
		RDK_BENCH_KB_PID=$P2PID "$RDK" "127.0.0.1:$P2" >"$W/on.$i" 2>>"$W/err"
	else
		RDK_BENCH_KB_PID=$P2PID "$RDK" "127.0.0.1:$P2" >"$W/on.$i" 2>>"$W/err"
		RDK_BENCH_KB_PID=$KB_PID "$RDK" "127.0.0.1:$KB_PORT" >"$W/off.$i" 2>>"$W/err"
	fi
done
grep -h -E 'cannot|error|failed' "$W/err" | head -5
# Rows are "metric ... kbrokerd mock ratio round-ratios"; per pair the
# acl/none ratio of the kbrokerd column (none/acl for latency), then the
# median over the pairs.
for i in $(seq 1 "$pairs"); do
	awk -v pair="$i" '
		function key(   k, j) { k = $1; for (j = 2; j <= NF - 4; j++) k = k " " $j; return k }
		/^(produce|consume|latency) / {
			k = key(); v = $(NF - 3)
			if (FILENAME == ARGV[1]) { off[k] = v; order[n++] = k } else on[k] = v
		}
		END {
			for (j = 0; j < n; j++) {
				k = order[j]
				if (off[k] > 0 && on[k] > 0)
					printf "%s\t%s\t%s\t%.4f\n", k, off[k], on[k],
					       k ~ /latency/ ? off[k] / on[k] : on[k] / off[k]
			}
		}' "$W/off.$i" "$W/on.$i"
done | sort -t "$(printf '\t')" -k1,1 -s | awk -F '\t' '
	{ k = $1; if (!(k in c)) order[n++] = k; r[k, c[k]++] = $4; off[k] = off[k] " " $2; on[k] = on[k] " " $3 }
	END {
		printf "%-34s %8s %s\n", "metric (median of pairs)", "acl/none", "per-pair ratios"
		for (j = 0; j < n; j++) {
			k = order[j]; m = c[k]; s = ""
			for (a = 0; a < m; a++) v[a] = r[k, a]
			for (a = 0; a < m; a++) for (b = a + 1; b < m; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
			for (a = 0; a < m; a++) s = s sprintf(" %.3f", r[k, a])
			printf "%-34s %8.3f %s\n", k, m % 2 ? v[int(m / 2)] : (v[m / 2 - 1] + v[m / 2]) / 2, s
		}
		print "ratio: authorizer=acl (100 ACLs) over authorizer=none; higher is better, 1.000 = no cost"
	}'
grep -c 'authorization denied' "$KB_TMP/acl.log" | sed 's/^/denials logged: /'
kill "$P2PID"
wait "$P2PID"
kb_stop
exit 0
