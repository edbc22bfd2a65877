#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Raw-protocol checks for what the Debian clients cannot ask.

librdkafka 2.0.2 and confluent-kafka 1.7 have no DescribeCluster, so it is
sent here by hand (flexible version, request header v2), as is ApiVersions
v3; ApiVersions must advertise every API of the daemon's interface.
"""

import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Reader, Tap, produce_v3_body  # noqa: E402

T = Tap()

APIS = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata",
        18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
        22: "InitProducerId", 23: "OffsetForLeaderEpoch",
        32: "DescribeConfigs",
        37: "CreatePartitions", 60: "DescribeCluster"}


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def compact_str(s):
    s = s.encode()
    return uvarint(len(s) + 1) + s


def call(port, api_key, ver, body, flexible, corr=42):
    hdr = struct.pack(">hhih", api_key, ver, corr, 4) + b"prot"
    if flexible:
        hdr += uvarint(0)
    msg = hdr + body
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    try:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        n = struct.unpack(">i", recv(s, 4))[0]
        r = Reader(recv(s, n), flexible)
    finally:
        s.close()
    if r.i32() != corr:
        raise ValueError("correlation id mismatch")
    return r


def recv(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise ValueError("connection closed")
        buf += d
    return buf


def acks0_checks(b):
    """acks=0 Produce gets no answer; one that fails closes the connection
    (as in Kafka) so the producer notices instead of losing records."""
    hdr = struct.pack(">hhih", 0, 3, 7, 4) + b"prot"
    cases = [("to partition 99 of a one-partition topic", "acks0", 99,
              b"not a batch"),
             ("with records that are no record batch", "acks0", 0,
              b"not a batch")]
    for desc, topic, part, rec in cases:
        msg = hdr + produce_v3_body(topic, part, rec, 0)
        s = socket.create_connection(("127.0.0.1", b.port), timeout=15)
        try:
            s.sendall(struct.pack(">i", len(msg)) + msg)
            got = s.recv(64)
            what = "closed" if got == b"" else "answered %r" % got[:8]
        except ConnectionResetError:
            what = "closed"
        except OSError as e:
            what = "error %s" % e
        finally:
            s.close()
        T.ok(what == "closed", "acks=0 Produce %s: connection closed (%s)"
             % (desc, what))
    # The same request with acks=1 is answered with the partition's error.
    try:
        r = call(b.port, 0, 3, produce_v3_body("acks0", 99, b"x", 1), False)
        r.i32()                 # topics
        r.string()
        r.i32()                 # partitions
        idx, err = r.i32(), r.i16()
        T.ok(idx == 99 and err == 3, "acks=1: partition 99 answers "
             "UNKNOWN_TOPIC_OR_PARTITION (%d %d)" % (idx, err))
    except (ValueError, OSError, struct.error) as e:
        T.ok(False, "acks=1 Produce to partition 99 answered: %s" % e)


def epoch_checks(b):
    """OffsetForLeaderEpoch v4 on the standalone broker, leader in epoch
    0: the current epoch ends at the log end, a future one is unknown."""
    body = struct.pack(">i", -1) + uvarint(2) + compact_str("acks0") + \
        uvarint(4)
    for part, epoch in ((0, 0), (0, 5), (99, 0)):
        body += struct.pack(">iii", part, -1, epoch) + uvarint(0)
    body += uvarint(0) + uvarint(0)
    try:
        r = call(b.port, 23, 4, body, True)
        r.tags()
        r.i32()                 # throttle
        r.uvarint()
        r.string()
        got = []
        for _ in range(r.uvarint() - 1):
            err, part, ep, end = r.i16(), r.i32(), r.i32(), r.i64()
            r.tags()
            got.append((err, part, ep, end))
        T.ok(got == [(0, 0, 0, 0), (0, 0, -1, -1), (3, 99, -1, -1)],
             "OffsetForLeaderEpoch v4: epoch 0 ends at the log end, epoch "
             "5 unknown, partition 99 UNKNOWN_TOPIC_OR_PARTITION (%s)" % got)
    except (ValueError, OSError, struct.error) as e:
        T.ok(False, "OffsetForLeaderEpoch v4 answered: %s" % e)


def main():
    with Broker(extra=["num.partitions=1"]) as b:
        if not T.ok(b.start(), "kbrokerd starts"):
            return T.done()

        # ApiVersions v3 (flexible body; response header stays v0).
        try:
            r = call(b.port, 18, 3, compact_str("kb-test") +
                     compact_str("1.0") + uvarint(0), True)
            err = r.i16()
            apis = {}
            for _ in range(r.uvarint() - 1):
                k, lo, hi = r.i16(), r.i16(), r.i16()
                r.tags()
                apis[k] = (lo, hi)
            r.i32()
            r.tags()
            T.ok(err == 0, "ApiVersions v3: error 0 (%d)" % err)
            missing = [n for k, n in APIS.items() if k not in apis]
            T.ok(not missing, "ApiVersions advertises every API of the "
                 "interface (missing: %s)" % missing)
            T.ok(all(lo <= hi for lo, hi in apis.values()),
                 "every advertised version range is min <= max")
        except (ValueError, OSError, struct.error) as e:
            T.ok(False, "ApiVersions v3 answered: %s" % e)
            apis = {}

        # DescribeCluster v0.
        if 60 in apis:
            try:
                r = call(b.port, 60, 0, b"\x00" + uvarint(0), True)
                r.tags()            # response header v1
                r.i32()             # throttle
                err = r.i16()
                msg = r.string()
                cluster = r.string()
                controller = r.i32()
                brokers = []
                for _ in range(r.uvarint() - 1):
                    bid = r.i32()
                    host = r.string()
                    port = r.i32()
                    r.string()  # rack
                    r.tags()
                    brokers.append((bid, host, port))
                r.i32()
                r.tags()
                T.ok(err == 0, "DescribeCluster v0: error 0 (%d %s)"
                     % (err, msg))
                meta = {}
                for d in b.dirs:
                    try:
                        with open(os.path.join(d, "meta.properties")) as f:
                            for line in f:
                                if "=" in line:
                                    k, v = line.strip().split("=", 1)
                                    meta[k] = v
                    except OSError:
                        pass
                T.ok(cluster and cluster == meta.get("cluster.id", cluster),
                     "DescribeCluster: cluster id %s (meta.properties: %s)"
                     % (cluster, meta.get("cluster.id")))
                T.ok(controller == 0 and
                     brokers == [(0, "127.0.0.1", b.port)],
                     "DescribeCluster: controller 0, broker 0 at %s (%s, %s)"
                     % (b.bootstrap, controller, brokers))
            except (ValueError, OSError, struct.error) as e:
                T.ok(False, "DescribeCluster v0 answered: %s" % e)
        else:
            T.ok(False, "DescribeCluster advertised")

        acks0_checks(b)
        epoch_checks(b)

        T.ok(b.alive(), "kbrokerd still running")
        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
        if T.failed:
            T.diag(b.log_tail(20))
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
