#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Extracts the few kernel-tree files the tests use (kselftest_harness.h,
# kselftest.h, checkpatch.pl and its data files) from Debian's linux-source
# tarball into build/ksrc.  Never copied into git.
set -e
B=${B:-$(pwd)/build}
dst=$B/ksrc
stamp=$dst/.done
[ -f "$stamp" ] && exit 0

tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1)
[ -n "$tarball" ] || { echo "ksrc: no /usr/src/linux-source-*.tar.xz; run make deps" >&2; exit 1; }
top=$(basename "$tarball" .tar.xz)
rm -rf "$dst" && mkdir -p "$dst"
tar -xJf "$tarball" -C "$dst" --strip-components=1 \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/scripts/checkpatch.pl" \
	"$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch"
touch "$stamp"
