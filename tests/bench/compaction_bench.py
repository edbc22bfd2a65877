#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Cost of the log cleaner, measured side by side.

Two kbrokerd, each with a compacted topic (1 MiB segments, dirty ratio
0.1, so cleanings follow each other while producing): one with the
cleaner on (log.cleaner.threads=1), one with log.cleaner.enable=false.
In COMPACTION_BENCH_PAIRS (5) alternating pairs, a producer writes at a
steady rate (COMPACTION_BENCH_RATE records/s, 100-byte values over 10,000
keys, acks=1, linger.ms=5) for COMPACTION_BENCH_SECONDS to each in turn; per run the
p50/p99 of librdkafka's per-record delivery latency.  Prints, as medians
over the pairs: produce p99 (and p50) with cleaning / without, and the
cleaner's throughput, dirty bytes cleaned per second of cleaning, from the
broker's per-cleaning log lines.  Figures only; nothing is asserted.
"""

import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "host"))
from kb import Broker  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

PAIRS = int(os.environ.get("COMPACTION_BENCH_PAIRS", "5"))
RATE = int(os.environ.get("COMPACTION_BENCH_RATE", "5000"))
SECONDS = float(os.environ.get("COMPACTION_BENCH_SECONDS", "4"))
KEYS = 10000
TOPIC = "cbench"
LINE = re.compile(r"cleaned up to offset \d+: (\d+) dirty bytes, read (\d+) "
                  r"bytes, wrote (\d+),.* in (\d+) ms")


def start(enable):
    b = Broker(extra=["metrics.listener=",
                      "log.cleaner.enable=%s" % enable,
                      "log.cleaner.threads=1",
                      "log.cleaner.backoff.ms=100"])
    if not b.start():
        print("kbrokerd did not start")
        sys.exit(1)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    fs = admin.create_topics(
        [NewTopic(TOPIC, 1, 1, config={"cleanup.policy": "compact",
                                       "segment.bytes": str(1 << 20),
                                       "min.cleanable.dirty.ratio": "0.1"})])
    fs[TOPIC].result(30)
    b.producer = Producer({"bootstrap.servers": b.bootstrap, "acks": 1,
                           "linger.ms": 5,
                           "queue.buffering.max.messages": 1000000})
    # Connected, with metadata, before anything is timed.
    b.producer.produce(TOPIC, key=b"warm", value=b"up")
    b.producer.flush(30)
    return b


def run(b):
    """Steady-rate produce; returns (p50, p99) delivery latency in ms."""
    lat = []

    def done(err, m):
        if err is None and m.latency() is not None:
            lat.append(m.latency() * 1000)

    p = b.producer
    val = b"x" * 100
    t0 = time.time()
    n = 0
    while time.time() - t0 < SECONDS:
        due = int((time.time() - t0) * RATE)
        while n < due:
            p.produce(TOPIC, key=b"key-%d" % (n % KEYS), value=val,
                      on_delivery=done)
            n += 1
        p.poll(0.001)
    p.flush(60)
    if len(lat) < 100:
        return None
    lat.sort()
    return lat[len(lat) // 2], lat[len(lat) * 99 // 100]


def cleaner_figures(b):
    dirty = ms = rd = wr = 0
    with open(b.logpath, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                dirty += int(m.group(1))
                rd += int(m.group(2))
                wr += int(m.group(3))
                ms += int(m.group(4))
    return dirty, rd, wr, ms


def main():
    on, off = start("true"), start("false")
    ratios99, ratios50, abs_on, abs_off = [], [], [], []
    try:
        for i in range(PAIRS):
            order = [(on, True), (off, False)]
            if i % 2:
                order.reverse()
            res = {}
            for b, cleaning in order:
                res[cleaning] = run(b)
            if res[True] and res[False]:
                ratios50.append(res[True][0] / res[False][0])
                ratios99.append(res[True][1] / res[False][1])
                abs_on.append(res[True][1])
                abs_off.append(res[False][1])
        # Let the last cleanings finish before reading the log.
        time.sleep(2)
        dirty, rd, wr, ms = cleaner_figures(on)
    finally:
        on.stop()
        off.stop()
        on.cleanup()
        off.cleanup()
    print("produce: %d records/s of 100 B over %d keys, %.0f s per run, "
          "%d pairs" % (RATE, KEYS, SECONDS, PAIRS))
    if ratios99:
        print("produce p99 latency, cleaning/not cleaning: %.2f "
              "(median of pairs; %.1f ms vs %.1f ms)"
              % (statistics.median(ratios99), statistics.median(abs_on),
                 statistics.median(abs_off)))
        print("produce p50 latency, cleaning/not cleaning: %.2f"
              % statistics.median(ratios50))
    if ms:
        print("cleaner: %.1f MB of dirty log cleaned in %.1f s of cleaning: "
              "%.1f MB/s dirty (read %.1f MB, wrote %.1f MB)"
              % (dirty / 1e6, ms / 1000, dirty / 1e6 / (ms / 1000),
                 rd / 1e6, wr / 1e6))
    else:
        print("cleaner: no cleaning logged")


if __name__ == "__main__":
    main()
