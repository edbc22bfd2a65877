#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs the guest suite in one boot and folds its TAP into RESULTS (see
# tests/run-tap).  Fails on any failed test, on a test that exits non-zero
# without saying why, on a missing end marker (panic, hang, timeout) and on
# any kernel WARN, BUG or splat in the console log; prints the console then.
#
# usage: run.sh RESULTS [kbroker.only=PATTERN]
results=$1
only=$2
B=${B:?}
KVER=${KVER:?}
g=$B/guest
mkdir -p "$g"
console=$g/console.log
tap=$g/results.tap
rm -f "$console" "$tap"

if ! tests/guest/mkinitramfs.sh "$g/initramfs.cpio.gz" >"$g/mkinitramfs.log" 2>&1; then
	cat "$g/mkinitramfs.log"
	echo "fail guest: initramfs build failed" >>"$results"
	exit 0
fi

start=$(date +%s)
timeout "${KBROKER_GUEST_TIMEOUT:-1200}" tests/guest/qemu.sh "$g/initramfs.cpio.gz" \
	"$console" "$tap" "$only" \
	-netdev user,id=n0 >"$g/qemu.log" 2>&1
rc=$?
end=$(date +%s)
touch "$tap" "$console"
# The serial port turns every newline into CR LF.
sed -i 's/\r$//' "$tap" "$console"
echo "# guest ran $((end - start)) s (qemu status $rc)"

bad=0
cat "$tap"
awk -v res="$results" '
	/^# --- / { name = $3; next }
	/^# exit / { if ($4 != 0 && !failed[$3]) {
			print "fail guest/" $3 ": exited with status " $4 >> res }
		if (!seen[$3]) print "fail guest/" $3 ": no results" >> res
		next }
	/^ok / { seen[name] = 1; sub(/^ok [0-9]+ *-? */, ""); print "pass guest/" name ": " $0 >> res; next }
	/^not ok / { seen[name] = 1; failed[name] = 1; sub(/^not ok [0-9]+ *-? */, "");
		print "fail guest/" name ": " $0 >> res; next }
' "$tap"

if grep -q '^# guest-done' "$tap"; then
	echo "pass guest: suite ran to the end" >>"$results"
else
	echo "fail guest: suite did not finish (panic, hang or timeout)" >>"$results"
	bad=1
fi
if grep -E -n 'WARNING:|BUG:|Oops|Call Trace|Kernel panic|general protection|kmemleak:|UBSAN|KASAN|refcount_t:|list_add corruption|list_del corruption|INFO: task .* blocked' "$console" >"$g/splats"; then
	echo "fail guest: kernel splat in the console log" >>"$results"
	echo "# kernel splats:"
	sed 's/^/#   /' "$g/splats"
	bad=1
else
	echo "pass guest: kernel log clean" >>"$results"
fi
if [ $bad = 1 ] || grep -q '^not ok' "$tap" || grep -E -q '^# exit [^ ]+ [1-9]' "$tap"; then
	echo "# ---- guest console ----"
	cat "$console"
	echo "# ---- end of guest console ----"
fi
exit 0
