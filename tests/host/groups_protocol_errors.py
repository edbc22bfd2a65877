#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Group protocol errors on the wire, with a small raw Kafka client:
MEMBER_ID_REQUIRED, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
REBALANCE_IN_PROGRESS (Heartbeat and SyncGroup while preparing,
OffsetCommit while completing), INVALID_SESSION_TIMEOUT, NON_EMPTY_GROUP,
GROUP_ID_NOT_FOUND, OffsetCommit v1 and v2 retention, commit metadata with
NUL bytes kept whole and offset.metadata.max.bytes (OFFSET_METADATA_TOO_LARGE)
across a restart, classic and flexible versions."""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Reader, Tap  # noqa: E402

from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7f) | 0x80])
        n >>= 7
    return out + bytes([n])


class W:
    def __init__(self, flex):
        self.b = b""
        self.flex = flex

    def i8(self, v):
        self.b += struct.pack(">b", v)
        return self

    def i16(self, v):
        self.b += struct.pack(">h", v)
        return self

    def i32(self, v):
        self.b += struct.pack(">i", v)
        return self

    def i64(self, v):
        self.b += struct.pack(">q", v)
        return self

    def s(self, v):
        if v is None:
            self.b += uvarint(0) if self.flex else struct.pack(">h", -1)
            return self
        v = v.encode()
        self.b += (uvarint(len(v) + 1) if self.flex
                   else struct.pack(">h", len(v))) + v
        return self

    def byt(self, v):
        self.b += (uvarint(len(v) + 1) if self.flex
                   else struct.pack(">i", len(v))) + v
        return self

    def arr(self, n):
        self.b += uvarint(n + 1) if self.flex else struct.pack(">i", n)
        return self

    def tags(self):
        if self.flex:
            self.b += b"\0"
        return self


# api key: first flexible version
FLEX = {8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 15: 5, 16: 3, 42: 2,
        47: 99}


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.corr = 0

    def send(self, key, ver, body):
        flex = ver >= FLEX[key]
        self.corr += 1
        hdr = struct.pack(">hhi", key, ver, self.corr)
        hdr += struct.pack(">h", 6) + b"rawcli"
        if flex:
            hdr += b"\0"
        msg = hdr + body.b
        self.s.sendall(struct.pack(">i", len(msg)) + msg)
        return flex

    def recv(self, flex, timeout=30):
        self.s.settimeout(timeout)
        n = struct.unpack(">i", self.recvn(4))[0]
        r = Reader(self.recvn(n), flex)
        r.i32()
        if flex:
            r.tags()
        return r

    def recvn(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b

    def call(self, key, ver, body, timeout=30):
        return self.recv(self.send(key, ver, body), timeout)


META = struct.pack(">hi", 0, 1) + struct.pack(">h", 5) + b"topic" + \
    struct.pack(">i", -1)


def join_body(ver, group, member, session=10000, inst=None, proto="range"):
    w = W(ver >= 6).s(group).i32(session)
    if ver >= 1:
        w.i32(30000)
    w.s(member)
    if ver >= 5:
        w.s(inst)
    w.s("consumer").arr(1).s(proto).byt(META).tags()
    if ver >= 8:
        w.s(None)
    return w.tags()


def join_parse(r, ver):
    out = {}
    if ver >= 2:
        r.i32()
    out["err"] = r.i16()
    out["gen"] = r.i32()
    if ver >= 7:
        out["ptype"] = r.string()
    out["proto"] = r.string()
    out["leader"] = r.string()
    if ver >= 9:
        r.i8()
    out["member"] = r.string()
    n = r.array()
    out["members"] = []
    for _ in range(n):
        mid = r.string()
        if ver >= 5:
            r.string()
        r.blob()
        r.tags()
        out["members"].append(mid)
    return out


def sync(c, ver, group, gen, member, assign=()):
    w = W(ver >= 4).s(group).i32(gen).s(member)
    if ver >= 3:
        w.s(None)
    if ver >= 5:
        w.s("consumer").s("range")
    w.arr(len(assign))
    for mid, data in assign:
        w.s(mid).byt(data).tags()
    r = c.call(14, ver, w.tags())
    if ver >= 1:
        r.i32()
    err = r.i16()
    if ver >= 5:
        r.string()
        r.string()
    return err, r.blob()


def heartbeat(c, ver, group, gen, member):
    w = W(ver >= 4).s(group).i32(gen).s(member)
    if ver >= 3:
        w.s(None)
    r = c.call(12, ver, w.tags())
    if ver >= 1:
        r.i32()
    return r.i16()


def commit(c, ver, group, gen, member, topic, part, off, retention=-1,
           meta="meta"):
    w = W(ver >= 8).s(group).i32(gen).s(member)
    if ver >= 7:
        w.s(None)
    if 2 <= ver <= 4:
        w.i64(retention)
    w.arr(1).s(topic).arr(1).i32(part).i64(off)
    if ver == 1:
        w.i64(-1)
    if ver >= 6:
        w.i32(-1)
    w.s(meta).tags().tags().tags()
    r = c.call(8, ver, w)
    if ver >= 3:
        r.i32()
    r.array()
    r.string()
    r.array()
    r.i32()
    return r.i16()


def fetch_offset(c, ver, group, topic, part, with_meta=False):
    flex = ver >= 6
    if ver >= 8:
        w = W(flex).arr(1).s(group).arr(1).s(topic).arr(1).i32(part)
        w.tags().tags().i8(0).tags()
        r = c.call(9, ver, w)
        r.i32()
        r.array()
        r.string()
    else:
        w = W(flex).s(group).arr(1).s(topic).arr(1).i32(part).tags()
        if ver >= 7:
            w.i8(0)
        r = c.call(9, ver, w.tags())
        if ver >= 3:
            r.i32()
    r.array()
    r.string()
    r.array()
    r.i32()
    off = r.i64()
    if ver >= 5:
        r.i32()
    meta = r.string()
    if with_meta:
        return off, r.i16(), meta
    return off, r.i16()


def main():
    t = Tap()
    # offsets.retention.minutes is accepted (its default, 7 days).
    with Broker(extra=["offsets.retention.minutes=10080",
                       "offset.metadata.max.bytes=64"]) as b:
        if not t.ok(b.start(), "kbrokerd starts"):
            return t.done()
        a = AdminClient({"bootstrap.servers": b.bootstrap})
        a.create_topics([NewTopic("topic", 2, 1)])["topic"].result(30)
        G = "g-proto"
        c1 = Conn(b.port)
        c2 = Conn(b.port)

        # FindCoordinator v4 (flexible, batched) and v0.
        r = c1.call(10, 4, W(True).i8(0).arr(1).s(G).tags())
        r.i32()
        r.array()
        key, node, host, port = r.string(), r.i32(), r.string(), r.i32()
        t.ok(key == G and node == 0 and port == b.port,
             "FindCoordinator v4 names this broker")
        r = c1.call(10, 0, W(False).s(G))
        t.ok(r.i16() == 0 and r.i32() == 0, "FindCoordinator v0")

        j = join_parse(c1.call(11, 5, join_body(5, G, "", session=1000)), 5)
        t.ok(j["err"] == 26, "JoinGroup: session below 6000 ms -> "
             "INVALID_SESSION_TIMEOUT (%d)" % j["err"])
        j = join_parse(c1.call(11, 5, join_body(5, G, "bogus")), 5)
        t.ok(j["err"] == 25, "JoinGroup unknown member id, unknown group "
             "-> UNKNOWN_MEMBER_ID (%d)" % j["err"])

        j = join_parse(c1.call(11, 5, join_body(5, G, "")), 5)
        t.ok(j["err"] == 79 and j["member"],
             "JoinGroup v5 without member id -> MEMBER_ID_REQUIRED")
        m1 = j["member"]
        j = join_parse(c1.call(11, 5, join_body(5, G, m1)), 5)
        t.ok(j["err"] == 0 and j["gen"] == 1 and j["leader"] == m1 and
             j["members"] == [m1], "JoinGroup completes: generation 1, "
             "leader with the member list")

        t.ok(sync(c1, 3, G, 1, "nobody")[0] == 25,
             "SyncGroup unknown member -> UNKNOWN_MEMBER_ID")
        t.ok(sync(c1, 3, G, 7, m1)[0] == 22,
             "SyncGroup wrong generation -> ILLEGAL_GENERATION")
        err, data = sync(c1, 3, G, 1, m1, [(m1, b"assign-1")])
        t.ok(err == 0 and data == b"assign-1",
             "leader SyncGroup hands out the assignment")

        t.ok(heartbeat(c1, 3, G, 1, m1) == 0, "Heartbeat in Stable")
        t.ok(heartbeat(c1, 3, G, 0, m1) == 22,
             "Heartbeat stale generation -> ILLEGAL_GENERATION")
        t.ok(heartbeat(c1, 3, G, 1, "nobody") == 25,
             "Heartbeat unknown member -> UNKNOWN_MEMBER_ID")
        t.ok(heartbeat(c1, 3, "no-such-group", 1, m1) == 25,
             "Heartbeat unknown group -> UNKNOWN_MEMBER_ID")

        t.ok(commit(c1, 7, G, 1, m1, "topic", 0, 42) == 0,
             "OffsetCommit v7 by the member")
        t.ok(commit(c1, 7, G, 0, m1, "topic", 0, 43) == 22,
             "OffsetCommit stale generation -> ILLEGAL_GENERATION")
        t.ok(commit(c1, 7, G, 1, "nobody", "topic", 0, 43) == 25,
             "OffsetCommit unknown member -> UNKNOWN_MEMBER_ID")
        t.ok(commit(c1, 7, G, -1, "", "topic", 0, 43) == 25,
             "simple OffsetCommit to a live group -> UNKNOWN_MEMBER_ID")
        t.ok(commit(c1, 7, "fresh-group", 3, "x", "topic", 0, 1) == 22,
             "OffsetCommit with a generation to an unknown group -> "
             "ILLEGAL_GENERATION")
        t.ok(commit(c1, 7, G, 1, m1, "no-topic", 0, 1) == 3,
             "OffsetCommit unknown topic -> UNKNOWN_TOPIC_OR_PARTITION")
        t.ok(fetch_offset(c1, 5, G, "topic", 0) == (42, 0),
             "OffsetFetch v5 returns the commit")
        t.ok(fetch_offset(c1, 8, G, "topic", 0) == (42, 0),
             "OffsetFetch v8 (flexible, batched) returns the commit")

        # A second member (flexible JoinGroup v9) starts a rebalance.
        j = join_parse(c2.call(11, 9, join_body(9, G, "")), 9)
        t.ok(j["err"] == 79, "JoinGroup v9 -> MEMBER_ID_REQUIRED")
        m2 = j["member"]
        c2.send(11, 9, join_body(9, G, m2))      # parks
        time.sleep(0.5)
        t.ok(heartbeat(c1, 4, G, 1, m1) == 27,
             "Heartbeat v4 while preparing -> REBALANCE_IN_PROGRESS")
        t.ok(sync(c1, 5, G, 1, m1)[0] == 27,
             "SyncGroup v5 while preparing -> REBALANCE_IN_PROGRESS")
        t.ok(commit(c1, 8, G, 1, m1, "topic", 0, 44) == 0,
             "OffsetCommit v8 while preparing is accepted")
        j1 = join_parse(c1.call(11, 5, join_body(5, G, m1)), 5)
        j2 = join_parse(c2.recv(True), 9)
        t.ok(j1["err"] == 0 and j2["err"] == 0 and j1["gen"] == 2 and
             j2["gen"] == 2 and j2["ptype"] == "consumer" and
             j1["leader"] == m1 and sorted(j1["members"]) ==
             sorted([m1, m2]) and j2["members"] == [],
             "both joins complete in generation 2")
        t.ok(commit(c1, 7, G, 2, m1, "topic", 0, 45) == 27,
             "OffsetCommit while completing -> REBALANCE_IN_PROGRESS")
        t.ok(heartbeat(c2, 4, G, 2, m2) == 0,
             "Heartbeat while completing")
        c2.send(14, 5, W(True).s(G).i32(2).s(m2).s(None).s("consumer")
                .s("range").arr(0).tags())      # parks for the leader
        time.sleep(0.3)
        err, _ = sync(c1, 3, G, 2, m1, [(m1, b"A"), (m2, b"B")])
        r = c2.recv(True)
        r.i32()
        e2 = r.i16()
        r.string()
        r.string()
        t.ok(err == 0 and e2 == 0 and r.blob() == b"B",
             "follower's parked SyncGroup gets its assignment")

        # Admin APIs.
        r = c1.call(15, 5, W(True).arr(1).s(G).i8(0).tags())
        r.i32()
        r.array()
        err, gid, state = r.i16(), r.string(), r.string()
        r.string()
        r.string()
        t.ok(err == 0 and state == "Stable" and r.array() == 2,
             "DescribeGroups v5: Stable with 2 members")
        r = c1.call(16, 4, W(True).arr(0).tags())
        r.i32()
        r.i16()
        names = [(r.string(), r.string(), r.string(), r.tags())[0] for _ in range(r.array())]
        t.ok(G in names, "ListGroups v4 lists the group")
        r = c1.call(42, 2, W(True).arr(2).s(G).s("nope").tags())
        r.i32()
        r.array()
        res = [(r.string(), r.i16(), r.tags())[:2] for _ in range(2)]
        t.ok(res == [(G, 68), ("nope", 69)], "DeleteGroups: "
             "NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND (%s)" % res)

        # LeaveGroup v3: unknown member reported per member.
        r = c1.call(13, 3, W(False).s(G).arr(2).s(m2).s(None).s("zz")
                    .s(None))
        r.i32()
        top = r.i16()
        r.array()
        errs = [(r.string(), r.string(), r.i16())[2] for _ in range(2)]
        t.ok(top == 0 and errs == [0, 25],
             "LeaveGroup v3: member leaves, unknown -> UNKNOWN_MEMBER_ID")
        t.ok(heartbeat(c1, 3, G, 2, m1) == 27,
             "the leave starts a rebalance")

        # Retention from OffsetCommit v2 on a simple (no member) group.
        t.ok(commit(c1, 2, "g-simple", -1, "", "topic", 1, 9,
                    retention=1000) == 0, "simple OffsetCommit v2")
        t.ok(fetch_offset(c1, 1, "g-simple", "topic", 1)[0] == 9,
             "its offset is there")
        time.sleep(2.5)
        t.ok(fetch_offset(c1, 1, "g-simple", "topic", 1)[0] == -1,
             "and gone after its retention time")
        # v1 (older clients such as Sarama 1.22) carries a per-partition
        # commit timestamp; the offset is kept like any other.
        t.ok(commit(c1, 1, "g-v1", -1, "", "topic", 1, 42) == 0,
             "simple OffsetCommit v1")
        t.ok(fetch_offset(c1, 1, "g-v1", "topic", 1)[0] == 42,
             "its offset is there")

        # Commit metadata is bytes: a NUL inside is kept, classic and
        # flexible, and after a restart; over the limit it is refused.
        nul = "Hello\0world!"
        t.ok(commit(c1, 2, "g-meta", -1, "", "topic", 0, 5, meta=nul) == 0 and
             commit(c1, 8, "g-meta", -1, "", "topic", 1, 6, meta=nul) == 0,
             "OffsetCommit v2 and v8 with a NUL in the metadata")
        t.ok(fetch_offset(c1, 1, "g-meta", "topic", 0, True) == (5, 0, nul) and
             fetch_offset(c1, 8, "g-meta", "topic", 1, True) == (6, 0, nul),
             "OffsetFetch v1 and v8 give all 12 metadata bytes back")
        t.ok(commit(c1, 8, "g-meta", -1, "", "topic", 0, 7,
                    meta="x" * 65) == 12,
             "65 bytes over offset.metadata.max.bytes=64 -> "
             "OFFSET_METADATA_TOO_LARGE")
        t.ok(commit(c1, 8, "g-meta", -1, "", "topic", 0, 8,
                    meta="y" * 64) == 0, "64 bytes are accepted")
        t.ok(fetch_offset(c1, 8, "g-meta", "topic", 0, True) == (8, 0, "y" * 64),
             "and read back")
        t.ok(b.alive(), "kbrokerd still running")
        c1.s.close()
        c2.s.close()
        b.stop()
        t.ok(b.start(), "kbrokerd restarts")
        c1 = Conn(b.port)
        t.ok(fetch_offset(c1, 8, "g-meta", "topic", 1, True) == (6, 0, nul),
             "the NUL metadata survives the restart")
        if t.failed:
            t.diag(b.log_tail(30))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
