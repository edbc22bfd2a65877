#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: benchmarks, each in its own section, printing ratios measured
# side by side in one run.  Assumes `make all` was done (kbrokerd built).
#
#   host-rdkafka: kbrokerd (log dirs on disk, default flush policy) against
#                 librdkafka's in-process mock cluster, tests/bench/rdk_bench.c
#   host-tls:     userspace TLS vs plaintext on one kbrokerd (rdk_bench), and
#                 full handshakes/s vs openssl s_server, tests/bench/tls_bench.sh
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
B=${B:-$top/build}
rc=0

section() { printf '\n==== %s ====\n' "$*"; }

section "machine"
echo "nproc:  $(nproc)"
echo "cpu:    $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "kernel: $(uname -r)"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "date:   $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null)"

bench_host_rdkafka()
{
	section "host-rdkafka: librdkafka clients, kbrokerd vs librdkafka mock cluster"
	mkdir -p "$B/tests/bench"
	if ! cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
		-o "$B/tests/bench/rdk_bench" tests/bench/rdk_bench.c \
		$(pkg-config --cflags --libs rdkafka); then
		echo "rdk_bench: build failed"
		return 1
	fi
	(
		# A broker of its own, killed and cleaned up on exit by lib.sh.
		. tests/host/lib.sh
		kb_config "num.partitions=1"
		echo "log dirs: $KB_DIRS ($(stat -f -c %T "$KB_TMP"))"
		if ! kb_start; then
			echo "kbrokerd did not start; mock only"
			kb_dump_log
			"$B/tests/bench/rdk_bench"
			exit 1
		fi
		"$B/tests/bench/rdk_bench" "$KB_BOOTSTRAP"
		r=$?
		kb_alive || { echo "kbrokerd died during the benchmark"; r=1; }
		kb_stop || { echo "kbrokerd did not exit cleanly"; r=1; }
		grep -E '<[0-3]>' "$KB_LOG" | head -5
		exit $r
	)
}

bench_host_tls()
{
	section "host-tls: userspace TLS vs plaintext, handshakes vs openssl s_server"
	[ -x "$B/tests/bench/rdk_bench" ] || { echo "rdk_bench not built"; return 1; }
	tests/bench/tls_bench.sh "$B/tests/bench/rdk_bench"
}

bench_host_rdkafka || rc=1
bench_host_tls || rc=1
exit $rc
