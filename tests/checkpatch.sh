#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch.pl --no-tree over the module and the uapi header; TAP output,
# one result per file.
B=${B:-$(pwd)/build}
cp=$B/ksrc/scripts/checkpatch.pl
n=0
fail=0
for f in kmod/*.c kmod/*.h include/uapi/linux/*.h; do
	n=$((n + 1))
	if out=$(perl "$cp" --no-tree --quiet --show-types --strict \
			--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
			-f "$f" 2>&1); then
		echo "ok $n - checkpatch $f"
	else
		echo "not ok $n - checkpatch $f"
		echo "$out" | sed 's/^/#   /'
		fail=1
	fi
done
echo "1..$n"
exit $fail
