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

rank=0
for l in $layers; do
	rank=$((rank + 1))
	# Objects of today's sources only: a build dir may hold stale ones.
	for c in daemon/"$l"/*.c; do
		f=$l/$(basename "$c" .c)
		o=$O/$f.o
		[ -e "$o" ] || continue
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
	if grep "^$l/" "$d/up" >"$d/up.$l"; then
		echo "not ok $n - $l/ calls no later layer"
		sed 's/^\([^ ]*\) \([^ ]*\) \(.*\)/#   \1 -> \2: \3/' "$d/up.$l"
		bad=1
	else
		echo "ok $n - $l/ calls no later layer"
	fi
done
echo "1..$n"
exit $bad
