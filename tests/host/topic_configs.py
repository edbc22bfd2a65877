#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Per-topic configs end to end: CreateTopics with configs, DescribeConfigs
sources, AlterConfigs (confluent-kafka), IncrementalAlterConfigs (a small
raw client: confluent-kafka 1.7 has none), refusals, and a restart."""

import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Reader, Tap  # noqa: E402

from confluent_kafka import KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import (AdminClient, ConfigResource,  # noqa: E402
                                   NewTopic)

TMO = 15
T = Tap()
TOPIC_CONFIG = 1        # ConfigSource.DYNAMIC_TOPIC_CONFIG
INVALID_CONFIG = 40
INVALID_REQUEST = 42
SET, DELETE, APPEND = 0, 1, 2


def err_code(exc):
    try:
        return exc.args[0].code()
    except Exception:
        return None


def create(admin, name, config, validate_only=False):
    """Returns None on success or the KafkaError code."""
    fs = admin.create_topics([NewTopic(name, 1, 1, config=config)],
                             validate_only=validate_only,
                             request_timeout=TMO)
    try:
        fs[name].result(timeout=TMO)
        return None
    except KafkaException as e:
        T.diag("create_topics %s %s: %s" % (name, config, e))
        return err_code(e)


def describe(admin, name):
    res = admin.describe_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, name)],
        request_timeout=TMO)
    for f in res.values():
        try:
            return f.result(timeout=TMO)
        except Exception as e:
            T.diag("describe_configs %s: %s" % (name, e))
    return {}


def alter(admin, name, config):
    res = admin.alter_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, name, set_config=config)],
        request_timeout=TMO)
    for f in res.values():
        try:
            f.result(timeout=TMO)
            return None
        except KafkaException as e:
            T.diag("alter_configs %s %s: %s" % (name, config, e))
            return err_code(e)
    return -1


def val(cfg, key):
    e = cfg.get(key)
    return e.value if e is not None else None


def src(cfg, key):
    e = cfg.get(key)
    return int(e.source) if e is not None else None


# ---- IncrementalAlterConfigs (ApiKey 44) by hand ----

def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7f) | 0x80])
        n >>= 7
    return out + bytes([n])


def wstr(s, flex):
    b = s.encode()
    return uvarint(len(b) + 1) + b if flex else struct.pack(">h", len(b)) + b


def wnstr(s, flex):
    if s is None:
        return b"\x00" if flex else struct.pack(">h", -1)
    return wstr(s, flex)


def warray(n, flex):
    return uvarint(n + 1) if flex else struct.pack(">i", n)


def recv(s, n):
    out = b""
    while len(out) < n:
        c = s.recv(n - len(out))
        if not c:
            raise ValueError("connection closed")
        out += c
    return out


def incremental(port, resources, ver=0, validate_only=False):
    """resources: [(type, name, [(key, op, value)])] ->
    [(error, message, type, name)]"""
    flex = ver >= 1
    body = warray(len(resources), flex)
    for rtype, name, cfgs in resources:
        body += struct.pack(">b", rtype) + wstr(name, flex)
        body += warray(len(cfgs), flex)
        for k, op, v in cfgs:
            body += wstr(k, flex) + struct.pack(">b", op) + wnstr(v, flex)
            body += b"\x00" if flex else b""
        body += b"\x00" if flex else b""
    body += struct.pack(">?", validate_only) + (b"\x00" if flex else b"")
    hdr = struct.pack(">hhih", 44, ver, 7, 4) + b"test"
    if flex:
        hdr += b"\x00"
    msg = hdr + body
    s = socket.create_connection(("127.0.0.1", port), timeout=TMO)
    try:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        n = struct.unpack(">i", recv(s, 4))[0]
        data = recv(s, n)
    finally:
        s.close()
    r = Reader(data, flex)
    if r.i32() != 7:
        raise ValueError("correlation id")
    r.tags()
    r.i32()                                 # throttle
    out = []
    for _ in range(r.array()):
        e, m, t = r.i16(), r.string(), r.i8()
        out.append((e, m, t, r.string()))
        r.tags()
    r.tags()
    return out


def inc1(port, name, cfgs, ver=0, validate_only=False, rtype=2):
    try:
        res = incremental(port, [(rtype, name, cfgs)], ver, validate_only)
    except (OSError, ValueError, struct.error) as e:
        T.diag("IncrementalAlterConfigs: %s" % e)
        return (-99, str(e))
    T.diag("IncrementalAlterConfigs v%d %s %s -> %s" % (ver, name, cfgs,
                                                        res))
    return res[0][:2] if res else (-98, "no result")


def main():
    with Broker(extra=["auto.create.topics.enable=false"]) as b:
        b.start()
        admin = AdminClient({"bootstrap.servers": b.bootstrap})

        T.ok(create(admin, "cfg-t", {"retention.ms": "3600000",
                                     "segment.bytes": "1048576"}) is None,
             "create_topics with retention.ms and segment.bytes")
        cfg = describe(admin, "cfg-t")
        T.ok(val(cfg, "retention.ms") == "3600000" and
             src(cfg, "retention.ms") == TOPIC_CONFIG,
             "describe_configs: retention.ms=3600000 from the topic (%s, %s)"
             % (val(cfg, "retention.ms"), src(cfg, "retention.ms")))
        T.ok(val(cfg, "segment.bytes") == "1048576" and
             src(cfg, "segment.bytes") == TOPIC_CONFIG and
             cfg["segment.bytes"].is_read_only is False,
             "describe_configs: segment.bytes override, not read-only")
        T.ok(src(cfg, "flush.ms") in (4, 5) and
             src(cfg, "max.message.bytes") in (4, 5),
             "describe_configs: other keys from the broker (%s)"
             % src(cfg, "flush.ms"))

        T.ok(create(admin, "cfg-bad", {"no.such.key": "1"}) ==
             INVALID_CONFIG and "cfg-bad" not in
             admin.list_topics(timeout=TMO).topics,
             "unknown key refused with INVALID_CONFIG, no topic made")
        T.ok(create(admin, "cfg-bad", {"retention.ms": "soon"}) ==
             INVALID_CONFIG, "bad value refused with INVALID_CONFIG")
        T.ok(create(admin, "cfg-bad", {"cleanup.policy": "shred"}) ==
             INVALID_CONFIG, "cleanup.policy=shred refused")
        T.ok(create(admin, "cfg-cmp", {"cleanup.policy": "compact",
                                       "min.cleanable.dirty.ratio": "0.1",
                                       "delete.retention.ms": "1000"})
             is None and val(describe(admin, "cfg-cmp"), "cleanup.policy")
             == "compact",
             "cleanup.policy=compact accepted with the cleaner's keys")
        cfg = describe(admin, "cfg-cmp")
        T.ok(val(cfg, "delete.retention.ms") == "1000" and
             src(cfg, "delete.retention.ms") == TOPIC_CONFIG and
             val(cfg, "min.cleanable.dirty.ratio") == "0.1" and
             val(cfg, "min.compaction.lag.ms") == "0" and
             val(cfg, "max.compaction.lag.ms") == "9223372036854775807",
             "describe_configs: the cleaner's keys, overrides and Kafka's "
             "defaults")
        T.ok(create(admin, "cfg-bad", {"min.compaction.lag.ms": "10",
                                       "max.compaction.lag.ms": "5"}) ==
             INVALID_CONFIG, "min.compaction.lag.ms > max.compaction.lag.ms "
             "refused")
        T.ok(create(admin, "cfg-bad", {"compression.type": "deflate"}) ==
             INVALID_CONFIG, "compression.type=deflate refused")
        T.ok(create(admin, "cfg-gz", {"compression.type": "gzip"}) is None
             and val(describe(admin, "cfg-gz"), "compression.type") ==
             "gzip", "compression.type=gzip accepted and described")
        T.ok(create(admin, "cfg-prod", {"compression.type": "producer"})
             is None and src(describe(admin, "cfg-prod"),
                             "compression.type") == TOPIC_CONFIG,
             "compression.type=producer accepted, described as the topic's")
        T.ok(create(admin, "cfg-vo", {"retention.ms": "1000"},
                    validate_only=True) is None and "cfg-vo" not in
             admin.list_topics(timeout=TMO).topics,
             "validate_only create with configs makes nothing")

        # AlterConfigs replaces the whole set of overrides.
        T.ok(alter(admin, "cfg-t", {"retention.ms": "7200000"}) is None,
             "alter_configs retention.ms=7200000")
        cfg = describe(admin, "cfg-t")
        T.ok(val(cfg, "retention.ms") == "7200000" and
             src(cfg, "segment.bytes") != TOPIC_CONFIG,
             "alter_configs set retention.ms, dropped segment.bytes (%s)"
             % val(cfg, "segment.bytes"))
        T.ok(alter(admin, "cfg-t", {"retention.ms": "-5"}) ==
             INVALID_CONFIG and
             val(describe(admin, "cfg-t"), "retention.ms") == "7200000",
             "alter_configs bad value: INVALID_CONFIG, nothing changed")
        T.ok(alter(admin, "cfg-t", {"bogus.key": "1"}) == INVALID_CONFIG,
             "alter_configs unknown key: INVALID_CONFIG")

        # Round trip, as a client that reads, changes one key and writes
        # the set back does: every value described is accepted again, by
        # AlterConfigs and by IncrementalAlterConfigs v0 and v1.
        T.ok(create(admin, "cfg-rt", {}) is None, "topic cfg-rt")
        cfg = describe(admin, "cfg-rt")
        T.ok(val(cfg, "flush.ms") == "9223372036854775807",
             "flush.ms described as Kafka's never, Long.MAX_VALUE (%s)"
             % val(cfg, "flush.ms"))
        whole = dict((k, e.value) for k, e in cfg.items()
                     if not e.is_read_only and e.value is not None)
        whole["retention.ms"] = "86400000"
        T.ok(alter(admin, "cfg-rt", whole) is None,
             "describe, change retention.ms, alter_configs the whole set "
             "(%d keys) back" % len(whole))
        cfg2 = describe(admin, "cfg-rt")
        T.ok(all(val(cfg2, k) == v for k, v in whole.items()),
             "and describe gives the same values back")
        for ver in (0, 1):
            r = inc1(b.port, "cfg-rt", [(k, SET, v) for k, v in
                                        sorted(whole.items())], ver=ver)
            T.ok(r[0] == 0, "incremental v%d SET of every described value "
                 "(%s)" % (ver, r,))
        T.ok(all(not e.is_read_only for e in cfg2.values()),
             "no topic key described read-only: each one is alterable (%s)"
             % [k for k, e in cfg2.items() if e.is_read_only])

        # IncrementalAlterConfigs.
        r = inc1(b.port, "cfg-t", [("max.message.bytes", SET, "2000"),
                                   ("retention.ms", DELETE, None)])
        cfg = describe(admin, "cfg-t")
        T.ok(r[0] == 0 and val(cfg, "max.message.bytes") == "2000" and
             src(cfg, "max.message.bytes") == TOPIC_CONFIG and
             src(cfg, "retention.ms") != TOPIC_CONFIG,
             "incremental v0: SET max.message.bytes, DELETE retention.ms")
        r = inc1(b.port, "cfg-t", [("flush.messages", SET, "10")], ver=1)
        T.ok(r[0] == 0 and val(describe(admin, "cfg-t"),
                               "flush.messages") == "10",
             "incremental v1 (flexible): SET flush.messages")
        r = inc1(b.port, "cfg-t", [("segment.ms", SET, "1000")],
                 validate_only=True)
        T.ok(r[0] == 0 and src(describe(admin, "cfg-t"), "segment.ms") !=
             TOPIC_CONFIG, "incremental validate_only changes nothing")
        r = inc1(b.port, "cfg-t", [("retention.ms", APPEND, "5")])
        T.ok(r[0] == INVALID_REQUEST,
             "incremental APPEND on a non-list key: INVALID_REQUEST")
        SUBTRACT = 3
        r = inc1(b.port, "cfg-cmp", [("cleanup.policy", APPEND, "delete")])
        T.ok(r[0] == 0 and val(describe(admin, "cfg-cmp"),
                               "cleanup.policy") == "compact,delete",
             "incremental APPEND delete to cleanup.policy=compact")
        r = inc1(b.port, "cfg-cmp", [("cleanup.policy", SUBTRACT,
                                      "compact")])
        T.ok(r[0] == 0 and val(describe(admin, "cfg-cmp"),
                               "cleanup.policy") == "delete",
             "incremental SUBTRACT compact leaves delete")
        r = inc1(b.port, "cfg-cmp", [("cleanup.policy", SUBTRACT, "delete")])
        T.ok(r[0] == INVALID_CONFIG,
             "incremental SUBTRACT of the last policy refused")
        p = Producer({"bootstrap.servers": b.bootstrap, "retries": 0})
        inc1(b.port, "cfg-cmp", [("cleanup.policy", SET, "compact")])
        errs = []
        p.produce("cfg-cmp", b"no key", on_delivery=lambda e, m:
                  errs.append(e))
        # Its own batch: a batch holding a key-less record is refused whole.
        p.flush(TMO)
        p.produce("cfg-cmp", b"v", key=b"k", on_delivery=lambda e, m:
                  errs.append(e))
        p.flush(TMO)
        T.ok(len(errs) == 2 and errs[0] is not None and
             errs[0].code() == KafkaError.INVALID_RECORD and errs[1] is None,
             "compacted topic: key-less record refused with INVALID_RECORD, "
             "keyed accepted (%s)" % (errs,))
        r = inc1(b.port, "cfg-t", [("min.insync.replicas", SET, "0")])
        T.ok(r[0] == INVALID_CONFIG and "min.insync.replicas" in (r[1] or ""),
             "incremental bad value: INVALID_CONFIG naming the key")
        r = inc1(b.port, "0", [("log.retention.ms", SET, "1")], rtype=4)
        T.ok(r[0] != 0 and "not supported" in (r[1] or ""),
             "incremental on BROKER: refused (%s)" % (r,))
        r = inc1(b.port, "nope", [("retention.ms", SET, "1")])
        T.ok(r[0] == 3, "incremental on an unknown topic")

        # max.message.bytes=2000 is enforced on Produce.
        p = Producer({"bootstrap.servers": b.bootstrap,
                      "message.max.bytes": 100000,
                      "compression.type": "none", "retries": 0})
        errs = []
        p.produce("cfg-t", b"x" * 5000,
                  on_delivery=lambda e, m: errs.append(e))
        p.flush(TMO)
        T.ok(errs and errs[0] is not None,
             "produce above max.message.bytes refused (%s)"
             % (errs[0] if errs else "no report"))

        b.stop()
        b.start()
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        cfg = describe(admin, "cfg-t")
        T.ok(val(cfg, "max.message.bytes") == "2000" and
             val(cfg, "flush.messages") == "10" and
             src(cfg, "flush.messages") == TOPIC_CONFIG and
             src(cfg, "retention.ms") != TOPIC_CONFIG,
             "configs survive a broker restart")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
