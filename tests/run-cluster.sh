#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make run BROKERS=3: a cluster on this machine.  A private ZooKeeper
# (Debian's server, data under $RUN_DIR/zk) and three kbrokerd, each with a
# TLS client listener (policy tls) and a TLS inter-broker listener
# (encryption.in.cluster=true), certificates from a local CA.  Runs on
# this kernel without the module (the build host cannot load one), so the
# log dirs are plain directories (at.rest.encryption=off, logged loudly
# by each broker); the encrypted single broker is `make run`.  Ctrl-C (or
# SIGTERM) stops the brokers (controlled shutdown), then ZooKeeper; the
# next run finds the cluster and its data again.
#   RUN_DIR=D          its files (default ./run/cluster)
#   BROKERS=N          how many brokers (default 3)
#   KBROKER_PORT=P     broker i's TLS client port is P+i-1 (default 9093);
#                      its inter-broker port P+100+i-1
#   KBROKER_ZK_PORT=Z  ZooKeeper's client port on 127.0.0.1 (default 2181)
#   RUN_FOR=N          stop N seconds after the cluster is up
#   KBROKERD, KBROKERCTL   what to run (default: this build)
#
# Files in $RUN_DIR (development only, see Documentation/admin-guide.rst):
#   ca/        the local CA; ca.pem also as $RUN_DIR/ca.pem
#   zk/        zoo.cfg, ZooKeeper's data and log
#   bN/        broker N: server.properties, server.pem, logs/, kbrokerd.log,
#              kbrokerd.sock
B=${B:-$(pwd)/build}
n=${BROKERS:-3}
port=${KBROKER_PORT:-9093}
zkport=${KBROKER_ZK_PORT:-2181}
run=${RUN_DIR:-$(pwd)/run/cluster}
case $run in /*) ;; *) run=$(pwd)/$run ;; esac
kbrokerd=${KBROKERD:-$B/daemon/kbrokerd}
kbrokerctl=${KBROKERCTL:-$B/daemon/kbrokerctl}
zkserver=/usr/share/zookeeper/bin/zkServer.sh

say() { echo "run-cluster: $*"; }
die() { echo "run-cluster: $*" >&2; exit 1; }

case $n in ''|*[!0-9]*) die "BROKERS=$n: a number, please" ;; esac
[ "$n" -ge 1 ] && [ "$n" -le 9 ] || die "BROKERS=$n: 1 to 9 brokers"
[ -x "$zkserver" ] || die "$zkserver missing (make deps installs zookeeper)"
[ -x "$kbrokerd" ] && [ -x "$kbrokerctl" ] ||
	die "no $kbrokerd or $kbrokerctl (make daemon)"
mkdir -p "$run/zk/data" || exit 1
chmod 0700 "$run"

declare -a pid
zkpid=

cleanup()
{
	local rc=$? i
	trap - INT TERM HUP EXIT
	# All at once: each moves its leadership away while the others run.
	for i in "${!pid[@]}"; do
		kill -0 "${pid[$i]}" 2>/dev/null && kill -TERM "${pid[$i]}"
	done
	for i in "${!pid[@]}"; do
		wait "${pid[$i]}"
		say "broker $i exited with status $?"
	done
	if [ -n "$zkpid" ]; then
		kill -TERM "$zkpid" 2>/dev/null
		wait "$zkpid" 2>/dev/null
		say "ZooKeeper stopped"
	fi
	say "stopped; data kept in $run"
	exit $rc
}
trap cleanup EXIT
trap 'exit 0' INT TERM HUP

# ZooKeeper: answers "imok" once it serves.
zk_ok()
{
	local r
	r=$({ exec 3<>"/dev/tcp/127.0.0.1/$zkport" && printf ruok >&3 &&
		timeout 2 head -c 4 <&3; } 2>/dev/null)
	[ "$r" = imok ]
}
zk_ok && die "something already answers on 127.0.0.1:$zkport (KBROKER_ZK_PORT=...)"
cat >"$run/zk/zoo.cfg" <<CONF
dataDir=$run/zk/data
clientPort=$zkport
clientPortAddress=127.0.0.1
tickTime=2000
admin.enableServer=false
4lw.commands.whitelist=ruok
CONF
ZOO_LOG_DIR=$run/zk JVMFLAGS="-Xmx256m" setsid "$zkserver" start-foreground \
	"$run/zk/zoo.cfg" >>"$run/zk/server.log" 2>&1 &
zkpid=$!
i=0
until zk_ok; do
	kill -0 "$zkpid" 2>/dev/null || { tail -5 "$run/zk/server.log"; die "ZooKeeper did not start"; }
	[ $i -ge 600 ] && die "ZooKeeper did not answer on 127.0.0.1:$zkport"
	sleep 0.1
	i=$((i + 1))
done
say "ZooKeeper up on 127.0.0.1:$zkport (data in $run/zk)"

[ -f "$run/ca/ca.pem" ] || "$kbrokerctl" ca init "$run/ca" >/dev/null || exit 1
cp "$run/ca/ca.pem" "$run/ca.pem"

bootstrap=
for id in $(seq 1 "$n"); do
	d=$run/b$id
	cp_=$((port + id - 1))
	bp=$((port + 100 + id - 1))
	mkdir -p "$d/logs" || exit 1
	bootstrap=${bootstrap:+$bootstrap,}127.0.0.1:$cp_
	# One certificate per broker, for 127.0.0.1 and localhost.
	if [ ! -f "$d/server.pem" ]; then
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$d/server.key" 2>/dev/null &&
		openssl req -new -key "$d/server.key" -subj "/CN=kbroker-$id" \
			-out "$d/server.csr" &&
		printf 'subjectAltName = IP:127.0.0.1,DNS:localhost\n' >"$d/san.cnf" &&
		openssl x509 -req -in "$d/server.csr" -CA "$run/ca/ca.pem" \
			-CAkey "$run/ca/ca.key" -CAcreateserial -days 395 \
			-extfile "$d/san.cnf" -out "$d/server.crt" 2>/dev/null &&
		cat "$d/server.key" "$d/server.crt" "$run/ca/ca.pem" >"$d/server.pem" ||
			die "cannot make broker $id's certificate"
		chmod 0600 "$d/server.key" "$d/server.pem"
	fi
	cat >"$d/server.properties" <<CONF
broker.id=$id
listeners=CLIENT://127.0.0.1:$cp_,BROKER://127.0.0.1:$bp
listener.security.protocol.map=CLIENT:SSL,BROKER:SSL
listener.name.CLIENT.policy=tls
listener.name.BROKER.policy=tls
ssl.keystore.location=$d/server.pem
ssl.truststore.location=$run/ca/ca.pem
inter.broker.listener.name=BROKER
encryption.in.cluster=true
zookeeper.connect=127.0.0.1:$zkport/kbroker
zookeeper.session.timeout.ms=6000
broker.rack=rack$id
default.replication.factor=$((n < 3 ? n : 3))
num.partitions=3
auto.create.topics.enable=true
log.dirs=$d/logs
# No module on this kernel: plain log dirs (make run has the encrypted one).
at.rest.encryption=off
control.socket=$d/kbrokerd.sock
metrics.listener=http://127.0.0.1:$((port + 200 + id - 1))
authorizer=acl
CONF
	: >>"$d/kbrokerd.log"
	echo "# --- start $(date)" >>"$d/kbrokerd.log"
	setsid "$kbrokerd" --config "$d/server.properties" >>"$d/kbrokerd.log" 2>&1 &
	pid[$id]=$!
done

# Each registered, listening, and the demo topic open to the demo client.
for id in $(seq 1 "$n"); do
	d=$run/b$id
	i=0
	until tail -n 200 "$d/kbrokerd.log" | grep -q "registered as broker $id" &&
		tail -n 200 "$d/kbrokerd.log" | grep -q "listening on"; do
		kill -0 "${pid[$id]}" 2>/dev/null || { tail -20 "$d/kbrokerd.log"; die "broker $id exited (log above)"; }
		[ $i -ge 600 ] && die "broker $id did not register (see $d/kbrokerd.log)"
		sleep 0.1
		i=$((i + 1))
	done
	KBROKER_SOCKET=$d/kbrokerd.sock "$kbrokerctl" acl add --allow \
		--principal User:ANONYMOUS --operation all --topic demo >/dev/null ||
		die "kbrokerctl acl add on broker $id failed"
done

kc="kcat -b $bootstrap -X security.protocol=ssl -X ssl.ca.location=$run/ca.pem"
KBROKER_SOCKET=$run/b1/kbrokerd.sock "$kbrokerctl" cluster status | sed 's/^/    /'
say "$n brokers up on 127.0.0.1:$port..$((port + n - 1)) (TLS, policy tls; inter-broker TLS on $((port + 100))..$((port + 100 + n - 1)); CA $run/ca.pem)"
say "metadata: $kc -L"
say "produce:  echo hello | $kc -P -t demo"
say "consume:  $kc -C -t demo -o beginning -e"
say "status:   KBROKER_SOCKET=$run/b1/kbrokerd.sock $kbrokerctl cluster status"
say "stop with Ctrl-C (data stays in $run for the next run)"
say "ready"

left=${RUN_FOR:--1}
while [ "$left" != 0 ]; do
	for id in $(seq 1 "$n"); do
		if ! kill -0 "${pid[$id]}" 2>/dev/null; then
			wait "${pid[$id]}"
			say "broker $id exited on its own (status $?); its log: $run/b$id/kbrokerd.log"
			unset "pid[$id]"
			exit 1
		fi
	done
	sleep 1
	[ "$left" -gt 0 ] && left=$((left - 1))
done
exit 0
