# SPDX-License-Identifier: GPL-2.0
#
# A private ZooKeeper for host tests (sourced after lib.sh, bash):
#   zk_init                 pick a port, write $ZK_DIR/zoo.cfg; sets $ZK_CONNECT
#   zk_start || bail        start Debian's server, wait until it answers
#   zk_stop                 stop it (the data dir stays for a restart)
# Killed on exit with the brokers of lib.sh.

ZK_SERVER=/usr/share/zookeeper/bin/zkServer.sh
ZK_DIR=$KB_TMP/zk
ZK_PID=
ZK_PORT=
ZK_CONNECT=

zk_init()
{
	mkdir -p "$ZK_DIR/data"
	ZK_PORT=$(kb_free_port)
	ZK_CONNECT=127.0.0.1:$ZK_PORT
	# tickTime 2000: sessions from 4 s to 40 s may be asked for.
	cat >"$ZK_DIR/zoo.cfg" <<EOF
dataDir=$ZK_DIR/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
tickTime=2000
admin.enableServer=false
4lw.commands.whitelist=ruok
EOF
}

# True once the server answers "imok" to ruok.
zk_ok()
{
	$PY - "$ZK_PORT" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"ruok")
sys.exit(0 if s.recv(16) == b"imok" else 1)
EOF
}

zk_start()
{
	[ -x "$ZK_SERVER" ] || { echo "# $ZK_SERVER missing (make deps installs zookeeper)"; return 1; }
	[ -f "$ZK_DIR/zoo.cfg" ] || zk_init
	ZOO_LOG_DIR=$ZK_DIR JVMFLAGS="-Xmx256m" \
		"$ZK_SERVER" start-foreground "$ZK_DIR/zoo.cfg" \
		>>"$ZK_DIR/server.log" 2>&1 &
	ZK_PID=$!
	local i
	for i in $(seq 1 600); do
		zk_ok && return 0
		kill -0 "$ZK_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# ZooKeeper did not answer on $ZK_CONNECT:"
	tail -5 "$ZK_DIR/server.log" | sed 's/^/#   /'
	return 1
}

zk_stop()
{
	[ -n "$ZK_PID" ] || return 0
	kill -TERM "$ZK_PID" 2>/dev/null
	wait "$ZK_PID" 2>/dev/null
	ZK_PID=
}

zk_cleanup()
{
	if [ -n "$ZK_PID" ]; then
		kill -KILL "$ZK_PID" 2>/dev/null
		wait "$ZK_PID" 2>/dev/null
	fi
}
