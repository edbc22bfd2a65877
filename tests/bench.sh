#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: benchmarks, each in its own section (BENCH_ONLY=NAME: one), printing ratios measured
# side by side in one run.  Assumes `make all` was done (kbrokerd built).
#
#   host-rdkafka: kbrokerd (log dirs on disk, default flush policy) against
#                 librdkafka's in-process mock cluster, tests/bench/rdk_bench.c
#   host-tls:     userspace TLS vs plaintext on one kbrokerd (rdk_bench), and
#                 full handshakes/s vs openssl s_server, tests/bench/tls_bench.sh
#   host-metrics: produce and fetch with /metrics scraped every 100 ms vs
#                 unwatched, tests/bench/metrics_bench.sh
#   host-acl:     authorizer=acl with 100 ACLs vs authorizer=none, two
#                 kbrokerd side by side (rdk_bench), tests/bench/acl_bench.sh
#   host-compaction: produce p99 latency on a compacted topic with the log
#                 cleaner running vs off (two kbrokerd side by side), and the
#                 cleaner's MB/s of dirty log, tests/bench/compaction_bench.py
#   host-fetch-sessions: kbrokerd CPU for a consumer of 1,000 partitions at
#                 ~1 msg/s each, with and without a fetch session,
#                 tests/bench/fetch_session_bench.py
#   host-recompress: compression.type=zstd (gzip batches recompressed at
#                 append) vs producer, two kbrokerd side by side (rdk_bench),
#                 tests/bench/recompress_bench.sh
#   guest:        one QEMU boot with kbroker.mode=bench runs tests/guest/bench/*:
#                 Fetch/produce with kTLS vs userspace TLS vs plaintext, and
#                 log append on a kbroker volume vs the raw loop device
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
		RDK_BENCH_KB_PID=$KB_PID "$B/tests/bench/rdk_bench" "$KB_BOOTSTRAP"
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

bench_host_metrics()
{
	section "host-metrics: produce and fetch scraped every 100 ms vs unwatched"
	mkdir -p "$B/tests/bench"
	[ -x "$B/tests/bench/rdk_bench" ] || cc -std=gnu11 -O2 -g -Wall -Wextra -Werror \
		-D_GNU_SOURCE -o "$B/tests/bench/rdk_bench" tests/bench/rdk_bench.c \
		$(pkg-config --cflags --libs rdkafka) || return 1
	tests/bench/metrics_bench.sh "$B/tests/bench/rdk_bench"
}

bench_host_acl()
{
	section "host-acl: authorizer=acl with 100 ACLs vs authorizer=none"
	[ -x "$B/tests/bench/rdk_bench" ] || {
		mkdir -p "$B/tests/bench"
		cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
			-o "$B/tests/bench/rdk_bench" tests/bench/rdk_bench.c \
			$(pkg-config --cflags --libs rdkafka) || return 1
	}
	tests/bench/acl_bench.sh "$B/tests/bench/rdk_bench"
}

bench_host_compaction()
{
	section "host-compaction: produce p99 with the log cleaner running vs off; cleaner MB/s"
	/usr/bin/python3 tests/bench/compaction_bench.py
bench_host_recompress()
{
	section "host-recompress: compression.type=zstd vs producer, gzip producers"
	[ -x "$B/tests/bench/rdk_bench" ] || {
		mkdir -p "$B/tests/bench"
		cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
			-o "$B/tests/bench/rdk_bench" tests/bench/rdk_bench.c \
			$(pkg-config --cflags --libs rdkafka) || return 1
	}
	tests/bench/recompress_bench.sh "$B/tests/bench/rdk_bench"
}

bench_host_fetch_sessions()
{
	section "host-fetch-sessions: 1,000-partition consumer, with and without a fetch session"
	/usr/bin/python3 tests/bench/fetch_session_bench.py 2>&1 | grep -v '^%[0-9]|'
}

bench_guest()
{
	section "guest: kTLS vs userspace TLS vs plaintext; at rest, dm-crypt vs raw"
	[ -n "$KVER" ] || { echo "KVER unset (run through make bench)"; return 1; }
	local g=$B/guest-bench
	mkdir -p "$g" "$B/tests/guest-bench-bin"
	cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$B/tests/guest-bench-bin/append_bench" \
		tests/bench/append_bench.c || return 1
	if ! KB_GUEST_ROOT=$g/root tests/guest/mkinitramfs.sh "$g/initramfs.cpio.gz" \
		>"$g/mkinitramfs.log" 2>&1; then
		cat "$g/mkinitramfs.log"
		return 1
	fi
	rm -f "$g/out" "$g/console.log"
	local t0=$(date +%s)
	timeout "${KBROKER_GUEST_TIMEOUT:-1200}" tests/guest/qemu.sh "$g/initramfs.cpio.gz" \
		"$g/console.log" "$g/out" "kbroker.mode=bench" -netdev user,id=n0 \
		>"$g/qemu.log" 2>&1
	echo "guest ran $(($(date +%s) - t0)) s, $(sed -n 's/^qemu: accel -accel \([a-z]*\).*/\1/p' "$g/qemu.log")," \
		"figures indicative only under TCG on a shared VM"
	touch "$g/out"
	sed 's/\r$//' "$g/out"
	grep -q '^# guest-done' "$g/out" || { echo "guest did not finish; console in $g/console.log"; return 1; }
}

# BENCH_ONLY=NAME (host_rdkafka, host_tls, host_metrics, host_acl,
# host_compaction, host_fetch_sessions, host_recompress, guest) runs one section.
for b in host_rdkafka host_tls host_metrics host_acl host_compaction host_fetch_sessions host_recompress guest; do
	[ -z "$BENCH_ONLY" ] || [ "$BENCH_ONLY" = $b ] || continue
	"bench_$b" || rc=1
done
exit $rc
