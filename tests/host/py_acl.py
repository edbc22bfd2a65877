#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Principals from client certificates and Kafka ACLs (authorizer=acl).

One broker with an mTLS listener; client certificates CN=admin (a super
user), CN=alice, CN=bob, CN=carol (no ACLs) and O=corp/OU=eng/CN=alice
(mapped to User:alice by ssl.principal.mapping.rules).  ACLs are made with
librdkafka's AdminClient (build/tests/host/rdk_acl) and with kbrokerctl;
producers and consumers are confluent-kafka's.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import ROOT, Broker, Tap, free_port  # noqa: E402

from confluent_kafka import Consumer, KafkaError, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

B = os.environ.get("B", os.path.join(ROOT, "build"))
RDK_ACL = os.path.join(B, "tests", "host", "rdk_acl")
KBROKERCTL = os.path.join(B, "daemon", "kbrokerctl")

t = Tap()


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def make_certs(d):
    def key(name):
        sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
           "ec_paramgen_curve:P-256", "-out", os.path.join(d, name + ".key"))

    cnf = os.path.join(d, "x.cnf")
    with open(cnf, "w") as f:
        f.write("[req]\ndistinguished_name = dn\n[dn]\n"
                "[srv]\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n"
                "[cli]\nextendedKeyUsage = clientAuth\n")
    key("ca")
    sh("openssl", "req", "-config", cnf, "-x509", "-new", "-key",
       os.path.join(d, "ca.key"), "-out", os.path.join(d, "ca.pem"),
       "-days", "2", "-subj", "/CN=kbroker-acl-test-ca", check=True)

    def cert(name, subj, ext):
        key(name)
        sh("openssl", "req", "-config", cnf, "-new", "-key",
           os.path.join(d, name + ".key"), "-out",
           os.path.join(d, name + ".csr"), "-subj", subj, check=True)
        sh("openssl", "x509", "-req", "-in", os.path.join(d, name + ".csr"),
           "-CA", os.path.join(d, "ca.pem"), "-CAkey",
           os.path.join(d, "ca.key"), "-CAcreateserial", "-out",
           os.path.join(d, name + ".pem"), "-days", "2", "-extfile", cnf,
           "-extensions", ext, check=True)

    cert("server", "/CN=localhost", "srv")
    with open(os.path.join(d, "server-ks.pem"), "w") as out:
        for p in ("server.key", "server.pem", "ca.pem"):
            out.write(open(os.path.join(d, p)).read())
    for who in ("admin", "alice", "bob", "carol"):
        cert(who, "/CN=" + who, "cli")
    cert("alice-eng", "/O=corp/OU=eng/CN=alice", "cli")


b = Broker()
d = os.path.join(b.tmp, "pki")
os.makedirs(d)
make_certs(d)
state = os.path.join(b.tmp, "state")
ctl = os.path.join(b.tmp, "ctl.sock")
with open(b.conf, "w") as f:
    f.write("\n".join([
        "broker.id=0",
        "listeners=SSL://%s" % b.bootstrap,
        "listener.security.protocol.map=SSL:SSL",
        "log.dirs=%s" % ",".join(b.dirs),
        "num.partitions=1",
        "at.rest.encryption=off",
        "at.rest.state.dir=%s" % state,
        "control.socket=%s" % ctl,
        "ssl.keystore.location=%s/server-ks.pem" % d,
        "ssl.truststore.location=%s/ca.pem" % d,
        "ssl.client.auth=required",
        "authorizer=acl",
        "super.users=User:CN=admin",
        "ssl.principal.mapping.rules=RULE:^CN=([^,]+),OU=eng,O=corp$/$1/L,DEFAULT",
    ]) + "\n")


def tls(who):
    return {"bootstrap.servers": b.bootstrap, "security.protocol": "ssl",
            "ssl.ca.location": os.path.join(d, "ca.pem"),
            "ssl.certificate.location": os.path.join(d, who + ".pem"),
            "ssl.key.location": os.path.join(d, who + ".key")}


def rdk_acl(who, action, *binding):
    args = [RDK_ACL]
    for k, v in tls(who).items():
        args += ["-b", v] if k == "bootstrap.servers" else ["-X", "%s=%s" % (k, v)]
    r = sh(*(args + [action] + list(binding)), timeout=60)
    return r.returncode, r.stdout + r.stderr


def kbctl(*args):
    r = sh(KBROKERCTL, *args, env=dict(os.environ, KBROKER_SOCKET=ctl),
           timeout=30)
    return r.returncode, r.stdout + r.stderr


def produce(who, topic, n=3, tag="m"):
    """Delivery errors (KafkaError codes) of @n messages; [] = all in."""
    errs = []
    p = Producer(dict(tls(who), **{"message.timeout.ms": 10000}))

    def cb(err, msg):
        if err:
            errs.append(err.code())
    for i in range(n):
        p.produce(topic, ("%s-%d" % (tag, i)).encode(), callback=cb)
    p.flush(20)
    return errs


def consumer(who, group):
    return Consumer(dict(tls(who), **{
        "group.id": group, "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "session.timeout.ms": 6000}))


def consume(c, n, timeout=20):
    """(values, error codes) until @n values or an error or the timeout."""
    vals, errs = [], []
    end = time.time() + timeout
    while len(vals) < n and time.time() < end:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            if m.error().code() != KafkaError._PARTITION_EOF:
                errs.append(m.error().code())
                break
            continue
        vals.append(m.value())
    return vals, errs


def logged(text):
    with open(b.logpath, errors="replace") as f:
        return f.read().count(text)


if not t.ok(b.start(), "kbrokerd starts with authorizer=acl on an mTLS listener"):
    sys.exit(t.done())
t.ok(logged("authorizer acl: 0 ACL(s)") == 1, "the authorizer says it is on, with no ACLs")
t.ok(logged("principal User:CN=admin") == 0, "no client yet")

# Admin (super user) makes the topic and the ACLs.
a = AdminClient(tls("admin"))
fs = a.create_topics([NewTopic("orders", 1, 1), NewTopic("eng-orders", 1, 1)])
try:
    for f in fs.values():
        f.result(20)
    t.ok(True, "super user creates topics orders and eng-orders")
except Exception as e:  # noqa: BLE001
    t.ok(False, "super user creates topics: %s" % e)

rc, out = rdk_acl("admin", "create", "TOPIC", "orders", "LITERAL",
                  "User:CN=alice", "*", "WRITE", "ALLOW")
t.ok(rc == 0, "AdminClient CreateAcls: alice may write orders")
t.diag(out.strip()) if rc else None
rc1, _ = rdk_acl("admin", "create", "TOPIC", "orders", "LITERAL",
                 "User:CN=bob", "*", "READ", "ALLOW")
rc2, _ = rdk_acl("admin", "create", "GROUP", "billing", "LITERAL",
                 "User:CN=bob", "*", "READ", "ALLOW")
t.ok(rc1 == 0 and rc2 == 0, "AdminClient CreateAcls: bob may read orders in group billing")
rc, out = rdk_acl("admin", "describe", "ANY", "-", "ANY", "-", "-", "ANY", "ANY")
t.ok(rc == 0 and out.count("\n") == 3 and
     "TOPIC LITERAL orders User:CN=alice * WRITE ALLOW" in out,
     "AdminClient DescribeAcls lists the three bindings")
t.diag(out.strip())
rc, out = rdk_acl("alice", "create", "TOPIC", "orders", "LITERAL",
                  "User:CN=alice", "*", "ALL", "ALLOW")
t.ok(rc != 0 and "CLUSTER_AUTHORIZATION_FAILED" in out,
     "alice may not create ACLs (CLUSTER_AUTHORIZATION_FAILED)")

# Bad bindings: Kafka's INVALID_REQUEST, nothing stored.
bad = [("CLUSTER", "not-the-cluster", "LITERAL", "User:x", "*", "ALTER", "ALLOW"),
       ("TOPIC", "x", "LITERAL", "nocolon", "*", "READ", "ALLOW"),
       ("TOPIC", "x", "LITERAL", "User:x", "*", "99", "ALLOW")]
rcs = [rdk_acl("admin", "create", *bb) for bb in bad]
t.ok(all(rc != 0 and ("INVALID_REQUEST" in o or "local" in o) for rc, o in rcs),
     "malformed bindings are refused")
for rc, o in rcs:
    t.diag(o.strip())
rc, out = rdk_acl("admin", "describe", "ANY", "-", "ANY", "-", "-", "ANY", "ANY")
t.ok(out.count("\n") == 3, "and nothing of them is stored")

t.ok(produce("alice", "orders") == [], "alice produces to orders")
errs = produce("bob", "orders", n=1)
t.ok(errs == [KafkaError.TOPIC_AUTHORIZATION_FAILED],
     "bob's produce is refused with TOPIC_AUTHORIZATION_FAILED (%s)" % errs)

bob = consumer("bob", "billing")
bob.subscribe(["orders"])
vals, errs = consume(bob, 3)
t.ok(len(vals) == 3 and not errs, "bob consumes orders in group billing (%d, %s)" % (len(vals), errs))

other = consumer("bob", "other")
other.subscribe(["orders"])
vals, errs = consume(other, 1, timeout=15)
t.ok(not vals and KafkaError.GROUP_AUTHORIZATION_FAILED in errs,
     "bob may not consume in group other (GROUP_AUTHORIZATION_FAILED: %s)" % errs)
other.close()

carol = AdminClient(tls("carol"))
md = carol.list_topics(timeout=15)
t.ok(len(md.topics) == 0, "a client without ACLs sees no topics in Metadata (%s)"
     % sorted(md.topics))
md = a.list_topics(timeout=15)
t.ok({"orders", "eng-orders"} <= set(md.topics), "the super user sees them all")

# DeleteAcls: bob's next fetch, on the same connection, is refused.
rc, out = rdk_acl("admin", "delete", "TOPIC", "orders", "LITERAL",
                  "User:CN=bob", "-", "READ", "ANY")
t.ok(rc == 0 and "deleted TOPIC LITERAL orders User:CN=bob * READ ALLOW" in out,
     "AdminClient DeleteAcls removes bob's read")
# A Fetch already waiting was authorized when it came, as in Kafka; the
# next one (fetch.wait.max.ms later) is refused.
time.sleep(1.5)
produce("alice", "orders", n=1, tag="after")
vals, errs = consume(bob, 1, timeout=20)
t.ok(not vals and KafkaError.TOPIC_AUTHORIZATION_FAILED in errs,
     "bob's next fetch is refused without reconnecting (%s, %s)" % (vals, errs))
bob.close()

den = logged("authorization denied: principal User:CN=bob from 127.0.0.1")
t.ok(den >= 1, "denials are logged with the principal and client address")
t.ok(den < 20, "and rate-limited (%d lines)" % den)
t.ok(logged("operation CREATE on TOPIC orders") == 0,
     "alice's allowed produces log no denial (no CREATE asked for a topic that exists)")

# The same through kbrokerctl.
rc, out = kbctl("acl", "add", "--allow", "--principal", "User:CN=bob",
                "--operation", "read", "--topic", "orders")
t.ok(rc == 0 and "ok added" in out, "kbrokerctl acl add gives bob read again")
rc, out = kbctl("acl", "list")
t.ok(rc == 0 and "TOPIC LITERAL orders User:CN=bob * READ ALLOW" in out,
     "kbrokerctl acl list shows it")
bob = consumer("bob", "billing")
bob.subscribe(["orders"])
vals, errs = consume(bob, 4)
t.ok(len(vals) == 4 and not errs, "bob consumes again (%s %s)" % (vals, errs))
rc, out = kbctl("acl", "remove", "--allow", "--principal", "User:CN=bob",
                "--operation", "read", "--topic", "orders")
t.ok(rc == 0 and "ok removed 1" in out, "kbrokerctl acl remove takes it away")
time.sleep(1.5)
produce("alice", "orders", n=1, tag="again")
vals, errs = consume(bob, 1, timeout=20)
t.ok(not vals and KafkaError.TOPIC_AUTHORIZATION_FAILED in errs,
     "and bob's fetch is refused again (%s)" % errs)
bob.close()
rc, out = kbctl("acl", "add", "--allow", "--principal", "nocolon",
                "--operation", "read", "--topic", "orders")
t.ok(rc != 0 and "error" in out, "kbrokerctl refuses a malformed binding")

# Mapping rules: O=corp/OU=eng/CN=alice is User:alice.
rc, _ = kbctl("acl", "add", "--allow", "--principal", "User:alice",
              "--operation", "write", "--topic", "eng-", "--prefixed")
t.ok(rc == 0, "prefixed ACL for the mapped principal User:alice")
t.ok(produce("alice-eng", "eng-orders") == [],
     "CN=alice,OU=eng,O=corp maps to User:alice and may write eng-orders")
t.ok(logged("principal User:alice,") >= 1, "the handshake logs the mapped principal")
errs = produce("alice", "eng-orders", n=1)
t.ok(errs == [KafkaError.TOPIC_AUTHORIZATION_FAILED],
     "User:CN=alice may not (%s)" % errs)

# ACLs survive a restart.
t.ok(b.stop() == 0, "kbrokerd stops cleanly")
t.ok(b.start(), "kbrokerd restarts")
rc, out = rdk_acl("admin", "describe", "ANY", "-", "ANY", "-", "-", "ANY", "ANY")
t.ok(rc == 0 and "TOPIC LITERAL orders User:CN=alice * WRITE ALLOW" in out and
     "TOPIC PREFIXED eng- User:alice * WRITE ALLOW" in out and
     "User:CN=bob * READ" not in out.replace("GROUP LITERAL billing User:CN=bob * READ", ""),
     "the ACLs survive the restart, removals too")
t.ok(produce("alice", "orders", n=1) == [], "alice still produces after the restart")
t.ok(b.stop() == 0, "kbrokerd stops cleanly at the end")
b.cleanup()
sys.exit(t.done())
