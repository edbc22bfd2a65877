#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Builds the guest's initramfs: busybox-static, kmod, the kernel modules the
# suite needs (with everything modules.dep pulls in, and the crypto
# directories so algorithms load on demand), kbroker.ko, the daemon, the
# tool, the guest tests, the real clients, and every shared library they use.
#
# usage: mkinitramfs.sh OUT.cpio.gz
set -e
out=$1
KVER=${KVER:?}
B=${B:?}
root=${KB_GUEST_ROOT:-$B/guest/root}
mods=/lib/modules/$KVER

rm -rf "$root"
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin "$root"/lib \
	"$root"/lib64 "$root"/etc "$root"/proc "$root"/sys "$root"/dev \
	"$root"/tmp "$root"/run "$root"/var/tmp "$root"/mnt "$root"/kbroker

cp /bin/busybox "$root"/bin/busybox
for app in $(/bin/busybox --list); do
	[ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
done

# Copies an executable or library and, through ldd, the libraries it needs.
copy_elf() {
	src=$1
	dst=$2
	mkdir -p "$(dirname "$root$dst")"
	cp -L "$src" "$root$dst"
	ldd "$src" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}' |
	while read -r lib; do
		[ -e "$root$lib" ] && continue
		mkdir -p "$(dirname "$root$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# kmod's tools understand modules.alias, so crypto algorithms autoload.
copy_elf /usr/bin/kmod /sbin/kmod
for t in modprobe insmod rmmod lsmod depmod modinfo; do
	rm -f "$root/bin/$t"
	ln -sf kmod "$root/sbin/$t"
done

for tool in /usr/bin/keyctl /usr/sbin/dmsetup /usr/sbin/mke2fs /usr/sbin/e2fsck /usr/bin/kcat \
	    /usr/bin/openssl /usr/sbin/losetup /sbin/cryptsetup; do
	[ -x "$tool" ] || continue
	name=$(basename "$tool")
	rm -f "$root/bin/$name"
	copy_elf "$tool" "$tool"
done
ln -sf mke2fs "$root"/usr/sbin/mkfs.ext4

# Kernel modules: what we load explicitly, their dependencies, and the
# crypto directories (AEAD and XTS implementations are requested by alias).
modlist=$(for m in tls dm-mod dm-crypt loop ext4 virtio_net virtio_pci \
		   virtio_blk gcm ccm xts chacha20poly1305 aesni-intel \
		   sha256_generic cryptd crypto_simd; do
	modprobe -S "$KVER" --show-depends "$m" 2>/dev/null |
		awk '$1 == "insmod" {print $2}'
done | sort -u)
for f in $modlist $(find "$mods/kernel/crypto" "$mods/kernel/arch/x86/crypto" \
		   "$mods/kernel/lib/crypto" -name '*.ko*' 2>/dev/null); do
	mkdir -p "$root$(dirname "$f")"
	cp "$f" "$root$f"
done
cp "$mods/modules.builtin" "$mods/modules.builtin.modinfo" "$mods/modules.order" \
	"$root$mods/"
mkdir -p "$root$mods/extra"
cp kbroker.ko "$root$mods/extra/kbroker.ko"
depmod -b "$root" "$KVER"

# kbroker: daemon, tool, guest tests.
for b in "$B"/daemon/kbrokerd "$B"/daemon/kbrokerctl; do
	[ -x "$b" ] && copy_elf "$b" "/usr/sbin/$(basename "$b")"
done
mkdir -p "$root"/tests
for t in "$B"/tests/kselftest/* "$B"/tests/guest-bin/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	copy_elf "$t" "/tests/bin/$(basename "$t")"
done
mkdir -p "$root"/tests/cases
for t in tests/guest/cases/*; do
	[ -f "$t" ] && cp "$t" "$root/tests/cases/"
done
# make run MODE=host's script, exercised on the guest's kernel.
cp tests/run-host.sh "$root"/tests/run-host.sh
# Benchmarks for kbroker.mode=bench (make bench); their helpers on PATH.
mkdir -p "$root"/tests/bench
for t in tests/guest/bench/*; do
	[ -f "$t" ] && cp "$t" "$root/tests/bench/"
done
for t in "$B"/tests/guest-bench-bin/*; do
	[ -f "$t" ] && [ -x "$t" ] && copy_elf "$t" "/usr/bin/$(basename "$t")"
done
cp tests/guest/init "$root"/init
chmod +x "$root"/init

echo "root:x:0:0:root:/root:/bin/sh" >"$root"/etc/passwd
echo "nobody:x:65534:65534:nobody:/:/bin/false" >>"$root"/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root"/etc/group

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out"
