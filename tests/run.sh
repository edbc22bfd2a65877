#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make run: boots the guest with kbroker.ko loaded and kbrokerd serving,
# prints what is there, and forwards the broker's port to the host.
#   RUN_FOR=N          power off after N seconds (default: shell on the console)
#   KBROKER_PORT=P     host port forwarded to the guest's 9092 (default 9092)
B=${B:-$(pwd)/build}
KVER=${KVER:?}
export B KVER
port=${KBROKER_PORT:-9092}
g=$B/guest
mkdir -p "$g"
make -s guest-build || exit 1
tests/guest/mkinitramfs.sh "$g/initramfs.cpio.gz" >"$g/mkinitramfs.log" 2>&1 || {
	cat "$g/mkinitramfs.log"
	exit 1
}

# Once the broker answers through the forwarded port, show it from the host.
(
	i=0
	while [ $i -lt 120 ]; do
		if kcat -b "127.0.0.1:$port" -L -m 2 >"$g/run-host-meta" 2>/dev/null; then
			echo "host: kcat -b 127.0.0.1:$port -L sees:"
			sed 's/^/host:   /' "$g/run-host-meta"
			exit 0
		fi
		sleep 1
		i=$((i + 1))
	done
) &
watcher=$!
args="kbroker.mode=run kbroker.host_port=$port loglevel=4"
[ -n "$RUN_FOR" ] && args="$args kbroker.run_for=$RUN_FOR"
tests/guest/qemu.sh "$g/initramfs.cpio.gz" - - "$args" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:9092"
rc=$?
kill "$watcher" 2>/dev/null
exit $rc
