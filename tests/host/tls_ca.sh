# SPDX-License-Identifier: GPL-2.0
#
# tls_make_ca DIR: a throw-away test CA in DIR (sourced, sh):
#   ca.pem                 the CA certificate (clients' ssl.ca.location)
#   server.pem             server key + certificate + CA (a PEM keystore),
#                          SAN IP:127.0.0.1, DNS:localhost
#   client.pem client.key  a client certificate signed by the CA
#   other-client.pem/.key  a client certificate from another CA
# Needs only the openssl tool (no openssl.cnf).
tls_make_ca()
{
	(
	set -e
	mkdir -p "$1"
	cd "$1"
	cat >x.cnf <<X
[req]
distinguished_name = dn
[dn]
[srv]
subjectAltName = IP:127.0.0.1,DNS:localhost
[cli]
extendedKeyUsage = clientAuth
X
	key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
	key ca.key
	openssl req -config x.cnf -x509 -new -key ca.key -out ca.pem -days 2 \
		-subj /CN=kbroker-test-ca
	key other-ca.key
	openssl req -config x.cnf -x509 -new -key other-ca.key -out other-ca.pem \
		-days 2 -subj /CN=other-test-ca
	key server.key
	openssl req -config x.cnf -new -key server.key -out server.csr -subj /CN=localhost
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out server.crt -days 2 -extfile x.cnf -extensions srv 2>/dev/null
	cat server.key server.crt ca.pem >server.pem
	key client.key
	openssl req -config x.cnf -new -key client.key -out client.csr \
		-subj "/O=kbroker/CN=client1"
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out client.pem -days 2 -extfile x.cnf -extensions cli 2>/dev/null
	key other-client.key
	openssl req -config x.cnf -new -key other-client.key -out other-client.csr \
		-subj "/CN=intruder"
	openssl x509 -req -in other-client.csr -CA other-ca.pem -CAkey other-ca.key \
		-CAcreateserial -out other-client.pem -days 2 -extfile x.cnf \
		-extensions cli 2>/dev/null
	)
}
