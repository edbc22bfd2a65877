#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make run: the whole stack in a QEMU guest.  kbroker.ko and tls.ko loaded,
# the log dir on an encrypted kbroker volume kept on a disk image under
# $RUN_DIR, kbrokerd serving TLS (policy tls) with a certificate from a
# local CA, its port forwarded to 127.0.0.1 on the host.
#   RUN_DIR=D          where the disk images and the CA live (default ./run)
#   KBROKER_PORT=P     host port forwarded to the guest's TLS port 9093
#   RUN_FOR=N          stop N seconds after the broker is up (default: on
#                      Ctrl-C or SIGTERM)
#   KBROKER_SHELL=1    a shell on the guest console instead; 'exit' stops
#   KBROKER_GUEST_MEM  guest memory in MiB (default 512)
#
# Files in $RUN_DIR (development only, see Documentation/admin-guide.rst):
#   logs.img   256 MiB sparse: the encrypted kbroker volume "logs"
#   state.img  16 MiB ext4: the default master key (master.key), apart
#              from the volume it unlocks; lose it and the data is lost
#   ca/        the local CA (ca.key, ca.pem); ca.pem also as ./ca.pem
B=${B:-$(pwd)/build}
KVER=${KVER:?}
export B KVER
port=${KBROKER_PORT:-9093}
run=${RUN_DIR:-$(pwd)/run}
case $run in /*) ;; *) run=$(pwd)/$run ;; esac
g=$B/run-guest
mkdir -p "$g" "$run" || exit 1

make -s guest-build || exit 1
KB_GUEST_ROOT=$g/root tests/guest/mkinitramfs.sh "$g/base.cpio.gz" \
	>"$g/mkinitramfs.log" 2>&1 || {
	cat "$g/mkinitramfs.log"
	exit 1
}

# The CA is made on the host so its certificate is there for clients
# before the guest boots; the guest signs its broker key with it.
if [ ! -f "$run/ca/ca.pem" ]; then
	"$B/daemon/kbrokerctl" ca init "$run/ca" >/dev/null || exit 1
fi
cp "$run/ca/ca.pem" "$run/ca.pem"
# Disk images: created once, sparse; the guest formats them on first use.
[ -f "$run/logs.img" ] || truncate -s 256M "$run/logs.img" || exit 1
[ -f "$run/state.img" ] || truncate -s 16M "$run/state.img" || exit 1

# A second cpio appended to the initramfs carries the CA (the kernel
# unpacks concatenated archives in order).
extra=$g/extra
rm -rf "$extra"
mkdir -p "$extra/etc/kbroker/ca"
cp "$run/ca/ca.pem" "$run/ca/ca.key" "$extra/etc/kbroker/ca/"
(cd "$extra" && find . | cpio -o -H newc --quiet) | gzip -1 >"$g/extra.cpio.gz"
cat "$g/base.cpio.gz" "$g/extra.cpio.gz" >"$g/initramfs.cpio.gz"
rm -rf "$extra" "$g/extra.cpio.gz"

# Third serial port (ttyS2): the host writes "stop" there to shut the
# guest down cleanly (kbrokerd SIGTERM, volume closed, poweroff).
ctl=$g/ctl.$$
rm -f "$ctl.in" "$ctl.out"
mkfifo "$ctl.in" "$ctl.out" || exit 1

kcat_tls="kcat -b 127.0.0.1:$port -X security.protocol=ssl -X ssl.ca.location=$run/ca.pem"
# Once the broker answers through the forwarded port over TLS, say how
# to use it from the host.
(
	i=0
	while [ $i -lt 300 ]; do
		if $kcat_tls -L -m 2 >"$g/host-meta.$$" 2>/dev/null; then
			echo "host: kbroker is up on 127.0.0.1:$port (TLS, CA $run/ca.pem):"
			sed 's/^/host:   /' "$g/host-meta.$$"
			rm -f "$g/host-meta.$$"
			echo "host: produce:  echo hello | $kcat_tls -P -t demo"
			echo "host: consume:  $kcat_tls -C -t demo -o beginning -e"
			echo "host: stop with Ctrl-C (data stays in $run for the next make run)"
			echo "host: ready"
			exit 0
		fi
		sleep 1
		i=$((i + 1))
	done
	echo "host: kbroker did not answer on 127.0.0.1:$port" >&2
) &
watcher=$!

args="kbroker.mode=run kbroker.host_port=$port loglevel=4"
[ -n "$RUN_FOR" ] && args="$args kbroker.run_for=$RUN_FOR"
[ -n "$KBROKER_SHELL" ] && args="$args kbroker.shell=1"
qemu_args="-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:9093
-drive file=$run/logs.img,if=none,id=logs,format=raw
-device virtio-blk-pci,drive=logs,serial=kblogs
-drive file=$run/state.img,if=none,id=state,format=raw
-device virtio-blk-pci,drive=state,serial=kbstate
-serial pipe:$ctl"
export KBROKER_GUEST_MEM=${KBROKER_GUEST_MEM:-512}
if [ -n "$KBROKER_SHELL" ]; then
	# Interactive: the guest console is this terminal (Ctrl-A X kills).
	# shellcheck disable=SC2086
	tests/guest/qemu.sh "$g/initramfs.cpio.gz" - - "$args" $qemu_args
	rc=$?
	kill "$watcher" 2>/dev/null
	rm -f "$ctl.in" "$ctl.out"
	exit $rc
fi
# setsid: Ctrl-C reaches this script, not QEMU, which would die at once.
# shellcheck disable=SC2086
setsid -w tests/guest/qemu.sh "$g/initramfs.cpio.gz" stdout - "$args" \
	$qemu_args </dev/null &
qpid=$!
# For whoever must clean up after a killed run (tests/host/make_run.sh).
echo "$qpid" >"$run/qemu.pid"

stopping=
killer=
stop_guest()
{
	[ -n "$stopping" ] && return
	stopping=1
	echo "host: stopping the guest (kbrokerd SIGTERM, volume closed)" >&2
	# QEMU holds the fifo open, so these writes do not block while it
	# runs; repeated because the guest may not be listening yet.  A guest
	# that does not stop within a minute is killed.
	(
		i=0
		while [ $i -lt 20 ] && kill -0 "$qpid" 2>/dev/null; do
			timeout 2 sh -c "echo stop >'$ctl.in'"
			sleep 3
			i=$((i + 1))
		done
		kill "$qpid" 2>/dev/null
	) &
	killer=$!
}
trap stop_guest INT TERM HUP

wait "$qpid"
rc=$?
# A trapped signal interrupts wait; wait again until QEMU is gone.
while kill -0 "$qpid" 2>/dev/null; do
	wait "$qpid"
	rc=$?
done
kill "$watcher" $killer 2>/dev/null
rm -f "$ctl.in" "$ctl.out" "$g/host-meta.$$" "$run/qemu.pid"
echo "host: guest stopped (qemu status $rc); data kept in $run"
exit $rc
