#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Boots the guest kernel with an initramfs.  KVM when /dev/kvm works,
# software emulation otherwise.
# usage: qemu.sh INITRAMFS CONSOLE_OUT TAP_OUT "KERNEL ARGS" [QEMU ARGS...]
# CONSOLE_OUT: a file, "-" (interactive on stdio, with the QEMU monitor)
# or "stdout" (output only: Ctrl-C is left to the caller).
# KBROKER_GUEST_MEM: memory in MiB (default 1024).
initrd=$1
console=$2
tap=$3
args=$4
shift 4

# KVM on these machines is nested and has been seen to hang a boot before
# the first console line, so it is used only after a quick probe boot
# prints; KBROKER_ACCEL=kvm|tcg forces one.
accel=${KBROKER_ACCEL:-auto}
if [ "$accel" = auto ]; then
	accel=tcg
	probe=$(mktemp)
	if [ -w /dev/kvm ] && timeout 15 qemu-system-x86_64 -accel kvm -cpu host \
		-m 256 -nodefaults -display none -no-reboot -serial "file:$probe" \
		-kernel "/boot/vmlinuz-$KVER" -append "console=ttyS0 panic=-1" \
		>/dev/null 2>&1 && grep -q 'Kernel panic' "$probe"; then
		accel=kvm
	fi
	rm -f "$probe"
fi
if [ "$accel" = kvm ]; then
	accel="-accel kvm -cpu host"
else
	accel="-accel tcg -cpu max"
fi
echo "qemu: accel $accel" >&2

if [ "$console" = - ]; then
	con="-serial mon:stdio"
elif [ "$console" = stdout ]; then
	con="-chardev stdio,id=con0,signal=off -serial chardev:con0"
else
	con="-serial file:$console"
fi
if [ "$tap" = - ]; then
	tapdev="-serial null"
else
	tapdev="-serial file:$tap"
fi

# shellcheck disable=SC2086
exec qemu-system-x86_64 $accel -m "${KBROKER_GUEST_MEM:-1024}" -smp 2 -nodefaults -display none \
	-no-reboot $con $tapdev \
	-kernel "/boot/vmlinuz-$KVER" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 oops=panic panic_on_warn=1 $args" \
	-device virtio-net-pci,netdev=n0 "$@"
