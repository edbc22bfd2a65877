#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The cost of being watched: rdk_bench produce and fetch (1 KiB, kbrokerd
# only) against one kbrokerd, with a scraper fetching /metrics every
# 100 ms (one keep-alive connection, as Prometheus holds) and with none,
# side by side: METRICS_BENCH_PAIRS (default 5) pairs, the order
# alternating, each pair giving watched/unwatched ratios; prints the
# median of the pairs and their spread.  Figures only; nothing asserts a
# timing.  usage: metrics_bench.sh RDK_BENCH_BINARY
RDK=${1:?usage: metrics_bench.sh RDK_BENCH}
. "$(dirname "$0")/../host/lib.sh"

W=$KB_TMP/work
mkdir -p "$W"
pairs=${METRICS_BENCH_PAIRS:-5}
kb_config "metrics.listener=http://127.0.0.1:0"
echo "log dirs: $KB_DIRS ($(stat -f -c %T "$KB_TMP"))"
if ! kb_start; then
	echo "kbrokerd did not start"
	kb_dump_log
	exit 1
fi
MPORT=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$KB_LOG" | tail -1)
[ -n "$MPORT" ] || { echo "no metrics URL in the log"; exit 1; }

# Every 100 ms on one connection; counts scrapes and bytes until killed.
scraper()
{
	$PY - "$MPORT" "$W/scrapes.$1" <<'PYEOF'
import http.client, signal, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
n = size = 0
def done(*_):
    open(out, "w").write("%d %d\n" % (n, size))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
while True:
    t = time.monotonic()
    c.request("GET", "/metrics")
    size = len(c.getresponse().read())
    n += 1
    time.sleep(max(0, 0.1 - (time.monotonic() - t)))
PYEOF
}

# run NAME: one rdk_bench run; rows in $W/NAME.out.
run()
{
	RDK_BENCH_KB_ONLY=1 RDK_BENCH_SIZE=1024 RDK_BENCH_ROUNDS=1 \
		RDK_BENCH_KB_PID=$KB_PID "$RDK" "$KB_BOOTSTRAP" >"$W/$1.out" 2>"$W/$1.err"
}

watched()
{
	scraper "$1" &
	local sp=$!
	sleep 0.3
	run "$1"
	kill -TERM $sp
	wait $sp 2>/dev/null
}

for i in $(seq 1 "$pairs"); do
	if [ $((i % 2)) = 1 ]; then
		watched "w$i"; run "n$i"
	else
		run "n$i"; watched "w$i"
	fi
	echo "pair $i done ($(cat "$W/scrapes.w$i" 2>/dev/null | awk '{print $1 " scrapes of " $2 " bytes"}'))"
done

# Rows are "metric ... kbrokerd mock ratio round-ratios": the kbrokerd
# column is the fourth field from the end.
awk -v pairs="$pairs" '
	function key(   k, i) { k = $1; for (i = 2; i <= NF - 4; i++) k = k " " $i; return k }
	function med(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	FNR == 1 { f = FILENAME; sub(/.*\//, "", f); sub(/\.out$/, "", f) }
	/^(produce|consume|latency) / {
		k = key(); v[f, k] = $(NF - 3)
		if (!(k in seen)) { seen[k] = 1; order[n++] = k }
	}
	END {
		printf "%-34s %12s %12s %8s %14s\n", "metric (median of pairs)", "watched", "unwatched", "ratio", "pair ratios"
		for (r = 0; r < n; r++) {
			k = order[r]; m = 0; lo = ""; hi = ""
			for (i = 1; i <= pairs; i++) {
				a = v["w" i, k]; b = v["n" i, k]
				if (a <= 0 || b <= 0) continue
				m++
				W[m] = a; N[m] = b
				R[m] = k ~ /latency/ ? b / a : a / b
				if (lo == "" || R[m] < lo) lo = R[m]
				if (hi == "" || R[m] > hi) hi = R[m]
			}
			if (!m) { printf "%-34s %12s\n", k, "-"; continue }
			mw = med(W, m); mn = med(N, m); mr = med(R, m)
			printf "%-34s %12.6g %12.6g %8.3f %6.3f-%-6.3f\n", k, mw, mn, mr, lo, hi
		}
		print "ratio: watched/unwatched for throughput, unwatched/watched for latency (1.000 = no cost; < 0.98 would be a 2 % cost), median of the pairs"
	}' "$W"/[wn]*.out
grep -h '^kbroker_metrics_snapshot_render_seconds\|^kbroker_metrics_snapshots_total' \
	<(curl -s "http://127.0.0.1:$MPORT/metrics") 2>/dev/null
kb_alive || { echo "kbrokerd died during the benchmark"; exit 1; }
kb_stop || { echo "kbrokerd did not exit cleanly"; exit 1; }
exit 0
