#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""python3-confluent-kafka against a real kbrokerd.

Producer and assign()ed consumer (OFFSET_BEGINNING) round trip with keys
and headers, then the AdminClient: create_topics, create_partitions,
describe_configs, delete_topics.
"""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, KafkaException,  # noqa: E402
                             Producer, TopicPartition, OFFSET_BEGINNING)
from confluent_kafka.admin import (AdminClient, ConfigResource,  # noqa: E402
                                   NewPartitions, NewTopic)

T = Tap()
TMO = 60


def max_timestamp(port, topic):
    """ListOffsets v7 (flexible) with timestamp -3 for partition 0:
    (error, timestamp, offset)."""
    name = topic.encode()
    body = struct.pack(">ib", -1, 0) + bytes([2, len(name) + 1]) + name
    body += bytes([2]) + struct.pack(">iiq", 0, -1, -3) + b"\0\0\0"
    hdr = struct.pack(">hhih", 2, 7, 1, 3) + b"py3" + b"\0"
    with socket.create_connection(("127.0.0.1", port), timeout=TMO) as s:
        s.sendall(struct.pack(">i", len(hdr + body)) + hdr + body)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
    # size, correlation id, header tags, throttle, topics, name, partitions
    pos = 4 + 4 + 1 + 4 + 1
    pos += buf[pos]
    pos += 1
    _, err, ts, off = struct.unpack(">ihqq", buf[pos:pos + 22])
    return err, ts, off


def consume(bootstrap, topic, nparts, want, timeout=TMO, conf=None):
    """All messages of topic's partitions from the beginning until EOF."""
    cfg = {"bootstrap.servers": bootstrap,
           "group.id": "py-e2e-%d" % os.getpid(),
           "enable.auto.commit": False,
           "enable.partition.eof": True,
           "fetch.wait.max.ms": 100}
    cfg.update(conf or {})
    c = Consumer(cfg)
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
              for p in range(nparts)])
    out, eof = [], set()
    end = time.time() + timeout
    while time.time() < end and (len(eof) < nparts or len(out) < want):
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
            else:
                T.diag("consume %s: %s" % (topic, m.error()))
            continue
        eof.discard(m.partition())
        out.append(m)
    if len(eof) < nparts or len(out) < want:
        T.diag("consume %s: %d/%d messages, %d/%d EOF"
               % (topic, len(out), want, len(eof), nparts))
    c.close()
    return out


def produce(bootstrap, topic, msgs, conf=None):
    """msgs: list of (partition or None, key, value, headers); returns
    the delivery results as (err, partition, offset) in msgs' order."""
    cfg = {"bootstrap.servers": bootstrap, "acks": "all",
           "message.timeout.ms": 30000, "linger.ms": 5}
    cfg.update(conf or {})
    p = Producer(cfg)
    res = [None] * len(msgs)

    def cb(i):
        def f(err, m):
            res[i] = (err, m.partition(), m.offset())
        return f

    for i, (part, key, val, hdrs) in enumerate(msgs):
        kw = {"key": key, "value": val, "on_delivery": cb(i)}
        if part is not None:
            kw["partition"] = part
        if hdrs:
            kw["headers"] = hdrs
        while True:
            try:
                p.produce(topic, **kw)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(TMO)
    if left:
        T.diag("flush: %d messages left" % left)
    return res


CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def stored_codecs(b, topic):
    """The compression codecs of the batches in topic's partition 0, read
    from its segment files (batch attributes at byte 21)."""
    found = set()
    for d in b.dirs:
        pdir = os.path.join(d, topic + "-0")
        if not os.path.isdir(pdir):
            continue
        for f in sorted(os.listdir(pdir)):
            if not f.endswith(".log"):
                continue
            with open(os.path.join(pdir, f), "rb") as fh:
                data = fh.read()
            off = 0
            while off + 61 <= len(data):
                length = struct.unpack(">i", data[off + 8:off + 12])[0]
                found.add(struct.unpack(">h", data[off + 21:off + 23])[0] & 7)
                off += 12 + length
    return found


def admin_result(futs, what):
    """{name: None or exception} from an AdminClient future dict."""
    out = {}
    for k, f in futs.items():
        try:
            f.result(timeout=TMO)
            out[k] = None
        except Exception as e:  # KafkaException or timeout
            out[k] = e
            T.diag("%s %s: %s" % (what, k, e))
    return out


def describe(admin, rtype, name):
    """describe_configs of one resource: {name: ConfigEntry} or None."""
    res = admin.describe_configs([ConfigResource(rtype, name)],
                                 request_timeout=TMO)
    for k, f in res.items():
        try:
            return f.result(timeout=TMO)
        except Exception as e:
            T.diag("describe_configs %s: %s" % (name, e))
    return None


def partitions_of(admin, topic):
    md = admin.list_topics(topic=topic, timeout=TMO)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return -1
    return len(t.partitions)


def main():
    with Broker(extra=["num.partitions=2",
                        "message.max.bytes=200000"]) as b:
        if not T.ok(b.start(), "kbrokerd starts"):
            return T.done()
        bs = b.bootstrap

        # Round trip on an auto-created 2-partition topic.
        topic = "py-rt"
        msgs = []
        for i in range(600):
            val = ("v%04d " % i).encode() + bytes(range(256)) * (i % 5)
            hdrs = [("n", str(i).encode()), ("bin", b"\x00\xff")] \
                if i % 3 == 0 else None
            key = None if i % 7 == 0 else ("key%d" % (i % 11)).encode()
            msgs.append((i % 2, key, val, hdrs))
        res = produce(bs, topic, msgs)
        bad = [r for r in res if r is None or r[0] is not None]
        T.ok(not bad, "produce 600 messages (keys, null keys, headers, "
             "binary values): all delivered (%d failed)" % len(bad))
        got = consume(bs, topic, 2, len(msgs))
        T.ok(len(got) == len(msgs),
             "assign() OFFSET_BEGINNING on both partitions reads %d/%d"
             % (len(got), len(msgs)))
        mism = 0
        byoff = {(m.partition(), m.offset()): m for m in got}
        for i, (part, key, val, hdrs) in enumerate(msgs):
            r = res[i]
            m = byoff.get((r[1], r[2])) if r and r[0] is None else None
            if (m is None or m.key() != key or m.value() != val
                    or (m.headers() or None) != hdrs
                    or m.partition() != part):
                if mism < 3:
                    T.diag("message %d differs: %r" % (
                        i, None if m is None else
                        (m.partition(), m.offset(), m.key(),
                         m.value()[:20], m.headers())))
                mism += 1
        T.ok(mism == 0, "every message read back with its key, value and "
             "headers at its reported offset (%d differ)" % mism)
        offs = {}
        for m in got:
            offs.setdefault(m.partition(), []).append(m.offset())
        T.ok(all(o == list(range(len(o))) for o in offs.values()),
             "offsets are dense from 0, in order, per partition")

        # Watermarks.
        c = Consumer({"bootstrap.servers": bs, "group.id": "py-wm"})
        try:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, 1),
                                             timeout=TMO)
        except KafkaException as e:
            T.diag(e)
            lo, hi = None, None
        c.close()
        T.ok((lo, hi) == (0, 300),
             "watermarks of partition 1 are (0, 300): %r" % ((lo, hi),))

        # message.max.bytes (broker 200000, client allows 1 MB).
        big = produce(bs, "py-big", [(0, None, b"B" * 300000, None),
                                     (0, None, b"s" * 150000, None)],
                      {"message.max.bytes": 1000000,
                       "batch.num.messages": 1})
        e = big[0][0] if big[0] else None
        T.ok(e is not None and e.code() == KafkaError.MSG_SIZE_TOO_LARGE,
             "a 300 kB message over message.max.bytes=200000 is refused "
             "with MSG_SIZE_TOO_LARGE (%s)" % e)
        T.ok(big[1] is not None and big[1][0] is None,
             "a 150 kB message under the limit is accepted (%r)"
             % (big[1],))

        # Fetch limits below a batch's size: the first batch still comes
        # whole (KIP-74), later ones may be cut and are fetched again.
        small = {"fetch.max.bytes": 20000, "message.max.bytes": 10000,
                 "max.partition.fetch.bytes": 10000,
                 "receive.message.max.bytes": 1000000}
        got = consume(bs, "py-big", 1, 1, conf=small)
        T.ok([len(m.value()) for m in got] == [150000],
             "a 150 kB message is fetched with fetch.max.bytes=20000")
        got = consume(bs, topic, 2, len(msgs), conf=small)
        T.ok(sorted((m.partition(), m.offset(), m.value()) for m in got) ==
             sorted((r[1], r[2], m[2]) for r, m in zip(res, msgs)),
             "all 600 messages read with max.partition.fetch.bytes=10000 "
             "(%d)" % len(got))

        # Fetch beyond the log end: OFFSET_OUT_OF_RANGE reaches the client
        # (auto.offset.reset=error turns it into an error event).
        c = Consumer({"bootstrap.servers": bs, "group.id": "py-oor",
                      "auto.offset.reset": "error",
                      "enable.auto.commit": False})
        c.assign([TopicPartition(topic, 0, 10000)])
        err = None
        end = time.time() + TMO
        while time.time() < end and err is None:
            m = c.poll(0.5)
            if m is not None and m.error():
                err = m.error()
            elif m is not None:
                T.diag("unexpected message at %d" % m.offset())
                break
        c.close()
        T.ok(err is not None and err.code() == KafkaError._AUTO_OFFSET_RESET
             and "out of range" in err.str().lower(),
             "fetch at offset 10000 of a 300-message partition: offset out "
             "of range (%s)" % err)

        # AdminClient.
        admin = AdminClient({"bootstrap.servers": bs})
        r = admin_result(admin.create_topics(
            [NewTopic("py-admin", num_partitions=3, replication_factor=1),
             NewTopic("py-admin2", num_partitions=1,
                      replication_factor=1)],
            operation_timeout=30, request_timeout=TMO), "create_topics")
        T.ok(r.get("py-admin") is None and r.get("py-admin2") is None,
             "create_topics py-admin (3 partitions) and py-admin2")
        # A topic-level config given at creation (Kafka accepts any
        # topic config here); describe_configs below reads it back.
        r = admin_result(admin.create_topics(
            [NewTopic("py-admin-cfg", num_partitions=1, replication_factor=1,
                      config={"retention.ms": "3600000"})],
            operation_timeout=30, request_timeout=TMO), "create_topics")
        T.ok(r.get("py-admin-cfg") is None,
             "create_topics py-admin-cfg with config retention.ms=3600000")
        T.ok(partitions_of(admin, "py-admin") == 3,
             "metadata shows py-admin with 3 partitions")
        r = admin_result(admin.create_topics(
            [NewTopic("py-admin", num_partitions=3, replication_factor=1)],
            request_timeout=TMO), "create_topics (again)")
        e = r.get("py-admin")
        T.ok(isinstance(e, KafkaException) and
             e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS,
             "create_topics on an existing topic: TOPIC_ALREADY_EXISTS")
        r = admin_result(admin.create_topics(
            [NewTopic("bad/name", num_partitions=1, replication_factor=1)],
            request_timeout=TMO), "create_topics (bad name)")
        e = r.get("bad/name")
        T.ok(isinstance(e, KafkaException) and
             e.args[0].code() == KafkaError.TOPIC_EXCEPTION,
             "create_topics 'bad/name': TOPIC_EXCEPTION (invalid topic)")

        r = admin_result(admin.create_partitions(
            [NewPartitions("py-admin", 5)], request_timeout=TMO),
            "create_partitions")
        T.ok(r.get("py-admin") is None, "create_partitions py-admin to 5")
        T.ok(partitions_of(admin, "py-admin") == 5,
             "metadata shows py-admin with 5 partitions")
        r = admin_result(admin.create_partitions(
            [NewPartitions("py-admin", 2)], request_timeout=TMO),
            "create_partitions (shrink)")
        e = r.get("py-admin")
        T.ok(isinstance(e, KafkaException) and
             e.args[0].code() == KafkaError.INVALID_PARTITIONS,
             "create_partitions to fewer: INVALID_PARTITIONS")
        res = produce(bs, "py-admin", [(4, b"k", b"in new partition", None)])
        T.ok(res[0] is not None and res[0][0] is None and res[0][2] == 0,
             "produce to new partition 4: offset 0 (%r)" % (res[0],))
        got = consume(bs, "py-admin", 5, 1)
        T.ok([(m.partition(), m.value()) for m in got]
             == [(4, b"in new partition")],
             "read back from the new partition")

        cfg = describe(admin, ConfigResource.Type.TOPIC, "py-admin")
        T.ok(cfg is not None and "retention.ms" in cfg and
             "cleanup.policy" in cfg and "segment.bytes" in cfg,
             "describe_configs topic py-admin lists retention.ms, "
             "cleanup.policy, segment.bytes")
        cfg = describe(admin, ConfigResource.Type.TOPIC, "py-admin-cfg")
        T.ok(cfg is not None and "retention.ms" in cfg and
             cfg["retention.ms"].value == "3600000",
             "describe_configs topic py-admin-cfg: retention.ms=3600000 (%s)"
             % (cfg["retention.ms"].value
                if cfg and "retention.ms" in cfg else "absent"))
        bcfg = describe(admin, ConfigResource.Type.BROKER, "0")
        T.ok(bcfg is not None and "num.partitions" in bcfg and
             bcfg["num.partitions"].value == "2",
             "describe_configs broker 0: num.partitions=2")

        r = admin_result(admin.delete_topics(
            ["py-admin2"], operation_timeout=30, request_timeout=TMO),
            "delete_topics")
        T.ok(r.get("py-admin2") is None, "delete_topics py-admin2")
        md = admin.list_topics(timeout=TMO)
        T.ok("py-admin2" not in md.topics and "py-admin" in md.topics
             and topic in md.topics,
             "metadata no longer lists py-admin2, still lists the others")
        r = admin_result(admin.delete_topics(
            ["py-nonexistent"], request_timeout=TMO), "delete_topics")
        e = r.get("py-nonexistent")
        T.ok(isinstance(e, KafkaException) and
             e.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART,
             "delete_topics on a missing topic: UNKNOWN_TOPIC_OR_PART")

        # offsets_for_times() inside compressed batches: the record, as
        # Kafka answers, not the start of its batch.  The values compress
        # well: librdkafka sends a batch uncompressed when it would not.
        now = int(time.time() * 1000)
        for codec in ("gzip", "snappy", "lz4", "zstd"):
            t = "py-times-" + codec
            pr = Producer({"bootstrap.servers": b.bootstrap,
                           "compression.type": codec, "linger.ms": 200})
            for i in range(20):
                pr.produce(t, value=b"v%d " % i + b"x" * 200, partition=0,
                           timestamp=now + 10 * i)
            pr.flush(TMO)
            T.ok(stored_codecs(b, t) == {CODECS[codec]},
                 "librdkafka sent %s batches, stored as sent (codecs %s)"
                 % (codec, stored_codecs(b, t)))
            c = Consumer({"bootstrap.servers": b.bootstrap,
                          "group.id": "py-times"})
            got = c.offsets_for_times(
                [TopicPartition(t, 0, now + 10 * 12 - 5)], timeout=TMO)
            c.close()
            T.ok(got and got[0].offset == 12,
                 "offsets_for_times in a %s batch: offset 12 (%s)"
                 % (codec, got[0].offset if got else None))
            got = max_timestamp(b.port, t)
            T.ok(got == (0, now + 190, 19),
                 "ListOffsets v7 MAX_TIMESTAMP in a %s batch: offset 19, "
                 "its record's timestamp (%s)" % (codec, got))

        # Transactions are not served: init_transactions() must fail at
        # once with a fatal error, not retry until its timeout.
        tp = Producer({"bootstrap.servers": b.bootstrap,
                       "transactional.id": "py-txn"})
        t0 = time.monotonic()
        try:
            tp.init_transactions(30)
            err = None
        except KafkaException as e:
            err = e.args[0]
        took = time.monotonic() - t0
        T.ok(err is not None and err.fatal() and took < 10,
             "init_transactions() fails fatally at once (%.1f s: %s)"
             % (took, err))

        T.ok(b.alive(), "kbrokerd still running")
        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
        if T.failed:
            T.diag(b.log_tail(40))

    # auto.create.topics.enable=false: producing to a missing topic fails
    # and creates nothing.
    with Broker(extra=["auto.create.topics.enable=false"]) as b:
        if T.ok(b.start(), "kbrokerd with auto.create.topics.enable=false "
                "starts"):
            res = produce(b.bootstrap, "py-nope", [(0, None, b"x", None)],
                          {"message.timeout.ms": 8000,
                           "topic.metadata.propagation.max.ms": 3000})
            T.ok(res[0] is not None and res[0][0] is not None,
                 "produce to a missing topic fails (%s)"
                 % (res[0][0] if res[0] else "no report"))
            md = AdminClient({"bootstrap.servers": b.bootstrap}) \
                .list_topics(timeout=TMO)
            T.ok("py-nope" not in md.topics, "the topic was not created")
            T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
