#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The /metrics endpoint with real Prometheus tools: promtool lints the
# output of both formats, a real prometheus server (1 s scrapes, its own
# storage dir, a free loopback port) scrapes a TLS broker while kcat
# produces N messages, and PromQL through its HTTP API must see N, the
# certificate's real notAfter and TLS connections.  Then the example
# alerting rules: promtool check rules and promtool test rules.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_ca.sh"

N=250
CA=$KB_TMP/ca
W=$KB_TMP/work
mkdir -p "$W"
RULES=$KB_ROOT/Documentation/kbroker/metrics/kbroker-alerts.yml
RULES_TEST=$KB_ROOT/tests/host/metrics_rules_test.yml

for t in promtool prometheus curl; do
	command -v $t >/dev/null || { tap_ok 1 "$t installed (make deps)"; tap_done; exit; }
done
if ! tls_make_ca "$CA" >"$W/ca.log" 2>&1; then
	tap_ok 1 "test CA made with openssl"
	tap_done
	exit
fi

# The example rules need no broker.
promtool check rules "$RULES" >"$W/rules.out" 2>&1
tap_ok $? "promtool check rules: Documentation/kbroker/metrics/kbroker-alerts.yml"
sed 's/^/#   /' "$W/rules.out"
(cd "$(dirname "$RULES_TEST")" && promtool test rules "$RULES_TEST") >"$W/rtest.out" 2>&1
tap_ok $? "promtool test rules: a certificate 10 days from expiry fires, volume and replication alerts too"
sed 's/^/#   /' "$W/rtest.out"

PT=$(kb_free_port)
kb_config \
	"listeners=SSL://127.0.0.1:$PT" \
	"listener.security.protocol.map=SSL:SSL" \
	"ssl.keystore.location=$CA/server.pem" \
	"metrics.listener=http://127.0.0.1:0" \
	"control.socket=$KB_TMP/ctl.sock"
if ! kb_start; then
	tap_ok 1 "kbrokerd starts with metrics.listener on port 0"
	tap_done
	exit
fi
MPORT=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$KB_LOG" | tail -1)
[ -n "$MPORT" ]
tap_ok $? "the daemon logs the metrics URL with the port it bound ($MPORT)"
URL=http://127.0.0.1:$MPORT/metrics

TLS="-X security.protocol=ssl -X ssl.ca.location=$CA/ca.pem"
seq 1 $N | sed 's/^/m-/' >"$W/in"
timeout 60 kcat -b 127.0.0.1:$PT $TLS -P -t watched -l "$W/in" 2>"$W/kcat.err"
tap_ok $? "kcat produced $N messages over TLS"

# Text format: lint clean, no warnings at all.
curl -sf "$URL" >"$W/text" && promtool check metrics <"$W/text" >"$W/lint" 2>&1 &&
	[ ! -s "$W/lint" ]
tap_ok $? "promtool check metrics: the text format passes with no warnings"
sed 's/^/#   /' "$W/lint" | head -20
curl -sf -D "$W/hdr" -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' \
	"$URL" >"$W/om" && grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$W/hdr" &&
	[ "$(tail -1 "$W/om")" = "# EOF" ] && grep -q '^# TYPE kbroker_build info$' "$W/om"
tap_ok $? "Accept: application/openmetrics-text gets OpenMetrics 1.0.0 ending in # EOF"
grep -q "^kbroker_topic_messages_in_total{topic=\"watched\"} $N\$" "$W/text"
tap_ok $? "kbroker_topic_messages_in_total{topic=\"watched\"} is $N in the scrape"

# A real Prometheus server scraping every second.
PP=$(kb_free_port)
cat >"$W/prom.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$RULES"]
scrape_configs:
  - job_name: kbroker
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
EOF
prometheus --config.file="$W/prom.yml" --storage.tsdb.path="$W/tsdb" \
	--web.listen-address=127.0.0.1:$PP >"$W/prom.log" 2>&1 &
PROM=$!
trap 'kill $PROM 2>/dev/null; wait $PROM 2>/dev/null; kb_cleanup' EXIT

# A consumer that stays connected over TLS while Prometheus looks.
timeout 60 kcat -b 127.0.0.1:$PT $TLS -C -t watched -o beginning -q >"$W/out" 2>/dev/null &
CONS=$!

# query EXPR: the first sample's value, retried until it is there.
query()
{
	local i
	for i in $(seq 1 60); do
		curl -sf -G "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$1" \
			>"$W/q.json" 2>/dev/null &&
		$PY -c 'import json,sys
r = json.load(open(sys.argv[1]))["data"]["result"]
sys.exit(0 if r else 1)' "$W/q.json" && break
		sleep 0.5
	done
	$PY -c 'import json,sys
r = json.load(open(sys.argv[1]))["data"]["result"]
print(r[0]["value"][1] if r else "none")' "$W/q.json" 2>/dev/null || echo none
}

# query_until EXPR WANT: waits for a scrape that shows WANT.
query_until()
{
	local i v
	for i in $(seq 1 30); do
		v=$(query "$1")
		[ "$v" = "$2" ] && break
		sleep 0.5
	done
	echo "$v"
}

v=$(query 'up{job="kbroker"}')
[ "$v" = 1 ]
tap_ok $? "prometheus scrapes the broker (up = $v)"
v=$(query_until 'kbroker_topic_messages_in_total{topic="watched"}' $N)
[ "$v" = $N ]
tap_ok $? "PromQL: kbroker_topic_messages_in_total{topic=\"watched\"} = $v (want $N)"
want=$(date -d "$(openssl x509 -in "$CA/server.pem" -noout -enddate | cut -d= -f2)" +%s)
v=$(query 'kbroker_tls_certificate_expires_at_timestamp_seconds{listener="SSL",position="0"}')
[ "$v" = "$want" ]
tap_ok $? "PromQL: the certificate's expiry is its real notAfter ($v, openssl says $want)"
v=$(query_until 'sum(kbroker_listener_connections{transport=~"tls|ktls"}) > 0' 1)
[ "$v" != none ] && [ "$v" -gt 0 ] 2>/dev/null
tap_ok $? "PromQL: TLS connections open while the consumer runs ($v)"
v=$(query 'kbroker_listener_tls_handshakes_total{result="ok"}')
[ "$v" != none ] && [ "$v" -gt 0 ] 2>/dev/null
tap_ok $? "PromQL: completed TLS handshakes counted ($v)"
v=$(query 'kbroker_broker_state{state="ACTIVE"}')
[ "$v" = 1 ]
tap_ok $? "PromQL: broker state ACTIVE"
v=$(query 'count(ALERTS{alertname="KbrokerCertificateExpiresSoon"})')
[ "$v" != none ]
tap_ok $? "the test certificate (2 days) raises KbrokerCertificateExpiresSoon in the real server ($v)"
# Every query of the Grafana dashboard parses and runs on the real server.
$PY - "$KB_ROOT/Documentation/kbroker/metrics/kbroker-dashboard.json" $PP >"$W/dash.out" 2>&1 <<'PYEOF'
import json, sys, urllib.parse, urllib.request
d = json.load(open(sys.argv[1]))
bad = 0
for p in d["panels"]:
    for t in p["targets"]:
        q = t["expr"].replace("$instance", ".*").replace("$__rate_interval", "1m")
        url = "http://127.0.0.1:%s/api/v1/query?" % sys.argv[2] + urllib.parse.urlencode({"query": q})
        try:
            r = json.load(urllib.request.urlopen(url, timeout=10))
        except Exception as e:
            r = {"status": str(e)}
        if r.get("status") != "success":
            bad += 1
            print("%s: %s: %s" % (p["title"], q, r))
sys.exit(1 if bad else 0)
PYEOF
tap_ok $? "every query of the Grafana dashboard runs on the real server"
sed 's/^/#   /' "$W/dash.out"
grep -qi "scrape.*error\|invalid" "$W/prom.log" && sed 's/^/#   /' "$W/prom.log" | grep -i "error\|invalid" | head -5
kill $CONS 2>/dev/null
wait $CONS 2>/dev/null

KBROKER_SOCKET=$KB_TMP/ctl.sock "$KB_ROOT/build/daemon/kbrokerctl" status >"$W/status" 2>&1
grep -q "^metrics: $URL\$" "$W/status" && grep -q "days left" "$W/status"
tap_ok $? "kbrokerctl status names the metrics URL beside the certificate's days left"
sed 's/^/#   /' "$W/status" | grep -i "metrics\|days" | head -3

kb_stop
tap_ok $? "kbrokerd stops cleanly with the metrics thread"
kill $PROM 2>/dev/null
wait $PROM 2>/dev/null

# metrics.listener checks at start.
kb_config "metrics.listener=localhost:9644"
"$KBROKERD" --config "$KB_CONF" >"$W/bad" 2>&1
[ $? -ne 0 ] && grep -q "metrics.listener: localhost:9644: expected http://HOST:PORT" "$W/bad"
tap_ok $? "a malformed metrics.listener stops the daemon with one clear line"
BUSY=$(kb_free_port)
$PY -c 'import socket,sys,time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' $BUSY &
HOLD=$!
sleep 0.5
kb_config "metrics.listener=http://127.0.0.1:$BUSY"
timeout 20 "$KBROKERD" --config "$KB_CONF" >"$W/busy" 2>&1
[ $? -ne 0 ] && grep -q "metrics.listener http://127.0.0.1:$BUSY: cannot listen" "$W/busy"
tap_ok $? "an explicit metrics.listener that cannot be bound stops the daemon"
kill $HOLD 2>/dev/null
wait $HOLD 2>/dev/null
kb_config "metrics.listener="
kb_start && grep -q "metrics: off" "$KB_LOG"
tap_ok $? "an empty metrics.listener turns metrics off"
kb_stop
tap_done
