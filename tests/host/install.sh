#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make install DESTDIR=...: exactly the expected files, a unit that
# systemd-analyze accepts, a configuration never overwritten, and module
# source that builds as DKMS would build it.
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
B=${B:-$top/build}
# The newest kernel with headers, as the top Makefile picks it.
KVER=${KVER:-$(ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -1 | cut -d/ -f4)}
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

make -s install DESTDIR="$d/root" B="$B" >"$d/log" 2>&1
rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$d/log"
t $rc "make install DESTDIR=... succeeds"

src=usr/src/kbroker-0.1.0
{
	echo etc/kbroker/kbroker.properties
	echo usr/lib/systemd/system/kbrokerd.service
	echo usr/lib/sysusers.d/kbroker.conf
	echo usr/lib/tmpfiles.d/kbroker.conf
	echo usr/sbin/kbrokerctl
	echo usr/sbin/kbrokerd
	echo usr/share/man/man5/kbroker.properties.5
	echo usr/share/man/man8/kbrokerctl.8
	echo usr/share/man/man8/kbrokerd.8
	echo $src/Kbuild
	echo $src/dkms.conf
	echo $src/include/uapi/linux/kbroker.h
	for f in kmod/*.c kmod/*.h; do echo "$src/$f"; done
	for f in udev/*.rules; do [ -e "$f" ] && echo "usr/lib/udev/rules.d/${f#udev/}"; done
} | sort >"$d/expected"
(cd "$d/root" && find . -type f | sed 's|^\./||' | sort) >"$d/got"
diff "$d/expected" "$d/got" | sed 's/^/# /'
cmp -s "$d/expected" "$d/got"
t $? "exactly the expected files are installed"

[ "$(stat -c %a "$d/root/etc/kbroker/kbroker.properties")" = 640 ]
t $? "the configuration is installed 0640"

echo "# edited by the operator" >>"$d/root/etc/kbroker/kbroker.properties"
make -s install DESTDIR="$d/root" B="$B" >/dev/null 2>&1
grep -q 'edited by the operator' "$d/root/etc/kbroker/kbroker.properties"
t $? "a second install keeps the operator's configuration"

# verify needs ExecStart to exist on this machine: point it at the build.
sed "s|/usr/sbin/kbrokerd|$d/root/usr/sbin/kbrokerd|" \
	"$d/root/usr/lib/systemd/system/kbrokerd.service" >"$d/kbrokerd.service"
out=$(systemd-analyze verify --man=no "$d/kbrokerd.service" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ $rc = 0 ] && [ -z "$out" ]
t $? "systemd-analyze verify accepts kbrokerd.service"

grep -q '^Type=notify$' "$d/root/usr/lib/systemd/system/kbrokerd.service"
t $? "the unit waits for readiness (Type=notify)"

"$d/root/usr/sbin/kbrokerd" --version >/dev/null 2>&1
t $? "the installed kbrokerd runs"

# DKMS builds the installed source tree out of tree, like this.
cp -r "$d/root/$src" "$d/dkms"
make -s -C "/lib/modules/$KVER/build" M="$d/dkms" modules >"$d/dkms.log" 2>&1 &&
	[ -f "$d/dkms/kbroker.ko" ]
rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$d/dkms.log"
t $rc "the installed module source builds kbroker.ko (as DKMS does)"

for m in "$d"/root/usr/share/man/man*/*; do
	man -l -Tutf8 "$m" >/dev/null 2>"$d/man.err" && ! [ -s "$d/man.err" ] ||
		{ sed 's/^/# /' "$d/man.err"; false; }
	t $? "man page $(basename "$m") renders cleanly"
done
echo "1..$n"
