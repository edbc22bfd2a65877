#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run` end to end: the whole stack in QEMU on a temporary RUN_DIR and
# port; 20 messages produced from the host with kcat over TLS through the
# forwarded port; stopped (SIGTERM, as Ctrl-C would), started again on the
# same disk images: all 20 consumed back; stopped again.  Both stops must
# be clean (kbrokerd SIGTERM, volume closed, guest powered off).
. "$(dirname "$0")/lib.sh"

cd "$KB_ROOT" || exit 1
RUN=$KB_TMP/run
PORT=$(kb_free_port)
CA=$RUN/ca.pem
MAKE_PID=
n=20

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -e kbroker.ko ]; then
	echo "1..0 # SKIP no QEMU or no kbroker.ko"
	exit 0
fi

cleanup()
{
	if [ -n "$MAKE_PID" ] && kill -0 "$MAKE_PID" 2>/dev/null; then
		kill -TERM "$MAKE_PID"
		wait "$MAKE_PID"
	fi
	# tests/run.sh keeps QEMU's pid there while it runs.
	[ -f "$RUN/qemu.pid" ] && kill -KILL "$(cat "$RUN/qemu.pid")" 2>/dev/null
	kb_cleanup
}
trap cleanup EXIT

# run_start N: make run in the background; 0 once the host side says ready.
run_start()
{
	local log=$KB_TMP/run$1.log i=0
	RUN_DIR=$RUN KBROKER_PORT=$PORT KBROKER_GUEST_MEM=512 \
		make -s run >"$log" 2>&1 &
	MAKE_PID=$!
	while [ $i -lt 150 ]; do
		grep -q '^host: ready' "$log" && return 0
		kill -0 "$MAKE_PID" 2>/dev/null || break
		sleep 1
		i=$((i + 1))
	done
	sed 's/^/# /' "$log"
	return 1
}

# run_stop N: SIGTERM to make (what Ctrl-C does); the guest must stop
# cleanly within a minute.
run_stop()
{
	local log=$KB_TMP/run$1.log i=0
	kill -TERM "$MAKE_PID"
	while kill -0 "$MAKE_PID" 2>/dev/null && [ $i -lt 90 ]; do
		sleep 1
		i=$((i + 1))
	done
	# make itself exits non-zero after a SIGTERM; the guest's words count.
	wait "$MAKE_PID"
	MAKE_PID=
	grep -q 'kbroker-run: stopping (stop from the host)' "$log" &&
		grep -q 'clean shutdown' "$log" &&
		grep -q 'kbroker-run: kbrokerd stopped (status 0)' "$log" &&
		grep -q 'kbroker-run: volume closed' "$log" &&
		grep -q 'reboot: Power down' "$log" &&
		grep -q 'host: guest stopped (qemu status 0)' "$log" && return 0
	sed 's/^/# /' "$log"
	return 1
}

KC() { timeout 60 kcat -b "127.0.0.1:$PORT" -X security.protocol=ssl \
	-X ssl.ca.location="$CA" -X socket.timeout.ms=30000 "$@"; }

t0=$(date +%s)
run_start 1
tap_ok $? "make run boots and serves TLS on 127.0.0.1:$PORT ($(($(date +%s) - t0)) s)"
[ -s "$CA" ] && [ -f "$RUN/ca/ca.key" ] && [ -f "$RUN/logs.img" ] && [ -f "$RUN/state.img" ]
tap_ok $? "RUN_DIR holds ca.pem, ca/, logs.img and state.img"

for i in $(seq 1 $n); do echo "run-e2e-$i"; done >"$KB_TMP/sent"
KC -P -t demo -X acks=all <"$KB_TMP/sent" 2>"$KB_TMP/kcat.err"
tap_ok $? "produced $n messages from the host over TLS"
sed 's/^/# /' "$KB_TMP/kcat.err"
echo plain | timeout 20 kcat -b "127.0.0.1:$PORT" -P -t demo \
	-X socket.timeout.ms=5000 -X message.timeout.ms=8000 2>/dev/null
tap_ok $([ $? -ne 0 ]; echo $?) "a plaintext producer is refused (policy tls)"

t1=$(date +%s)
run_stop 1
tap_ok $? "stop: kbrokerd SIGTERM, clean shutdown, volume closed ($(($(date +%s) - t1)) s)"
grep -q "first run: formatting /dev/vd. as kbroker volume 'logs'" "$KB_TMP/run1.log" &&
	grep -q "encrypted at rest on kbroker volume logs" "$KB_TMP/run1.log"
tap_ok $? "first run: volume formatted, log dir encrypted at rest"
grep -Eq 'listeners/EXTERNAL/policy = tls' "$KB_TMP/run1.log"
tap_ok $? "the forwarded listener's policy is tls"
! grep -q 'run-e2e-' "$RUN/logs.img"
tap_ok $? "the disk image holds none of the messages in plaintext"

t1=$(date +%s)
run_start 2
tap_ok $? "make run starts again on the same images ($(($(date +%s) - t1)) s)"
# demo also holds the guest's line per boot; the sandbox's ACLs give
# its clients that topic only.
KC -C -t demo -o beginning -e -q 2>"$KB_TMP/kcat.err" | grep '^run-e2e-' >"$KB_TMP/got"
sed 's/^/# /' "$KB_TMP/kcat.err"
cmp -s "$KB_TMP/sent" "$KB_TMP/got"
tap_ok $? "all $n messages consumed back after the restart ($(wc -l <"$KB_TMP/got") lines)"
run_stop 2
tap_ok $? "second stop clean"
grep -q 'opened .logs.' "$KB_TMP/run2.log" && ! grep -q 'first run' "$KB_TMP/run2.log"
tap_ok $? "second run: the volume opened, nothing formatted again"
# MODE=host on a kernel that cannot load modules (this build machine's):
# refused at once with the reason, before anything is installed or built.
if [ ! -r /proc/modules ]; then
	timeout 60 make -s run MODE=host RUN_DIR="$KB_TMP/host" >"$KB_TMP/host.log" 2>&1
	rc=$?
	sed 's/^/# /' "$KB_TMP/host.log"
	[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'cannot load modules' "$KB_TMP/host.log" &&
		[ ! -e "$KB_TMP/host" ]
	tap_ok $? "make run MODE=host on a kernel without modules: a clear refusal"
fi
echo "# make run e2e took $(($(date +%s) - t0)) s"
tap_done
