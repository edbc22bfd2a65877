# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the host end-to-end tests (sourced, bash).
#
#   . "$(dirname "$0")/lib.sh"
#   kb_config 'num.partitions=3'      # write $KB_CONF (extra lines appended)
#   kb_start || bail                  # start kbrokerd, wait for "listening on"
#   ... use $KB_BOOTSTRAP (127.0.0.1:PORT) and $KB_PID ...
#   kb_stop                           # SIGTERM, wait; returns the exit status
#   tap_ok COND_STATUS "description"  # prints ok/not ok N
#   tap_done                          # prints the plan, returns 0/1
#
# Every broker started here is killed and its temp dir (under $KB_TMPDIR,
# default /tmp) removed on exit.

KB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KBROKERD=${KBROKERD:-$KB_ROOT/build/daemon/kbrokerd}
PY=/usr/bin/python3
KB_START_TIMEOUT=${KB_START_TIMEOUT:-30}

KB_TMP=$(mktemp -d "${KB_TMPDIR:-/tmp}/kbhost.XXXXXX")
KB_CONF=$KB_TMP/server.properties
KB_LOG=$KB_TMP/kbrokerd.log
KB_DIRS="$KB_TMP/logs-a,$KB_TMP/logs-b"
KB_PID=
KB_PORT=
KB_BOOTSTRAP=

kb_cleanup()
{
	if [ -n "$KB_PID" ] && kill -0 "$KB_PID" 2>/dev/null; then
		kill -KILL "$KB_PID" 2>/dev/null
		wait "$KB_PID" 2>/dev/null
	fi
	KB_PID=
	rm -rf "$KB_TMP"
}
trap kb_cleanup EXIT
trap 'exit 130' INT TERM

# A free TCP port on 127.0.0.1 (bound to port 0 by the kernel, then freed).
kb_free_port()
{
	$PY -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# kb_config [LINE...]: write $KB_CONF with the defaults plus LINEs.  Keeps
# the port already chosen so a restart reuses it.
kb_config()
{
	[ -n "$KB_PORT" ] || KB_PORT=$(kb_free_port)
	KB_BOOTSTRAP=127.0.0.1:$KB_PORT
	{
		echo "# written by tests/host/lib.sh"
		echo "broker.id=0"
		echo "listeners=PLAINTEXT://127.0.0.1:$KB_PORT"
		echo "log.dirs=$KB_DIRS"
		echo "num.partitions=1"
		echo "auto.create.topics.enable=true"
		echo "at.rest.encryption=off"
		for l in "$@"; do echo "$l"; done
	} >"$KB_CONF"
}

# kb_start: start kbrokerd on $KB_CONF; 0 once it logs "listening on".
kb_start()
{
	[ -x "$KBROKERD" ] || { echo "# $KBROKERD missing (run make daemon)"; return 1; }
	[ -f "$KB_CONF" ] || kb_config
	echo "# --- kbrokerd start $(date +%T)" >>"$KB_LOG"
	local start_line
	start_line=$(($(wc -l <"$KB_LOG") + 1))
	"$KBROKERD" --config "$KB_CONF" 2>>"$KB_LOG" >>"$KB_LOG" &
	KB_PID=$!
	local i=0
	while [ $i -lt $((KB_START_TIMEOUT * 10)) ]; do
		if tail -n +"$start_line" "$KB_LOG" | grep -q "listening on"; then
			return 0
		fi
		if ! kill -0 "$KB_PID" 2>/dev/null; then
			wait "$KB_PID"
			echo "# kbrokerd exited with status $? before listening:"
			tail -n +"$start_line" "$KB_LOG" | tail -20 | sed 's/^/#   /'
			KB_PID=
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "# kbrokerd not listening after ${KB_START_TIMEOUT}s:"
	tail -n +"$start_line" "$KB_LOG" | tail -20 | sed 's/^/#   /'
	return 1
}

# kb_stop: SIGTERM and wait (up to 30 s, then SIGKILL); returns exit status.
kb_stop()
{
	local rc i=0
	[ -n "$KB_PID" ] || return 0
	kill -TERM "$KB_PID" 2>/dev/null
	while kill -0 "$KB_PID" 2>/dev/null && [ $i -lt 300 ]; do
		# a zombie still answers kill -0; wait reaps it below
		[ "$(ps -o stat= -p "$KB_PID" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.1
		i=$((i + 1))
	done
	if [ $i -ge 300 ]; then
		echo "# kbrokerd ignored SIGTERM for 30s, killing"
		kill -KILL "$KB_PID" 2>/dev/null
	fi
	wait "$KB_PID"
	rc=$?
	KB_PID=
	return $rc
}

kb_kill9()
{
	[ -n "$KB_PID" ] || return 0
	kill -KILL "$KB_PID" 2>/dev/null
	wait "$KB_PID" 2>/dev/null
	KB_PID=
}

kb_alive()
{
	[ -n "$KB_PID" ] && kill -0 "$KB_PID" 2>/dev/null
}

# Dump the broker log as TAP comments (for failures).
kb_dump_log()
{
	echo "# kbrokerd log (last ${1:-30} lines):"
	tail -n "${1:-30}" "$KB_LOG" 2>/dev/null | sed 's/^/#   /'
}

TAP_N=0
TAP_FAILED=0

# tap_ok STATUS DESCRIPTION: STATUS 0 = pass.
tap_ok()
{
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# tap_skip_rest COUNT REASON: report COUNT planned checks as failed.
tap_fail_rest()
{
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		tap_ok 1 "$*"
		n=$((n - 1))
	done
}

tap_done()
{
	echo "1..$TAP_N"
	[ $TAP_FAILED -eq 0 ]
}
