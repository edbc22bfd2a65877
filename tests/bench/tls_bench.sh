#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host TLS cost, userspace TLS (the build host has no kTLS), one kbrokerd
# with a PLAINTEXT and an SSL listener:
#  (a) rdk_bench produce/consume over each listener, TLS/plaintext ratios;
#  (b) full handshakes/s (openssl s_time -new) against kbrokerd's SSL
#      listener and against openssl s_server with the same key and chain,
#      kbrokerd/s_server ratio (reference target >= 0.8).
# Figures only; nothing here asserts a timing.
# usage: tls_bench.sh RDK_BENCH_BINARY
# TLS_BENCH_SIZE (default 1024): message size given to rdk_bench;
# TLS_BENCH_STIME (default 10): seconds per s_time run;
# TLS_BENCH_NAGLE=1 leaves librdkafka's Nagle on.  By default both runs set
# socket.nagle.disable=true: librdkafka writes a request as several TLS
# records, and with Nagle on each waits ~40 ms for the broker's delayed ACK,
# which measures that interaction rather than TLS.
RDK=${1:?usage: tls_bench.sh RDK_BENCH}
. "$(dirname "$0")/../host/lib.sh"
. "$(dirname "$0")/../host/tls_ca.sh"

CA=$KB_TMP/ca
W=$KB_TMP/work
mkdir -p "$W"
tls_make_ca "$CA" >"$W/ca.log" 2>&1 || { cat "$W/ca.log"; exit 1; }

PP=$(kb_free_port) PS=$(kb_free_port)
kb_config \
	"listeners=PLAIN://127.0.0.1:$PP,SSL://127.0.0.1:$PS" \
	"listener.security.protocol.map=PLAIN:PLAINTEXT,SSL:SSL" \
	"ssl.keystore.type=PEM" \
	"ssl.keystore.location=$CA/server.pem"
echo "log dirs: $KB_DIRS ($(stat -f -c %T "$KB_TMP")); openssl $(openssl version | cut -d' ' -f2)"
if ! kb_start; then
	echo "kbrokerd did not start"
	kb_dump_log
	exit 1
fi

# --- (a) throughput: the same rdk_bench cases over both listeners.
size=${TLS_BENCH_SIZE:-1024}
nagle=socket.nagle.disable=true
[ "${TLS_BENCH_NAGLE:-0}" = 1 ] && nagle=socket.nagle.disable=false
echo "librdkafka clients: $nagle"
# One round each: the two listeners are compared across two runs anyway.
export RDK_BENCH_ROUNDS=1
RDK_BENCH_KB_ONLY=1 RDK_BENCH_SIZE=$size RDK_BENCH_PROPS=$nagle "$RDK" "127.0.0.1:$PP" \
	>"$W/plain.out" 2>"$W/plain.err"
RDK_BENCH_KB_ONLY=1 RDK_BENCH_SIZE=$size \
	RDK_BENCH_PROPS="$nagle,security.protocol=ssl,ssl.ca.location=$CA/ca.pem" \
	"$RDK" "127.0.0.1:$PS" >"$W/tls.out" 2>"$W/tls.err"
grep -h -E 'rdkafka [0-3]|delivered|consumed|config:|cannot' \
	"$W/plain.err" "$W/tls.err" | head -5
# Rows are "metric ... kbrokerd mock ratio round-ratios"; the metric is
# all but the last four fields.  Join the two runs on the metric.
awk '
	function key(   k, i) { k = $1; for (i = 2; i <= NF - 4; i++) k = k " " $i; return k }
	/^(produce|consume|latency) / {
		k = key(); v = $(NF - 3)
		if (FILENAME == ARGV[1]) { p[k] = v; order[n++] = k } else t[k] = v
	}
	END {
		printf "%-34s %12s %12s %8s\n", "metric (userspace TLS)", "plaintext", "TLS", "TLS/pt"
		for (i = 0; i < n; i++) {
			k = order[i]; r = "-"
			if (p[k] > 0 && t[k] > 0)
				r = sprintf("%.2f", k ~ /latency/ ? p[k] / t[k] : t[k] / p[k])
			printf "%-34s %12s %12s %8s\n", k, p[k], t[k] == "" ? "-" : t[k], r
		}
		print "ratio: TLS/plaintext for throughput, plaintext/TLS for latency (higher is better)"
	}' "$W/plain.out" "$W/tls.out"

# --- (b) full-handshake rate, kbrokerd vs openssl s_server.
secs=${TLS_BENCH_STIME:-10}
stime()
{
	# "N connections in T real seconds" -> connections per second
	timeout $((secs + 30)) openssl s_time -connect "$1" -new -time "$secs" \
		-CAfile "$CA/ca.pem" 2>&1 |
		awk '/connections in .* real seconds/ {printf "%.1f", $1 / $4; ok = 1}
		     END { if (!ok) printf "0" }'
}
PO=$(kb_free_port)
openssl s_server -quiet -accept "$PO" -cert "$CA/server.crt" -key "$CA/server.key" \
	-cert_chain "$CA/ca.pem" -naccept 1000000 >"$W/s_server.log" 2>&1 &
spid=$!
sleep 1
hk=$(stime "127.0.0.1:$PS")
hs=$(stime "127.0.0.1:$PO")
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
proto=$(openssl s_client -brief -connect "127.0.0.1:$PS" -CAfile "$CA/ca.pem" </dev/null 2>&1 |
	awk -F': ' '/^Protocol version/ {p = $2} /^Ciphersuite/ {c = $2} END {print p, c}')
echo
printf '%-34s %12s %12s %8s\n' "full handshakes/s (s_time -new ${secs}s)" kbrokerd s_server "kb/s_srv"
awk -v a="$hk" -v b="$hs" 'BEGIN { printf "%-34s %12s %12s %8s\n", "handshakes/s", a, b, (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-" }'
echo "negotiated with kbrokerd: $proto; reference target kbrokerd/s_server >= 0.8"

kb_alive || { echo "kbrokerd died during the benchmark"; exit 1; }
kb_stop || { echo "kbrokerd did not exit cleanly"; exit 1; }
grep -E 'tls: [0-9]+ handshakes' "$KB_LOG" | tail -1
exit 0
