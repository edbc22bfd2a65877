#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make run MODE=host: the whole stack on this machine's own kernel, for a
# root shell on a kernel that can load modules.  kbroker.ko (and tls,
# dm-crypt, loop) loaded, the log dir on an encrypted kbroker volume kept
# in a file under $RUN_DIR behind a loop device, kbrokerd in the
# foreground of this script serving TLS only (policy tls) on 127.0.0.1
# with a certificate from a local CA.  Ctrl-C (or SIGTERM) stops it:
# kbrokerd SIGTERM, volume closed, loop device freed, kbroker.ko unloaded
# if this script loaded it.  The next run finds the data again.
#   RUN_DIR=D          its files (default ./run/host)
#   KBROKER_PORT=P     the TLS port on 127.0.0.1 (default 9093)
#   KBROKER_VOLUME=L   the volume's label (default runhost)
#   RUN_FOR=N          stop N seconds after the broker is up
#   KBROKER_KO, KBROKERD, KBROKERCTL   what to run (default: this build)
#
# Files in $RUN_DIR (development only, see Documentation/admin-guide.rst):
#   logs.img   256 MiB sparse: the encrypted kbroker volume
#   state/     the default master key (master.key) that unlocks it
#   ca/        the local CA (ca.key, ca.pem); ca.pem also as $RUN_DIR/ca.pem
#   mnt/       where the volume is mounted while the stack runs
#   kbroker.properties, kbrokerd.log, kbrokerd.sock
B=${B:-$(pwd)/build}
port=${KBROKER_PORT:-9093}
label=${KBROKER_VOLUME:-runhost}
run=${RUN_DIR:-$(pwd)/run/host}
case $run in /*) ;; *) run=$(pwd)/$run ;; esac
ko=${KBROKER_KO:-$(pwd)/kbroker.ko}
kbrokerd=${KBROKERD:-$B/daemon/kbrokerd}
kbrokerctl=${KBROKERCTL:-$B/daemon/kbrokerctl}

say() { echo "run-host: $*"; }
die() { echo "run-host: $*" >&2; exit 1; }

# What this needs from the machine, each refused with its reason;
# --preflight checks only that (make deps runs it before installing).
[ "$(id -u)" = 0 ] || die "needs root (it loads kbroker.ko and sets up dm-crypt)"
if [ ! -r /proc/modules ] ||
	[ "$(cat /proc/sys/kernel/modules_disabled 2>/dev/null)" = 1 ]; then
	die "this kernel ($(uname -r)) cannot load modules; use make run (QEMU)"
fi
[ "$1" = --preflight ] && exit 0
if [ ! -x "$kbrokerd" ] || [ ! -x "$kbrokerctl" ]; then
	die "no $kbrokerd or $kbrokerctl (make daemon)"
fi
loaded_by_us=
if grep -q '^kbroker ' /proc/modules; then
	say "kbroker.ko is already loaded; using it (and leaving it loaded)"
else
	[ -f "$ko" ] || die "no $ko (make module KVER=$(uname -r))"
	built=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
	[ -n "$built" ] || die "$ko is not a kernel module"
	[ "$built" = "$(uname -r)" ] ||
		die "$ko is built for '$built', this kernel is $(uname -r): make run MODE=host builds for it"
fi
for m in tls dm_crypt loop; do
	grep -q "^$m " /proc/modules && continue
	# Built in, or loadable: either will do.
	[ -d "/sys/module/$m" ] || modprobe "$m" ||
		die "modprobe $m failed: this kernel has no $m"
done
if ! grep -q '^kbroker ' /proc/modules; then
	insmod "$ko" || die "insmod $ko failed (see dmesg)"
	loaded_by_us=1
fi

mkdir -p "$run/state" "$run/mnt" || exit 1
chmod 0700 "$run" "$run/state"
export KBROKER_STATE_DIR="$run/state"
export KBROKER_SOCKET="$run/kbrokerd.sock"
loop=
pid=

# Undoes whatever was set up, in reverse order; also on a failed start.
cleanup()
{
	rc=$?
	trap - INT TERM HUP EXIT
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		say "stopping kbrokerd (SIGTERM)"
		kill -TERM "$pid"
		wait "$pid"
		say "kbrokerd exited with status $?"
	fi
	if grep -q " $run/mnt " /proc/mounts; then
		"$kbrokerctl" volume close "$label" || {
			say "volume close $label failed"
			rc=1
		}
	fi
	[ -n "$loop" ] && losetup -d "$loop"
	if [ -n "$loaded_by_us" ]; then
		rmmod kbroker || {
			say "rmmod kbroker failed"
			rc=1
		}
	fi
	say "stopped; data kept in $run"
	exit $rc
}
trap cleanup EXIT
# Ctrl-C and SIGTERM are the normal way to stop: a clean stop exits 0.
trap 'exit 0' INT TERM HUP

grep -q " $run/mnt " /proc/mounts && die "$run/mnt is mounted already: another run?"
[ -f "$run/logs.img" ] || truncate -s 256M "$run/logs.img" || exit 1
# util-linux picks and binds a free device in one step; busybox cannot.
loop=$(losetup -f --show "$run/logs.img" 2>/dev/null) ||
	{ loop=$(losetup -f) && losetup "$loop" "$run/logs.img"; } ||
	die "losetup $run/logs.img failed"
# Formatted only while blank, so a volume is never formatted over.
if cmp -s -n 65536 "$loop" /dev/zero; then
	say "first run: formatting $run/logs.img as kbroker volume '$label'"
	"$kbrokerctl" volume format "$loop" --label "$label" || exit 1
fi
"$kbrokerctl" volume open "$loop" --mount "$run/mnt" || exit 1

[ -f "$run/ca/ca.pem" ] || "$kbrokerctl" ca init "$run/ca" >/dev/null || exit 1
cp "$run/ca/ca.pem" "$run/ca.pem"
cat >"$run/kbroker.properties" <<CONF
broker.id=0
listeners=TLS://127.0.0.1:$port
listener.security.protocol.map=TLS:SSL
listener.name.TLS.policy=tls
# Key made in memory, signed by the local CA, kept in the kernel keyring.
ssl.keystore.type=KEYRING
ssl.certificate.renew.command=$kbrokerctl ca sign $run/ca
ssl.certificate.ca.location=$run/ca/ca.pem
control.socket=$run/kbrokerd.sock
log.dirs=$run/mnt/data
num.partitions=1
auto.create.topics.enable=true
# Kafka ACLs; the demo client (no certificate: User:ANONYMOUS) is given
# topic demo only, once the broker is up.
authorizer=acl
CONF

log=$run/kbrokerd.log
: >"$log"
# Its own session, so a Ctrl-C reaches this script, which stops it in order.
setsid "$kbrokerd" --config "$run/kbroker.properties" >>"$log" 2>&1 &
pid=$!
i=0
until grep -q 'listening on' "$log" || [ $i -ge 300 ]; do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
	i=$((i + 1))
done
if ! grep -q 'listening on' "$log"; then
	sed 's/^/    /' "$log"
	die "kbrokerd did not start (log above)"
fi
sed 's/^/    /' "$log"
KBROKER_SOCKET=$run/kbrokerd.sock "$kbrokerctl" acl add --allow \
	--principal User:ANONYMOUS --operation all --topic demo >/dev/null ||
	die "kbrokerctl acl add for the demo topic failed"
"$kbrokerctl" status | sed 's/^/    /'

kc="kcat -b 127.0.0.1:$port -X security.protocol=ssl -X ssl.ca.location=$run/ca.pem"
say "kbroker is up on 127.0.0.1:$port (TLS, kTLS, policy tls, CA $run/ca.pem)"
say "produce:  echo hello | $kc -P -t demo"
say "consume:  $kc -C -t demo -o beginning -e"
say "status:   KBROKER_SOCKET=$run/kbrokerd.sock $kbrokerctl status"
say "ACLs:     KBROKER_SOCKET=$run/kbrokerd.sock $kbrokerctl acl list"
say "stop with Ctrl-C (data stays in $run for the next run)"
say "ready"

left=${RUN_FOR:--1}
while kill -0 "$pid" 2>/dev/null && [ "$left" != 0 ]; do
	sleep 1
	[ "$left" -gt 0 ] && left=$((left - 1))
done
if ! kill -0 "$pid" 2>/dev/null; then
	wait "$pid"
	say "kbrokerd exited on its own (status $?); its log: $log"
	pid=
	exit 1
fi
exit 0
