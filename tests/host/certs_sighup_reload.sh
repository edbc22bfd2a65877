#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# SIGHUP reloads the PEM keystore: an operator replaces the key and
# certificate file, sends SIGHUP (systemctl reload), and new handshakes
# get the new certificate through the maintenance window while an
# established TLS client keeps working; a broken file is rolled back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_ca.sh"

CA=$KB_TMP/ca
tls_make_ca "$CA" >/dev/null 2>&1
tap_ok $? "test CA made"
cp "$CA/server.pem" "$KB_TMP/keystore.pem"

PS=$(kb_free_port)
kb_config \
	"listeners=SSL://127.0.0.1:$PS" \
	"listener.security.protocol.map=SSL:SSL" \
	"ssl.keystore.location=$KB_TMP/keystore.pem" \
	"ssl.certificate.ca.location=$CA/ca.pem"
kb_start
tap_ok $? "kbrokerd starts with a PEM keystore"

fp() {
	timeout 10 openssl s_client -connect 127.0.0.1:$PS -CAfile "$CA/ca.pem" \
		-verify_return_error </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'
}
kc() { kcat -b 127.0.0.1:$PS -X security.protocol=ssl -X ssl.ca.location="$CA/ca.pem" "$@"; }

old=$(fp)
[ -n "$old" ]
tap_ok $? "the first certificate is served"

# A client that stays connected across the reload.
seq 1 50 | kc -P -t hup -p 0 2>/dev/null
coproc CONS { kc -C -u -t hup -p 0 -o beginning -q 2>/dev/null; }

# A new certificate for the same key name, as a CA would renew it.
(
	cd "$CA" || exit 1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out new.key 2>/dev/null
	openssl req -config x.cnf -new -key new.key -out new.csr -subj /CN=localhost
	openssl x509 -req -in new.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out new.crt -days 2 -extfile x.cnf -extensions srv 2>/dev/null
	cat new.key new.crt ca.pem >new.pem
)
# SIGHUP, then 0 once the log says ACTIVE again (within 20 s); prints
# what the reload logged.
hup_until_active()
{
	local mark ok=1
	mark=$(wc -l <"$KB_LOG")
	kill -HUP "$KB_PID"
	for _ in $(seq 1 100); do
		tail -n +"$mark" "$KB_LOG" | grep -q 'ACTIVE' && { ok=0; break; }
		sleep 0.2
	done
	tail -n +"$mark" "$KB_LOG" | sed 's/^/# /'
	return $ok
}

want=$(openssl x509 -in "$CA/new.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
cp "$CA/new.pem" "$KB_TMP/keystore.pem"
hup_until_active
tap_ok $? "SIGHUP runs the maintenance window and returns to ACTIVE"
kb_alive
tap_ok $? "kbrokerd is still running after SIGHUP"
[ "$(fp)" = "$want" ]
tap_ok $? "new connections get the new certificate"

seq 51 100 | kc -P -t hup -p 0 2>/dev/null
got=0
for _ in $(seq 1 600); do
	read -r -t 0.2 line <&"${CONS[0]}" && got=$((got + 1))
	[ $got -ge 100 ] && break
done
[ $got -ge 100 ]
tap_ok $? "a consumer connected before the reload gets every message ($got of 100)"
kill "$CONS_PID" 2>/dev/null

# A broken file: the reload is rolled back, the served certificate stays.
echo "not a keystore" >"$KB_TMP/keystore.pem"
hup_until_active
tap_ok $? "a broken keystore: back to ACTIVE"
[ "$(fp)" = "$want" ]
tap_ok $? "a broken keystore: the certificate served before stays"
kb_alive
tap_ok $? "kbrokerd is still running"
kb_stop
tap_ok $? "clean stop"
tap_done
