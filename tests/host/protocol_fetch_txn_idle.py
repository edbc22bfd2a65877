#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Raw-protocol checks of Fetch waiting and limits, transactions not being
served, connections.max.idle.ms and a per-listener key, over real sockets.

Fetch: an empty partition answers after max_wait_ms with no records; a
parked Fetch is answered as soon as another connection produces; min_bytes
above what is there waits max_wait_ms and returns what is there;
max_bytes / partition_max_bytes of 1 still return one whole batch (the
first batch may exceed the limits, so consumers make progress);
READ_COMMITTED returns the records with last_stable_offset at the high
watermark.  Transactions: not advertised, EndTxn answers
UNSUPPORTED_VERSION, InitProducerId with a transactional id is refused.
A broker with connections.max.idle.ms=1500 closes a silent connection and
one that stopped reading its answers, but not a busy one.
listener.name.<name>.policy=tls refuses plaintext on that listener only.  Timing margins are wide: the test VMs are small and noisy.
"""

import errno
import os
import select
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Reader, Tap, free_port, produce_v3_body  # noqa: E402
from confluent_kafka import Consumer  # noqa: E402

T = Tap()

UNSUPPORTED_VERSION = 35
TXN_APIS = {24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn",
            27: "WriteTxnMarkers", 28: "TxnOffsetCommit"}


def _crc32c_table():
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        tab.append(c)
    return tab


CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C[(c ^ b) & 0xff] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    """Zigzag varint, as record fields are encoded."""
    n = (n << 1) ^ (n >> 63)
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7f) | 0x80])
        n >>= 7
    return out + bytes([n])


def record_batch(values):
    """A magic-2 record batch (no compression, no producer id)."""
    now = int(time.time() * 1000)
    recs = b""
    for i, v in enumerate(values):
        body = (b"\0" + varint(0) + varint(i) + varint(-1) +
                varint(len(v)) + v + varint(0))
        recs += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, now, now, -1,
                            -1, -1, len(values)) + recs
    tail = struct.pack(">bI", 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qii", 0, 4 + len(tail), -1) + tail


def read_varint(b, pos):
    n = shift = 0
    while True:
        c = b[pos]
        pos += 1
        n |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return (n >> 1) ^ -(n & 1), pos


def parse_batches(blob):
    """[(base_offset, [values]), ...] of the whole batches in @blob, and
    the number of trailing bytes that were not a whole batch."""
    out, pos = [], 0
    while len(blob) - pos >= 12:
        base, blen = struct.unpack_from(">qi", blob, pos)
        if len(blob) - pos < 12 + blen:
            break
        n = struct.unpack_from(">i", blob, pos + 57)[0]
        p = pos + 61
        vals = []
        for _ in range(n):
            _, p = read_varint(blob, p)           # length
            p += 1                                  # attributes
            _, p = read_varint(blob, p)           # timestamp delta
            _, p = read_varint(blob, p)           # offset delta
            kl, p = read_varint(blob, p)
            p += max(kl, 0)
            vl, p = read_varint(blob, p)
            vals.append(blob[p:p + vl] if vl >= 0 else None)
            p += max(vl, 0)
            nh, p = read_varint(blob, p)
            for _ in range(nh):
                hk, p = read_varint(blob, p)
                p += hk
                hv, p = read_varint(blob, p)
                p += max(hv, 0)
        out.append((base, vals))
        pos += 12 + blen
    return out, len(blob) - pos


def s16(v):
    if v is None:
        return struct.pack(">h", -1)
    v = v.encode()
    return struct.pack(">h", len(v)) + v


class Conn:
    """One connection, classic (non-flexible) requests, header v1."""

    def __init__(self, port, sock=None):
        self.s = sock or socket.create_connection(("127.0.0.1", port),
                                                  timeout=30)
        self.corr = 0

    def send(self, key, ver, body):
        self.corr += 1
        msg = struct.pack(">hhi", key, ver, self.corr) + s16("py_wire") + body
        self.s.sendall(struct.pack(">i", len(msg)) + msg)
        return self.corr

    def recvn(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError("connection closed")
            b += c
        return b

    def recv(self, corr, timeout=30):
        self.s.settimeout(timeout)
        n = struct.unpack(">i", self.recvn(4))[0]
        r = Reader(self.recvn(n))
        if r.i32() != corr:
            raise ValueError("correlation id mismatch")
        return r

    def call(self, key, ver, body, timeout=30):
        return self.recv(self.send(key, ver, body), timeout)

    def close(self):
        self.s.close()


def api_versions(c):
    r = c.call(18, 0, b"")
    err = r.i16()
    apis = {}
    for _ in range(r.i32()):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        apis[k] = (lo, hi)
    return err, apis


def create_topic(c, name, parts):
    body = struct.pack(">i", 1) + s16(name) + struct.pack(">ihii", parts, 1,
                                                           0, 0)
    r = c.call(19, 0, body + struct.pack(">i", 15000))
    r.i32()
    r.string()
    return r.i16()


def produce(c, topic, part, values):
    """Produce v3, acks=1: (error, base_offset)."""
    rb = record_batch(values)
    r = c.call(0, 3, produce_v3_body(topic, part, rb, 1, 15000))
    r.i32()
    r.string()
    r.i32()
    r.i32()
    return r.i16(), r.i64()


def fetch_send(c, parts, max_wait, min_bytes=1, max_bytes=1 << 20,
               part_max=1 << 20, isolation=0, ver=4):
    """Fetch v4..v11 (classic encoding); @parts: [(topic, part, offset)]."""
    body = struct.pack(">iiii", -1, max_wait, min_bytes, max_bytes)
    body += struct.pack(">b", isolation)
    if ver >= 7:
        body += struct.pack(">ii", 0, -1)
    topics = {}
    for t, p, off in parts:
        topics.setdefault(t, []).append((p, off))
    body += struct.pack(">i", len(topics))
    for t, ps in topics.items():
        body += s16(t) + struct.pack(">i", len(ps))
        for p, off in ps:
            body += struct.pack(">i", p)
            if ver >= 9:
                body += struct.pack(">i", -1)
            body += struct.pack(">q", off)
            if ver >= 5:
                body += struct.pack(">q", -1)
            body += struct.pack(">i", part_max)
    if ver >= 7:
        body += struct.pack(">i", 0)
    if ver >= 11:
        body += s16("")
    return c.send(1, ver, body), ver


def fetch_recv(c, sent, timeout=30):
    """{(topic, part): dict(err, hw, lso, records)}."""
    corr, ver = sent
    r = c.recv(corr, timeout)
    r.i32()
    if ver >= 7:
        r.i16()
        r.i32()
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, err, hw, lso = r.i32(), r.i16(), r.i64(), r.i64()
            lstart = r.i64() if ver >= 5 else None
            for _ in range(max(r.i32(), 0)):
                r.i64()
                r.i64()
            if ver >= 11:
                r.i32()
            out[(t, p)] = dict(err=err, hw=hw, lso=lso, log_start=lstart,
                               records=r.blob() or b"")
    return out


def fetch(c, parts, max_wait, **kw):
    """A Fetch and its answer, with the seconds it took."""
    t0 = time.monotonic()
    sent = fetch_send(c, parts, max_wait, **kw)
    res = fetch_recv(c, sent)
    return res, time.monotonic() - t0


def values_of(blob):
    batches, rest = parse_batches(blob)
    return [v for _, vals in batches for v in vals], len(batches), rest


def check_fetch(b):
    c = Conn(b.port)
    p = Conn(b.port)
    for name, n in (("w-empty", 1), ("w-park", 1), ("w-min", 1),
                    ("w-limits", 2)):
        err = create_topic(c, name, n)
        T.ok(err == 0, "CreateTopics %s (%d partition%s): error %d"
             % (name, n, "s" if n > 1 else "", err))

    # An empty partition: the answer comes after max_wait_ms, empty.
    res, dt = fetch(c, [("w-empty", 0, 0)], 800)
    r = res.get(("w-empty", 0), {})
    T.ok(r.get("err") == 0 and r.get("hw") == 0 and r.get("records") == b"",
         "Fetch of an empty partition: error 0, high watermark 0, no "
         "records (%s)" % r)
    T.ok(0.6 <= dt < 5, "it waited max_wait_ms=800 (%.0f ms)" % (dt * 1000))

    # A parked Fetch is answered by another connection's Produce.
    t0 = time.monotonic()
    sent = fetch_send(c, [("w-park", 0, 0)], 5000)
    time.sleep(0.3)
    err, base = produce(p, "w-park", 0, [b"wake-1", b"wake-2"])
    T.ok(err == 0 and base == 0, "Produce on another connection while the "
         "Fetch waits: error %d, base offset %d" % (err, base))
    r = fetch_recv(c, sent).get(("w-park", 0), {})
    dt = time.monotonic() - t0
    vals, _, rest = values_of(r.get("records", b""))
    T.ok(dt < 3, "the parked Fetch (max_wait_ms=5000) is answered early "
         "(%.0f ms)" % (dt * 1000))
    T.ok(r.get("err") == 0 and r.get("hw") == 2 and
         vals == [b"wake-1", b"wake-2"] and rest == 0,
         "its answer holds the new records (hw %s, %s)" % (r.get("hw"), vals))

    # min_bytes above what is there: waits max_wait_ms, returns that.
    err, _ = produce(p, "w-min", 0, [b"small"])
    T.ok(err == 0, "Produce one small record: error %d" % err)
    res, dt = fetch(c, [("w-min", 0, 0)], 800, min_bytes=1 << 20)
    vals, _, _ = values_of(res.get(("w-min", 0), {}).get("records", b""))
    T.ok(0.6 <= dt < 5, "min_bytes=1 MiB over a small partition waits "
         "max_wait_ms=800 (%.0f ms)" % (dt * 1000))
    T.ok(vals == [b"small"], "then returns what is there (%s)" % vals)

    # Limits of 1 byte: exactly one whole batch, the first.
    for part in (0, 1):
        for i in range(3):
            err, _ = produce(p, "w-limits", part,
                             [b"p%d-b%d-r%d" % (part, i, j) for j in range(3)])
            if err:
                break
    T.ok(err == 0, "three 3-record batches in each of two partitions")
    for what, kw in (("max_bytes=1", dict(max_bytes=1)),
                     ("partition_max_bytes=1", dict(part_max=1))):
        res, _ = fetch(c, [("w-limits", 0, 0)], 500, **kw)
        r = res.get(("w-limits", 0), {})
        batches, rest = parse_batches(r.get("records", b""))
        T.ok(r.get("err") == 0 and rest == 0 and len(batches) == 1 and
             batches[0][0] == 0 and
             batches[0][1] == [b"p0-b0-r0", b"p0-b0-r1", b"p0-b0-r2"],
             "Fetch %s: exactly the first whole batch (%d batches, %d "
             "stray bytes)" % (what, len(batches), rest))
    res, _ = fetch(c, [("w-limits", 0, 3)], 500, max_bytes=1)
    batches, rest = parse_batches(res.get(("w-limits", 0), {})
                                  .get("records", b""))
    T.ok(rest == 0 and [x[0] for x in batches] == [3],
         "max_bytes=1 from offset 3: the batch at 3 only (%s)"
         % [x[0] for x in batches])
    res, _ = fetch(c, [("w-limits", 0, 0), ("w-limits", 1, 0)], 500,
                   max_bytes=1)
    n0 = len(parse_batches(res.get(("w-limits", 0), {})
                           .get("records", b""))[0])
    n1 = len(parse_batches(res.get(("w-limits", 1), {})
                           .get("records", b""))[0])
    T.ok((n0, n1) == (1, 0), "max_bytes=1 over two partitions: one batch "
         "in all, from the first (%d, %d)" % (n0, n1))

    # READ_COMMITTED: no transactions, so everything is stable.
    for ver in (4, 11):
        res, _ = fetch(c, [("w-limits", 1, 0)], 500, isolation=1, ver=ver)
        r = res.get(("w-limits", 1), {})
        vals, nb, rest = values_of(r.get("records", b""))
        T.ok(r.get("err") == 0 and nb == 3 and len(vals) == 9 and
             rest == 0, "Fetch v%d READ_COMMITTED returns the records "
             "(%d batches, %d records)" % (ver, nb, len(vals)))
        T.ok(r.get("hw") == 9 and r.get("lso") == r.get("hw"),
             "Fetch v%d READ_COMMITTED: last_stable_offset %s == high "
             "watermark %s" % (ver, r.get("lso"), r.get("hw")))
    c.close()
    p.close()


def check_txn(b):
    c = Conn(b.port)
    err, apis = api_versions(c)
    T.ok(err == 0 and 1 in apis and 22 in apis,
         "ApiVersions v0: error %d, %d APIs" % (err, len(apis)))
    listed = [n for k, n in TXN_APIS.items() if k in apis]
    T.ok(not listed, "ApiVersions lists no transaction API (listed: %s)"
         % listed)

    # EndTxn v0 anyway: transactional_id, producer id/epoch, committed.
    body = s16("txn-1") + struct.pack(">qhb", 1, 0, 1)
    try:
        r = c.call(26, 0, body, timeout=15)
        r.i32()
        err = r.i16()
        T.ok(err == UNSUPPORTED_VERSION, "EndTxn v0 answers "
             "UNSUPPORTED_VERSION (%d)" % err)
    except (EOFError, OSError, ValueError) as e:
        T.ok(False, "EndTxn v0 answered (%s)" % e)
        c = Conn(b.port)
    err, apis = api_versions(c)
    T.ok(err == 0 and apis, "the connection still serves ApiVersions")

    # InitProducerId v0: a transactional id is refused, none is served.
    r = c.call(22, 0, s16("txn-1") + struct.pack(">i", 60000))
    r.i32()
    err, pid, epoch = r.i16(), r.i64(), r.i16()
    T.diag("InitProducerId with transactional_id answers error %d" % err)
    T.ok(err == 53 and pid == -1 and epoch == -1,
         "InitProducerId with a transactional_id: error %d "
         "(TRANSACTIONAL_ID_AUTHORIZATION_FAILED is 53), producer id %d"
         % (err, pid))
    r = c.call(22, 0, s16(None) + struct.pack(">i", 60000))
    r.i32()
    err, pid, epoch = r.i16(), r.i64(), r.i16()
    T.ok(err == 0 and pid >= 0 and epoch == 0,
         "InitProducerId without one: error 0, producer id %d epoch %d"
         % (pid, epoch))
    c.close()


class Stalled(socket.socket):
    sent = 0


def stall(port):
    """A connection that pipelines Metadata requests for up to a second,
    until the broker stops taking them, and never reads an answer."""
    s = Stalled(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    hdr = struct.pack(">hh", 3, 1)
    t0 = time.monotonic()
    blocked_since = None
    pending = b""
    while time.monotonic() - t0 < 1:
        if not pending:
            pending = b"".join(
                struct.pack(">i", 19) + hdr +
                struct.pack(">ih", s.sent + i, 5) + b"stall" +
                struct.pack(">i", 0) for i in range(500))
            s.sent += 500
        try:
            n = s.send(pending)
        except BlockingIOError:
            n = 0
        pending = pending[n:]
        if pending:
            # The broker stopped taking requests: what this is for.
            blocked_since = blocked_since or time.monotonic()
            if time.monotonic() - blocked_since > 0.2:
                break
            time.sleep(0.01)
        else:
            blocked_since = None
    return s


def check_idle():
    with Broker(extra=["connections.max.idle.ms=1500"]) as b:
        if not T.ok(b.start(), "kbrokerd starts with "
                    "connections.max.idle.ms=1500"):
            return
        t0 = time.monotonic()
        quiet = socket.create_connection(("127.0.0.1", b.port), timeout=30)
        stalled = stall(b.port)
        busy = Conn(b.port)
        closed_at = None
        answered = 0
        meta = struct.pack(">i", 0)     # Metadata v1, no topics
        while time.monotonic() - t0 < 4:
            if busy.call(3, 1, meta, timeout=10):
                answered += 1
            nxt = time.monotonic() + 0.3
            while closed_at is None and time.monotonic() < nxt:
                rd, _, _ = select.select([quiet], [], [],
                                         max(0, nxt - time.monotonic()))
                if rd:
                    try:
                        d = quiet.recv(1)
                    except OSError:
                        d = b""
                    if not d:
                        closed_at = time.monotonic() - t0
            if time.monotonic() < nxt:
                time.sleep(nxt - time.monotonic())
        if closed_at is None:
            quiet.settimeout(max(0.1, 6 - (time.monotonic() - t0)))
            try:
                if not quiet.recv(1):
                    closed_at = time.monotonic() - t0
            except OSError:
                pass
        quiet.close()
        T.ok(closed_at is not None and 1.5 <= closed_at < 6,
             "a connection that sends nothing is closed after %s s"
             % ("%.2f" % closed_at if closed_at is not None else "never"))
        try:
            busy.call(3, 1, meta, timeout=10)
            answered += 1
            still = True
        except (EOFError, OSError, ValueError):
            still = False
        T.ok(still and answered >= 8, "one sending Metadata every 300 ms "
             "for 4 s stays open (%d answers)" % answered)
        busy.close()
        # Closed with requests unread: the broker's close is a reset, seen
        # here without reading the answers (reading them is activity).
        err = 0
        while not err and time.monotonic() - t0 < 8:
            err = stalled.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            time.sleep(0.1)
        stalled.close()
        T.ok(err == errno.ECONNRESET, "one that pipelined %d requests and "
             "never read its answers is closed too (%s)"
             % (stalled.sent, os.strerror(err) if err else "still open"))
        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")


def make_cert(d):
    """A self-signed PEM keystore (key + certificate) in @d, or None."""
    pem = os.path.join(d, "server.pem")
    key, crt = os.path.join(d, "server.key"), os.path.join(d, "server.crt")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", crt, "-days", "2",
                        "-subj", "/CN=localhost"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    with open(pem, "w") as out:
        for f in (key, crt):
            with open(f) as inp:
                out.write(inp.read())
    return pem


def answers(connect):
    """Whether ApiVersions is answered over the connection connect()
    makes; a refused or closed connection is False."""
    try:
        c = connect()
        try:
            return api_versions(c)[0] == 0
        finally:
            c.close()
    except (EOFError, OSError, ValueError):
        return False


def plain_answers(port):
    return answers(lambda: Conn(port))


def tls_answers(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def connect():
        raw = socket.create_connection(("127.0.0.1", port), timeout=15)
        return Conn(port, ctx.wrap_socket(raw, server_hostname="localhost"))
    return answers(connect)


def check_listener_key():
    """listener.name.<name>.policy is the only per-listener key that is not
    an ssl.* key; tls needs a keystore, set globally for both listeners."""
    with Broker() as b:
        pem = make_cert(b.tmp)
        if pem is None:
            T.ok(True, "listener.name.<name>.policy # SKIP no openssl tool "
                 "to make a keystore")
            return
        p2 = free_port()
        b.write_config([
            "listeners=PLAIN://%s,LOCKED://127.0.0.1:%d" % (b.bootstrap, p2),
            "listener.security.protocol.map=PLAIN:PLAINTEXT,"
            "LOCKED:PLAINTEXT",
            "ssl.keystore.location=%s" % pem,
            "listener.name.locked.policy=tls"])
        if not T.ok(b.start(), "kbrokerd starts with two PLAINTEXT "
                    "listeners, listener.name.locked.policy=tls"):
            return
        T.ok(plain_answers(b.port), "plaintext ApiVersions answered on the "
             "listener without the key")
        T.ok(not plain_answers(p2), "plaintext ApiVersions refused on the "
             "listener with policy=tls")
        T.ok(tls_answers(p2), "TLS ApiVersions answered on the listener "
             "with policy=tls")
        T.ok(not tls_answers(b.port), "TLS refused on the listener without "
             "the key (policy plaintext, its default)")
        T.ok(b.alive(), "kbrokerd still running")
        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
        if T.failed:
            T.diag(b.log_tail(20))


def delete_records(c, topic, part, offset, ver=1):
    """DeleteRecords v0/v1 (classic): (low watermark, error)."""
    body = struct.pack(">i", 1) + s16(topic) + struct.pack(">iiq", 1, part,
                                                           offset)
    r = c.call(21, ver, body + struct.pack(">i", 15000))
    r.i32()
    r.i32()
    r.string()
    r.i32()
    r.i32()
    return r.i64(), r.i16()


def check_delete_records(b):
    """DeleteRecords moves the log start; Fetch below it is out of range,
    and a librdkafka consumer from the beginning starts at it."""
    c = Conn(b.port)
    T.ok(create_topic(c, "w-delrec", 1) == 0, "topic w-delrec")
    for i in range(10):
        produce(c, "w-delrec", 0, [b"r%d" % i])
    T.ok(delete_records(c, "w-delrec", 0, 4) == (4, 0),
         "DeleteRecords v1 to offset 4: low watermark 4")
    T.ok(delete_records(c, "w-delrec", 0, 2, ver=0) == (4, 0),
         "DeleteRecords below the start changes nothing: low watermark 4")
    T.ok(delete_records(c, "w-delrec", 0, 11) == (4, 1),
         "DeleteRecords past the high watermark: OFFSET_OUT_OF_RANGE")
    T.ok(delete_records(c, "w-nope", 0, 1)[1] == 3,
         "DeleteRecords on an unknown topic: UNKNOWN_TOPIC_OR_PARTITION")
    res, _ = fetch(c, [("w-delrec", 0, 3)], 0, ver=5)
    T.ok(res[("w-delrec", 0)]["err"] == 1,
         "Fetch at 3, below the new start: OFFSET_OUT_OF_RANGE")
    res, _ = fetch(c, [("w-delrec", 0, 4)], 0, ver=5)
    got = res[("w-delrec", 0)]
    T.ok(got["err"] == 0 and got["log_start"] == 4 and
         values_of(got["records"])[0][:1] == [b"r4"],
         "Fetch at 4 reads r4, log start 4 (%s)" % got["log_start"])
    cons = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "w-dr",
                     "auto.offset.reset": "earliest"})
    cons.subscribe(["w-delrec"])
    vals, deadline = [], time.monotonic() + 30
    while len(vals) < 6 and time.monotonic() < deadline:
        m = cons.poll(1)
        if m is not None and not m.error():
            vals.append(m.value())
    cons.close()
    T.ok(vals == [b"r%d" % i for i in range(4, 10)],
         "a librdkafka consumer from the beginning reads r4..r9 (%s)" % vals)
    T.ok(delete_records(c, "w-delrec", 0, -1) == (10, 0),
         "DeleteRecords to -1 (high watermark): low watermark 10")
    c.close()


def popcount_ops(ops):
    return sorted(i for i in range(32) if ops >= 0 and ops & (1 << i))


def check_authorized_ops(b):
    """include_*_authorized_operations without an authorizer: everything
    Kafka defines for the resource type (8 topic, 7 cluster, 3 group
    operations), INT32_MIN when not asked."""
    c = Conn(b.port)
    create_topic(c, "w-ops", 1)
    for want in (True, False):
        body = struct.pack(">i", 1) + s16("w-ops") + struct.pack(
            ">bbb", 0, want, want)
        r = c.call(3, 8, body)
        r.i32()
        for _ in range(r.i32()):
            r.i32()
            r.string()
            r.i32()
            r.string()
        r.string()
        r.i32()
        tops = None
        for _ in range(r.i32()):
            r.i16()
            r.string()
            r.i8()
            for _ in range(r.i32()):
                r.i16()
                r.i32()
                r.i32()
                r.i32()
                for _ in range(3):
                    for _ in range(r.i32()):
                        r.i32()
            tops = r.i32()
        cops = r.i32()
        if want:
            T.ok(popcount_ops(tops) == [3, 4, 5, 6, 7, 8, 10, 11] and
                 popcount_ops(cops) == [5, 7, 8, 9, 10, 11, 12],
                 "Metadata v8 asked: 8 topic and 7 cluster operations "
                 "(%s, %s)" % (tops, cops))
        else:
            T.ok(tops == cops == -2 ** 31,
                 "Metadata v8 not asked: INT32_MIN (%s, %s)" % (tops, cops))
    r = c.call(15, 3, struct.pack(">i", 1) + s16("w-ops-g") + b"\1")
    r.i32()
    r.i32()
    r.i16()
    r.string()
    r.string()
    r.string()
    r.string()
    r.i32()
    gops = r.i32()
    T.ok(popcount_ops(gops) == [3, 6, 8],
         "DescribeGroups v3 asked: READ, DELETE, DESCRIBE (%s)" % gops)
    # DescribeCluster v0 is flexible: request header v2, response v1.
    c.corr += 1
    msg = struct.pack(">hhi", 60, 0, c.corr) + s16("py_wire") + b"\0"
    msg += b"\1\0"
    c.s.sendall(struct.pack(">i", len(msg)) + msg)
    n = struct.unpack(">i", c.recvn(4))[0]
    r = Reader(c.recvn(n), True)
    r.i32()
    r.tags()
    r.i32()
    err = r.i16()
    r.string()
    r.string()
    r.i32()
    for _ in range(r.array()):
        r.i32()
        r.string()
        r.i32()
        r.string()
        r.tags()
    cops = r.i32()
    T.ok(err == 0 and popcount_ops(cops) == [5, 7, 8, 9, 10, 11, 12],
         "DescribeCluster asked: 7 cluster operations (%s)" % cops)
    c.close()


def main():
    with Broker(extra=["auto.create.topics.enable=false"]) as b:
        if not T.ok(b.start(), "kbrokerd starts"):
            return T.done()
        try:
            check_fetch(b)
        except (EOFError, OSError, ValueError, struct.error) as e:
            T.ok(False, "Fetch checks ran to the end: %s" % e)
        try:
            check_delete_records(b)
        except (EOFError, OSError, ValueError, struct.error) as e:
            T.ok(False, "DeleteRecords checks ran to the end: %s" % e)
        try:
            check_authorized_ops(b)
        except (EOFError, OSError, ValueError, struct.error) as e:
            T.ok(False, "authorized operations checks ran to the end: %s"
                 % e)
        try:
            check_txn(b)
        except (EOFError, OSError, ValueError, struct.error) as e:
            T.ok(False, "transaction checks ran to the end: %s" % e)
        T.ok(b.alive(), "kbrokerd still running")
        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
        if T.failed:
            T.diag(b.log_tail(30))
    try:
        check_idle()
    except (EOFError, OSError, ValueError, struct.error) as e:
        T.ok(False, "idle checks ran to the end: %s" % e)
    try:
        check_listener_key()
    except (EOFError, OSError, ValueError, struct.error) as e:
        T.ok(False, "listener key checks ran to the end: %s" % e)
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
