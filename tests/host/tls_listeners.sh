#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TLS listeners with userspace TLS (the host has no kTLS): one broker with
# five listeners (TLS 1.2 only, TLS 1.3 only, mTLS required, tls_plaintext,
# plaintext) driven by kcat, confluent-kafka and raw sockets; then the
# handshake timeout and bad keystores at start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_ca.sh"

CA=$KB_TMP/ca
W=$KB_TMP/work
mkdir -p "$W"
if ! tls_make_ca "$CA" >"$W/ca.log" 2>&1; then
	tap_ok 1 "test CA made with openssl"
	sed 's/^/#   /' "$W/ca.log"
	tap_done
	exit
fi

P12=$(kb_free_port) P13=$(kb_free_port) PM=$(kb_free_port)
PB=$(kb_free_port) PP=$(kb_free_port)
kb_config \
	"listeners=SSL12://127.0.0.1:$P12,SSL13://127.0.0.1:$P13,MTLS://127.0.0.1:$PM,BOTH://127.0.0.1:$PB,PLAIN://127.0.0.1:$PP" \
	"listener.security.protocol.map=SSL12:SSL,SSL13:SSL,MTLS:SSL,BOTH:SSL,PLAIN:PLAINTEXT" \
	"ssl.keystore.type=PEM" \
	"ssl.keystore.location=$CA/server.pem" \
	"ssl.truststore.location=$CA/ca.pem" \
	"ssl.handshake.timeout.ms=1500" \
	"listener.name.ssl12.ssl.enabled.protocols=TLSv1.2" \
	"listener.name.ssl13.ssl.enabled.protocols=TLSv1.3" \
	"listener.name.mtls.ssl.client.auth=required" \
	"listener.name.both.policy=tls_plaintext"
if ! kb_start; then
	tap_ok 1 "kbrokerd starts with five listeners"
	kb_dump_log
	tap_done
	exit
fi
tap_ok 0 "kbrokerd starts with five listeners"
grep -q "kbroker module not loaded: kbrokerd enforces the listener policy" "$KB_LOG"
tap_ok $? "without the module the daemon says once that it enforces the policy"

KC="kcat -X socket.timeout.ms=15000 -X topic.message.timeout.ms=15000 -m 15"
# Refusals: the client retries until its metadata timeout, keep it short.
KR="kcat -m 3"
TLS="-X security.protocol=ssl -X ssl.ca.location=$CA/ca.pem"

# roundtrip PORT TOPIC DESC [kcat options...]: produce 3 lines, read them back.
roundtrip()
{
	local port=$1 topic=$2 desc=$3
	shift 3
	printf 'one\ntwo\nthree\n' >"$W/in.$topic"
	timeout 40 $KC -b 127.0.0.1:$port "$@" -P -t "$topic" -l "$W/in.$topic" \
		2>"$W/err.$topic" &&
	timeout 40 $KC -b 127.0.0.1:$port "$@" -C -t "$topic" -o beginning -e -q \
		>"$W/out.$topic" 2>>"$W/err.$topic" &&
	cmp -s "$W/in.$topic" "$W/out.$topic"
	local rc=$?
	tap_ok $rc "$desc"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$W/err.$topic"
	return $rc
}

roundtrip $P12 t12 "kcat produce+consume over TLS 1.2" $TLS
grep -q "TLS established: TLSv1.2 ECDHE-.*-GCM-" "$KB_LOG"
tap_ok $? "listener SSL12 negotiated TLS 1.2 with an AES-GCM suite"
roundtrip $P13 t13 "kcat produce+consume over TLS 1.3" $TLS
grep -q "TLS established: TLSv1.3 TLS_" "$KB_LOG"
tap_ok $? "listener SSL13 negotiated TLS 1.3"
grep -q "kTLS unavailable: the kernel has no TLS support" "$KB_LOG"
tap_ok $? "no kTLS on the host: logged once, userspace TLS used"
[ "$(grep -c 'kTLS unavailable' "$KB_LOG")" = 1 ]
tap_ok $? "the kTLS reason is logged only once"

# A client forcing TLS 1.3 on the TLS 1.2-only listener is refused.
timeout 20 openssl s_client -connect 127.0.0.1:$P12 -tls1_3 -CAfile "$CA/ca.pem" \
	</dev/null >"$W/s13" 2>&1
[ $? -ne 0 ]
tap_ok $? "TLS 1.3 client refused by the TLS 1.2-only listener"

# confluent-kafka: 300 records of 5 KiB over TLS, read back in order.
timeout 90 $PY - "$P13" "$CA/ca.pem" >"$W/py.out" 2>&1 <<'PYEOF'
import sys
from confluent_kafka import Consumer, Producer, TopicPartition
port, ca = sys.argv[1], sys.argv[2]
conf = {"bootstrap.servers": "127.0.0.1:" + port,
        "security.protocol": "ssl", "ssl.ca.location": ca}
p = Producer(dict(conf, **{"linger.ms": 5}))
vals = [("v%05d-" % i).encode() + bytes([65 + i % 26]) * 5000 for i in range(300)]
for v in vals:
    p.produce("pytls", v)
assert p.flush(30) == 0, "unflushed"
c = Consumer(dict(conf, **{"group.id": "g", "enable.auto.commit": False}))
c.assign([TopicPartition("pytls", 0, 0)])
got = []
while len(got) < len(vals):
    m = c.poll(20)
    assert m is not None, "timeout after %d" % len(got)
    assert not m.error(), m.error()
    got.append(m.value())
c.close()
assert got == vals, "mismatch"
print("ok")
PYEOF
rc=$?
tap_ok $rc "confluent-kafka: 300 x 5 KiB produced and consumed over TLS"
[ $rc -eq 0 ] || sed 's/^/#   /' "$W/py.out"

# mTLS required.
roundtrip $PM tm "mTLS required: client with a certificate from the CA works" \
	$TLS -X ssl.certificate.location=$CA/client.pem -X ssl.key.location=$CA/client.key
grep -q "principal User:CN=client1,O=kbroker" "$KB_LOG"
tap_ok $? "the client's subject is logged as the principal"
timeout 20 $KR -b 127.0.0.1:$PM $TLS -L >"$W/nocert" 2>&1
[ $? -ne 0 ] && ! grep -q "topic \"tm\"" "$W/nocert"
tap_ok $? "mTLS required: client without a certificate refused"
timeout 20 $KR -b 127.0.0.1:$PM $TLS -X ssl.certificate.location=$CA/other-client.pem \
	-X ssl.key.location=$CA/other-client.key -L >"$W/othercert" 2>&1
[ $? -ne 0 ] && ! grep -q "topic \"tm\"" "$W/othercert"
tap_ok $? "mTLS required: certificate from another CA refused"
grep -q "TLS handshake failed" "$KB_LOG"
tap_ok $? "refused handshakes are logged"

# Policies.
timeout 20 $KR -b 127.0.0.1:$P13 -L >"$W/plain-on-tls" 2>&1
[ $? -ne 0 ] && grep -q "plaintext client on listener SSL13 (policy tls), refused" "$KB_LOG"
tap_ok $? "plaintext client on a tls listener refused"
timeout 20 $KR -b 127.0.0.1:$PP $TLS -L >"$W/tls-on-plain" 2>&1
[ $? -ne 0 ] && grep -q "TLS client on listener PLAIN (policy plaintext), refused" "$KB_LOG"
tap_ok $? "TLS client on a plaintext listener refused"
roundtrip $PP tp "plaintext listener still serves plaintext clients"

# tls_plaintext: a plaintext producer and a TLS consumer at once, one port.
echo both-0 >"$W/in.both"
timeout 40 $KC -b 127.0.0.1:$PB $TLS -P -t tboth -l "$W/in.both" 2>"$W/err.both"
seq 1 2000 | sed 's/^/both-/' >"$W/in2.both"
timeout 40 $KC -b 127.0.0.1:$PB $TLS -C -t tboth -o beginning -c 2001 -q \
	>"$W/out.both" 2>"$W/err.both" &
cons=$!
sleep 1
timeout 40 $KC -b 127.0.0.1:$PB -P -t tboth -l "$W/in2.both" 2>>"$W/err.both"
p_rc=$?
wait $cons
c_rc=$?
cat "$W/in2.both" >>"$W/in.both"
[ $p_rc -eq 0 ] && [ $c_rc -eq 0 ] && cmp -s "$W/in.both" "$W/out.both"
rc=$?
tap_ok $rc "tls_plaintext: plaintext producer and TLS consumer on one port at once"
[ $rc -eq 0 ] || sed 's/^/#   /' "$W/err.both"

# Handshake timeout: silent TCP, and a handshake stalled after one byte.
timeout 20 $PY - "$P13" >"$W/stall" 2>&1 <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])
for first in (b"", b"\x16\x03\x01"):
    s = socket.create_connection(("127.0.0.1", port))
    if first:
        s.sendall(first)
    s.settimeout(8)
    t0 = time.time()
    try:
        d = s.recv(100)
    except ConnectionResetError:
        d = b""
    dt = time.time() - t0
    assert d == b"", "got data"
    assert 1.0 < dt < 5.0, "closed after %.1fs" % dt
    print("closed after %.1fs" % dt)
PYEOF
rc=$?
tap_ok $rc "stalled connections (no bytes, partial ClientHello) closed after ssl.handshake.timeout.ms"
sed 's/^/#   /' "$W/stall"
kb_alive
tap_ok $? "kbrokerd still running"
kb_stop
tap_ok $? "kbrokerd stops cleanly"
grep -q "tls: .* handshakes .* pread+write [1-9]" "$KB_LOG"
tap_ok $? "file slices went out through the userspace TLS read-and-write path"

# Bad keystores: exit 1 with one error naming the file.
bad_start()
{
	local desc=$1
	shift
	kb_config "listeners=SSL://127.0.0.1:$P13" "listener.security.protocol.map=SSL:SSL" "$@"
	timeout 20 "$KBROKERD" --config "$KB_CONF" >"$W/bad.log" 2>&1
	local rc=$?
	[ $rc -eq 1 ] && grep -q "$BAD_FILE" "$W/bad.log" && ! grep -q "listening on" "$W/bad.log"
	local ok=$?
	tap_ok $ok "$desc: exit 1 naming the file"
	[ $ok -eq 0 ] || { echo "# status $rc"; sed 's/^/#   /' "$W/bad.log"; }
	sed 's/^/# /' "$W/bad.log" | grep -i ssl
}
BAD_FILE=$KB_TMP/missing.pem
bad_start "missing keystore" "ssl.keystore.location=$BAD_FILE"
BAD_FILE=$W/garbage.pem
echo "not a certificate" >"$BAD_FILE"
bad_start "garbage keystore" "ssl.keystore.location=$BAD_FILE"
BAD_FILE=$CA/client.key
bad_start "key without a certificate" "ssl.keystore.location=$BAD_FILE"
BAD_FILE=$W/nope-ca.pem
bad_start "missing truststore" "ssl.keystore.location=$CA/server.pem" \
	"ssl.truststore.location=$BAD_FILE" "ssl.client.auth=required"
tap_done
