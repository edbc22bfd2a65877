#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Certificates from the keyring, renewal and the maintenance window, with
# userspace TLS on the host.  Runs in a fresh session keyring (keyctl
# session).  A librdkafka producer (acks=all, idempotent) and consumer run
# through 5 forced rotations; then renewal of a certificate 10 days from
# expiry, refusals during MAINTENANCE, a failing and a lying renew command
# (rollback), Kafka's IncrementalAlterConfigs keystore path, and a search
# for the private key in everything the daemon wrote.
if [ -z "$KB_CERT_IN_SESSION" ]; then
	command -v keyctl >/dev/null || { echo "1..0 # SKIP no keyctl"; exit 0; }
	KB_CERT_IN_SESSION=1 exec keyctl session - "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

CTL=$KB_ROOT/build/daemon/kbrokerctl
CA=$KB_TMP/ca
W=$KB_TMP/work
mkdir -p "$W"
export KBROKER_SOCKET=$KB_TMP/ctl.sock
$CTL ca init "$CA" >/dev/null
tap_ok $? "kbrokerctl ca init makes a local CA"

PS=$(kb_free_port) PP=$(kb_free_port)
# The renew command: the local CA, slowed down so a window is seen.
cat >"$W/renew" <<X
#!/bin/sh
[ -f "$W/fail" ] && { echo "told to fail" >&2; exit 3; }
[ -f "$W/garbage" ] && { echo "not a certificate"; exit 0; }
[ -f "$W/slow" ] && sleep 2
exec $CTL ca sign "$CA"
X
chmod +x "$W/renew"
kb_config \
	"listeners=SSL://127.0.0.1:$PS,PLAIN://127.0.0.1:$PP" \
	"listener.security.protocol.map=SSL:SSL,PLAIN:PLAINTEXT" \
	"ssl.keystore.type=KEYRING" \
	"ssl.certificate.renew.command=$W/renew" \
	"ssl.certificate.ca.location=$CA/ca.pem" \
	"ssl.certificate.renew.retry.ms=600000" \
	"control.socket=$KBROKER_SOCKET"
kb_start
tap_ok $? "kbrokerd starts with an empty keyring: key made and stored"
keyctl search @s user kbroker:tls:key:SSL >/dev/null
tap_ok $? "the key is in the session keyring (kbroker:tls:key:SSL)"

fp() {
	timeout 10 openssl s_client -connect 127.0.0.1:$PS -CAfile "$CA/ca.pem" \
		-verify_return_error </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'
}

# Producer and consumer through the rotations (confluent-kafka).
cat >"$W/clients.py" <<X
import sys, threading, time
from confluent_kafka import Producer, Consumer
conf = {"bootstrap.servers": "127.0.0.1:$PS", "security.protocol": "ssl",
        "ssl.ca.location": "$CA/ca.pem"}
p = Producer(dict(conf, **{"acks": "all", "enable.idempotence": True}))
errs = []
def dr(err, msg):
    if err: errs.append(str(err))
c = Consumer(dict(conf, **{"group.id": "g", "auto.offset.reset": "earliest"}))
c.subscribe(["rot"])
seen = []
stop = time.time() + 3600
def consume():
    while time.time() < stop:
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen.append(int(m.value()))
t = threading.Thread(target=consume)
t.start()
n = 0
while not __import__("os").path.exists("$W/stop"):
    p.produce("rot", str(n).encode(), on_delivery=dr)
    n += 1
    p.poll(0)
    time.sleep(0.005)
p.flush(30)
deadline = time.time() + 30
while len(seen) < n and time.time() < deadline:
    time.sleep(0.2)
stop = 0
t.join()
c.close()
print("produced %d delivery_errors %d consumed %d distinct %d" %
      (n, len(errs), len(seen), len(set(seen))))
ok = not errs and sorted(seen) == list(range(n))
sys.exit(0 if ok else 1)
X
$PY "$W/clients.py" >"$W/clients.out" 2>&1 &
cpid=$!
sleep 3
fps=$(fp)
okrot=0 okfp=0
for i in 1 2 3 4 5; do
	old=$(fp)
	out=$($CTL cert rotate 2>&1)
	rc=$?
	new=$(fp)
	[ $rc = 0 ] && okrot=$((okrot + 1))
	[ -n "$new" ] && [ "$new" != "$old" ] && echo "$out" | grep -q "$new" &&
		okfp=$((okfp + 1))
	echo "# rotation $i: rc $rc, $old -> $new"
	sleep 1
done
touch "$W/stop"
wait $cpid
crc=$?
sed 's/^/# /' "$W/clients.out" | tail -3
[ $okrot = 5 ]
tap_ok $? "5 forced rotations (kbrokerctl cert rotate) succeed"
[ $okfp = 5 ]
tap_ok $? "after each, a new connection sees the new certificate (openssl s_client fingerprint)"
tap_ok $crc "producer (acks=all, idempotent) and consumer ran through: no delivery error, nothing lost or duplicated"
[ "$(grep -c 'state MAINTENANCE: certificate update' "$KB_LOG")" -ge 5 ] &&
	[ "$(grep -c 'state ACTIVE: certificate update done' "$KB_LOG")" -ge 5 ]
tap_ok $? "each rotation went MAINTENANCE -> ACTIVE"
$CTL status >"$W/status" 2>&1
grep -q "state:   ACTIVE" "$W/status" && grep -q "subject:   CN=localhost" "$W/status" &&
	grep -q "issuer:    CN=kbroker local CA" "$W/status" &&
	grep -q "days left" "$W/status" && grep -q "last rotation: .* ok" "$W/status"
tap_ok $? "kbrokerctl status: subject, issuer, expiry, days left, last rotation"
sed 's/^/#   /' "$W/status"

# Refusals during a (slow) window.
touch "$W/slow"
$CTL cert rotate >"$W/slowrot" 2>&1 &
rpid=$!
sleep 0.7
$CTL status 2>/dev/null | grep -q "MAINTENANCE"
tap_ok $? "kbrokerctl status shows MAINTENANCE during the window"
$CTL cert rotate >"$W/second" 2>&1
[ $? != 0 ] && grep -q "broker is in MAINTENANCE (certificate update); try again later" "$W/second"
tap_ok $? "a second rotation is refused with the MAINTENANCE message"
$CTL listener policy SSL plaintext >"$W/lpol" 2>&1
lrc=$?
$CTL volume rewrap "$W/no-such-volume" --master-key kbroker:test >"$W/rewrap" 2>&1
rrc=$?
[ $lrc = 1 ] && [ $rrc = 1 ] &&
	grep -q "broker is in MAINTENANCE (certificate update); try again later" "$W/lpol" &&
	grep -q "broker is in MAINTENANCE (certificate update); try again later" "$W/rewrap"
tap_ok $? "kbrokerctl listener policy and volume rewrap are refused in MAINTENANCE, before acting"
sed "s/^/#   /" "$W/lpol" "$W/rewrap"
$PY - >"$W/alter" 2>&1 <<X
import sys
sys.path.insert(0, "$KB_ROOT/tests/host")
from topic_configs import incremental
from confluent_kafka.admin import AdminClient, ConfigResource
print("incremental", incremental($PP, [(2, "rot", [("retention.ms", 0, "100000")])]))
a = AdminClient({"bootstrap.servers": "127.0.0.1:$PS", "security.protocol": "ssl",
                 "ssl.ca.location": "$CA/ca.pem"})
r = ConfigResource("TOPIC", "rot", set_config={"retention.ms": "100000"})
try:
    a.alter_configs([r])[r].result(timeout=10)
    print("alter accepted")
except Exception as e:
    print("alter refused", e)
X
grep -q "incremental \[(44, 'broker is in MAINTENANCE (certificate update)'" "$W/alter" &&
grep -q "alter refused.*POLICY_VIOLATION.*broker is in MAINTENANCE (certificate update)" "$W/alter"
tap_ok $? "AlterConfigs and IncrementalAlterConfigs refused in MAINTENANCE: POLICY_VIOLATION (44) with the reason"
sed 's/^/#   /' "$W/alter"
wait $rpid
tap_ok $? "the slow rotation completes"
rm -f "$W/slow"

# A renew command that fails, then one that prints garbage: rollback.
for mode in fail garbage; do
	before=$(fp)
	touch "$W/$mode"
	$CTL cert rotate >"$W/$mode.out" 2>&1
	rc=$?
	rm -f "$W/$mode"
	after=$(fp)
	[ $rc != 0 ] && [ "$before" = "$after" ] && [ -n "$after" ] &&
		$CTL status | grep -q "state:   ACTIVE" &&
		$CTL status | grep -q "last rotation: .*FAILED"
	tap_ok $? "renew command $mode: error reported, ACTIVE, old certificate still served"
	sed 's/^/#   /' "$W/$mode.out"
done
grep -q "certificate update failed, old certificate kept" "$KB_LOG"
tap_ok $? "the failure is logged with its reason"

# Kafka's path: IncrementalAlterConfigs of the listener's keystore.
$CTL ca sign "$CA" --days 100 >"$W/k.crt" < <(
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/k.key" 2>/dev/null
	openssl req -new -key "$W/k.key" -subj /CN=localhost \
		-addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null)
cat "$W/k.key" "$W/k.crt" >"$W/k.pem"
want=$(openssl x509 -in "$W/k.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
$PY - >"$W/kafka" 2>&1 <<X
import sys, time
sys.path.insert(0, "$KB_ROOT/tests/host")
from topic_configs import incremental
from confluent_kafka.admin import AdminClient, ConfigResource
k = "listener.name.SSL.ssl.keystore.location"
print("incremental", incremental($PP, [(4, "0", [(k, 0, "$W/k.pem")])]))
time.sleep(2)
a = AdminClient({"bootstrap.servers": "127.0.0.1:$PS", "security.protocol": "ssl",
                 "ssl.ca.location": "$CA/ca.pem"})
d = a.describe_configs([ConfigResource("BROKER", "0")])
e = list(d.values())[0].result(timeout=10)[k]
print("described", e.value, e.source)
X
grep -q "described $W/k.pem" "$W/kafka" && [ "$(fp)" = "$want" ]
tap_ok $? "IncrementalAlterConfigs BROKER listener.name.SSL.ssl.keystore.location swaps the certificate"
sed 's/^/#   /' "$W/kafka"

kb_stop
tap_ok $? "kbrokerd stops cleanly"

# A certificate 10 days from expiry is renewed without being asked.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/10.key" 2>/dev/null
openssl req -new -key "$W/10.key" -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null |
	$CTL ca sign "$CA" --days 10 >"$W/10.crt"
keyctl padd user kbroker:tls:key:SSL @s <"$W/10.key" >/dev/null &&
keyctl padd user kbroker:tls:chain:SSL @s <"$W/10.crt" >/dev/null
old=$(openssl x509 -in "$W/10.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
echo "# keyring chain: $(keyctl pipe "$(keyctl search @s user kbroker:tls:chain:SSL)" | openssl x509 -noout -enddate 2>&1)"
rm -f "$W/10.key"
# Only this run's lines: the last phase ended with an update of its own.
from=$(($(wc -l <"$KB_LOG") + 1))
kb_start
i=0
while [ $i -lt 100 ] && ! tail -n +$from "$KB_LOG" |
	grep -q "state ACTIVE: certificate update done"; do
	sleep 0.1
	i=$((i + 1))
done
now=$(fp)
[ -n "$now" ] && [ "$now" != "$old" ] && tail -n +$from "$KB_LOG" |
	grep -q "expires in 9 days: renewing\|expires in 10 days: renewing"
tap_ok $? "a certificate 10 days from expiry is renewed at start, unasked"
[ -n "$now" ] && [ "$now" != "$old" ] || { kb_dump_log 15; $CTL status | sed "s|^|#  |"; }
$CTL status | grep -q "(39[45] days left)"
tap_ok $? "the renewed certificate has ssl.certificate.lifetime.days (395)"
kb_stop

# The private key never reaches a file the daemon writes.
keyctl pipe "$(keyctl search @s user kbroker:tls:key:SSL)" >"$KB_TMP/.k"
b64=$(grep -v -- ----- "$KB_TMP/.k" | tr -d '\n' | cut -c 20-80)
openssl pkey -in "$KB_TMP/.k" -outform DER -out "$KB_TMP/.der" 2>/dev/null
hex=$(od -An -tx1 -j 7 -N 32 "$KB_TMP/.der" | tr -d ' \n')
rm -f "$KB_TMP/.k" "$KB_TMP/.der"
found=0
for f in $(find "$KB_TMP" -type f ! -path "$W/*"); do
	grep -q -- "$b64" "$f" && found=1
	od -An -tx1 "$f" | tr -d ' \n' | grep -q "$hex" && found=1
done
[ -n "$b64" ] && [ $found = 0 ]
tap_ok $? "no private key (PEM or DER) in the log, log dirs or state the daemon wrote"
tap_done
