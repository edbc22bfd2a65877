#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Cost of broker-side compression.type: two kbrokerd side by side, one
# with compression.type=producer (batches kept as sent) and one with
# compression.type=zstd, both fed gzip batches by rdk_bench (librdkafka,
# compression.type=gzip), so the second decompresses, checks and
# recompresses every batch at append.  5 alternating pairs; prints each
# metric's median over the pairs of the zstd/producer ratio.  Figures
# only; nothing here asserts a timing.
# usage: recompress_bench.sh RDK_BENCH_BINARY
# RECOMPRESS_BENCH_SIZE (default 1024): message size; _PAIRS (5).
RDK=${1:?usage: recompress_bench.sh RDK_BENCH}
. "$(dirname "$0")/../host/lib.sh"
W=$KB_TMP/work
mkdir -p "$W"

P2=$(kb_free_port)
kb_config "compression.type=producer"
C2=$KB_TMP/zstd.properties
sed -e "s|127.0.0.1:$KB_PORT|127.0.0.1:$P2|" -e "s|logs-|zstd-logs-|g" \
	-e 's/^compression.type=producer$/compression.type=zstd/' \
	"$KB_CONF" >"$C2"
if ! kb_start; then
	echo "kbrokerd (compression.type=producer) did not start"
	kb_dump_log
	exit 1
fi
"$KBROKERD" --config "$C2" >"$KB_TMP/zstd.log" 2>&1 &
P2PID=$!
trap 'kill $P2PID 2>/dev/null; wait $P2PID 2>/dev/null; kb_cleanup' EXIT
for _ in $(seq 100); do
	grep -q 'listening on' "$KB_TMP/zstd.log" && break
	sleep 0.1
done
echo "clients send gzip; log dirs on $(stat -f -c %T "$KB_TMP")"

size=${RECOMPRESS_BENCH_SIZE:-1024}
pairs=${RECOMPRESS_BENCH_PAIRS:-5}
export RDK_BENCH_ROUNDS=1 RDK_BENCH_KB_ONLY=1 RDK_BENCH_SIZE=$size
export RDK_BENCH_PROPS="compression.type=gzip"
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
# Per pair the zstd/producer ratio of the kbrokerd column (inverted for
# latency, so higher is better throughout), then the median of pairs.
for i in $(seq 1 "$pairs"); do
	awk '
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
	{ k = $1; if (!(k in c)) order[n++] = k; r[k, c[k]++] = $4 }
	END {
		printf "%-34s %8s %s\n", "metric (median of pairs)", "zstd/prod", "per-pair ratios"
		for (j = 0; j < n; j++) {
			k = order[j]; m = c[k]; s = ""
			for (a = 0; a < m; a++) v[a] = r[k, a]
			for (a = 0; a < m; a++) for (b = a + 1; b < m; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
			for (a = 0; a < m; a++) s = s sprintf(" %.3f", r[k, a])
			printf "%-34s %8.3f %s\n", k, m % 2 ? v[int(m / 2)] : (v[m / 2 - 1] + v[m / 2]) / 2, s
		}
		print "ratio: compression.type=zstd (gzip batches recompressed) over producer; higher is better, 1.000 = no cost"
	}'
kill "$P2PID"
wait "$P2PID"
kb_stop
exit 0
