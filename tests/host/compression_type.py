#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Broker-side compression.type with confluent-kafka: a topic with
compression.type=zstd written by a producer sending gzip holds zstd
batches (read from the segment file, what Fetch sends) and a consumer
reads the same records back; uncompressed and producer topics; the
broker default from kbroker.properties; AlterConfigs switching the codec
of an existing topic; a bad value refused naming the choices."""

import glob
import os
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import (AdminClient, ConfigResource,  # noqa: E402
                                   NewTopic)

TMO = 20
T = Tap()
CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
N = 2000


def create(admin, name, config):
    fs = admin.create_topics([NewTopic(name, 1, 1, config=config)],
                             request_timeout=TMO)
    try:
        fs[name].result(timeout=TMO)
        return None
    except KafkaException as e:
        T.diag("create_topics %s %s: %s" % (name, config, e))
        return e.args[0]


def alter(admin, name, config):
    res = admin.alter_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, name, set_config=config)],
        request_timeout=TMO)
    for f in res.values():
        f.result(timeout=TMO)


def produce(bs, topic, codec, first=0, n=N):
    p = Producer({"bootstrap.servers": bs, "compression.type": codec,
                  "linger.ms": 20, "batch.num.messages": 500})
    errs = []
    for i in range(first, first + n):
        p.produce(topic, key=b"k%d" % i, value=b"value-%06d-" % i * 8,
                  on_delivery=lambda e, m: e and errs.append(e))
    p.flush(TMO)
    return errs


def consume(bs, topic, n):
    c = Consumer({"bootstrap.servers": bs, "group.id": "cmp-" + topic,
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got = []
    deadline = time.time() + 60
    while len(got) < n and time.time() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append((m.offset(), m.key(), m.value()))
    c.close()
    return got


def batches(b, topic):
    """(codec, count, crc_ok) of every batch in the partition's log."""
    out = []
    for d in b.dirs:
        for seg in sorted(glob.glob(os.path.join(d, topic + "-0", "*.log"))):
            data = open(seg, "rb").read()
            pos = 0
            while pos + 61 <= len(data):
                length = struct.unpack(">i", data[pos + 8:pos + 12])[0]
                if length <= 0:
                    break
                end = pos + 12 + length
                crc = struct.unpack(">I", data[pos + 17:pos + 21])[0]
                attr = struct.unpack(">h", data[pos + 21:pos + 23])[0]
                count = struct.unpack(">i", data[pos + 57:pos + 61])[0]
                out.append((attr & 7, count,
                            crc32c(data[pos + 21:end]) == crc))
                pos = end
    return out


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        t.append(c)
    return t


_T = _table()


def crc32c(data):
    c = 0xFFFFFFFF
    for x in data:
        c = _T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def right(got, first, n):
    want = [(first + i, b"k%d" % (first + i),
             b"value-%06d-" % (first + i) * 8) for i in range(n)]
    return got[first:first + n] == want


def main():
    zlib.crc32(b"")         # zlib present: gzip producers work
    with Broker(extra=["auto.create.topics.enable=false",
                       "compression.type=lz4"]) as b:
        if not T.ok(b.start(), "kbrokerd starts with compression.type=lz4"):
            return T.done()
        bs = b.bootstrap
        admin = AdminClient({"bootstrap.servers": bs})

        T.ok(create(admin, "cz", {"compression.type": "zstd"}) is None,
             "create_topics with compression.type=zstd")
        errs = produce(bs, "cz", "gzip")
        T.ok(not errs, "a gzip producer writes %d records (%s)" % (N, errs[:1]))
        bz = batches(b, "cz")
        T.diag("cz batches: %d, codecs %s" % (len(bz),
                                             sorted(set(c for c, _, _ in bz))))
        T.ok(bz and all(c == 4 for c, _, _ in bz),
             "every stored batch is zstd (attributes codec 4)")
        T.ok(bz and all(ok for _, _, ok in bz) and
             sum(n for _, n, _ in bz) == N,
             "CRC-32C of every rebuilt batch is right, %d records" % N)
        got = consume(bs, "cz", N)
        T.ok(len(got) == N and right(got, 0, N),
             "a consumer reads the same %d records, offsets 0..%d in order"
             % (N, N - 1))

        T.ok(create(admin, "cu", {"compression.type": "uncompressed"})
             is None, "compression.type=uncompressed")
        produce(bs, "cu", "snappy", n=500)
        bu = batches(b, "cu")
        T.ok(bu and all(c == 0 for c, _, _ in bu) and
             right(consume(bs, "cu", 500), 0, 500),
             "snappy batches stored uncompressed, records intact")

        T.ok(create(admin, "cp", {"compression.type": "producer"}) is None,
             "compression.type=producer")
        produce(bs, "cp", "snappy", n=500)
        T.ok(all(c == 2 for c, _, _ in batches(b, "cp")),
             "producer: snappy batches kept as sent")

        T.ok(create(admin, "cd", {}) is None, "a topic without override")
        produce(bs, "cd", "gzip", n=500)
        T.ok(all(c == 3 for c, _, _ in batches(b, "cd")),
             "broker default compression.type=lz4 applies: lz4 batches")

        alter(admin, "cd", {"compression.type": "snappy"})
        produce(bs, "cd", "none", first=500, n=500)
        cds = batches(b, "cd")
        T.ok(cds and cds[-1][0] == 2 and
             right(consume(bs, "cd", 1000), 0, 1000),
             "after alter_configs snappy, new batches are snappy; all "
             "1000 records read back")

        e = create(admin, "cbad", {"compression.type": "brotli"})
        T.ok(e is not None and e.code() == 40 and
             "producer" in e.str(),
             "compression.type=brotli refused, the message lists the "
             "choices (%s)" % (e.str() if e else None))
        T.ok(b.alive(), "kbrokerd still running")
    with Broker(extra=["compression.type=brotli"]) as b:
        T.ok(not b.start(timeout=10) and
             "compression.type" in b.log_tail(5),
             "kbroker.properties compression.type=brotli stops the daemon "
             "naming the key")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
