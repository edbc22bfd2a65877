#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Prints the failures and the closing line "N passed, N failed" of a
# results file; exits non-zero on any failure or on no results at all.
results=$1
passed=$(grep -c '^pass ' "$results" 2>/dev/null)
failed=$(grep -c '^fail ' "$results" 2>/dev/null)
passed=${passed:-0}
failed=${failed:-0}
if [ "$failed" -gt 0 ]; then
	echo "# failures:"
	grep '^fail ' "$results" | sed 's/^fail /#   /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
