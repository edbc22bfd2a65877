#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The daemon's layer rule over the built objects: a file may call its own
# folder and the folders before it in daemon/Makefile's LAYERS, never one
# after it.  The linker alone misses an upward call when the object it
# needs was already pulled in, so every undefined symbol of every object
# is matched with the folder that defines it (nm).  One TAP line per
# folder, naming each upward call as file -> file: symbol.
B=${B:-$(pwd)/build}
O=$B/daemon
layers=$(make -s --no-print-directory -C daemon layers) || exit 1
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

# Calls that still run upward, "from-file to-file symbol", until issue 15's
# loops are broken; each is reported, none fails.
cat >"$d/known" <<'EOF'
tls/tls certs/cert_keyring kb_keyring_load
certs/cert_renew app/cluster kb_now_mono_ms
certs/cert_window admin/control kb_ctl_close
certs/cert_window admin/control kb_ctl_open
certs/cert_window admin/control kb_ctl_reply
certs/cert_window app/cluster kb_now_mono_ms
group/group app/cluster kb_now_mono_ms
group/group app/cluster kb_now_real_ms
group/group handlers/h_group kb_member_wait_answer
group/group_offsets app/cluster kb_now_real_ms
group/group_offsets handlers/api kb_str_copy
handlers/h_fetch app/cluster kb_now_mono_ms
handlers/h_group app/cluster kb_now_mono_ms
handlers/h_group_offsets app/cluster kb_now_mono_ms
handlers/h_group_offsets app/cluster kb_now_real_ms
net/conn app/cluster kb_now_mono_ms
net/loop admin/control kb_ctl_on_accept
net/loop app/cluster kb_now_mono_ms
net/loop app/cluster kb_now_real_ms
EOF

rank=0
for l in $layers; do
	rank=$((rank + 1))
	for o in "$O/$l"/*.o; do
		[ -e "$o" ] || continue
		f=$l/$(basename "$o" .o)
		nm -g --defined-only "$o" |
			awk -v f="$f" -v r=$rank '$2 ~ /^[TDBRCVW]$/ { print $3, f, r }'
		nm -u "$o" | awk -v f="$f" -v r=$rank '{ print $2, f, r }' >>"$d/uses"
	done
done | sort >"$d/defs"
sort "$d/uses" >"$d/uses.s"

# symbol from-file from-rank to-file to-rank, for calls to a later layer
join "$d/uses.s" "$d/defs" | awk '$5 > $3 { print $2, $4, $1 }' | sort >"$d/up"

n=0
bad=0
for l in $layers; do
	n=$((n + 1))
	grep "^$l/" "$d/up" >"$d/up.$l"
	grep -vxFf "$d/known" "$d/up.$l" >"$d/new.$l"
	if [ -s "$d/new.$l" ]; then
		echo "not ok $n - $l/ calls no later layer"
		sed 's/^\([^ ]*\) \([^ ]*\) \(.*\)/#   \1 -> \2: \3/' "$d/new.$l"
		bad=1
	else
		echo "ok $n - $l/ calls no later layer"
	fi
	grep -xFf "$d/known" "$d/up.$l" |
		sed 's/^\([^ ]*\) \([^ ]*\) \(.*\)/#   known: \1 -> \2: \3/'
done
echo "1..$n"
exit $bad
