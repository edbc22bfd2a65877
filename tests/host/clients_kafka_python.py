#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""kafka-python (Debian python3-kafka 2.0.2, unmodified) against kbrokerd:
KafkaAdminClient create_topics / describe_configs / create_partitions /
delete_topics, KafkaProducer with acks='all', a KafkaConsumer in a group
that gets every message back and commits, and a partition-count increase
while the group is consuming: the group rebalances onto the new partitions
and the consumer gets the messages produced to them."""

import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from kafka import (KafkaAdminClient, KafkaConsumer, KafkaProducer,  # noqa
                   TopicPartition, ConsumerRebalanceListener)
from kafka.admin import ConfigResource, ConfigResourceType  # noqa: E402
from kafka.admin import NewPartitions, NewTopic  # noqa: E402

TOPIC = "kp-e2e"
GROUP = "kp-e2e-group"
N1 = 20
N2 = 20
WAIT = 40.0

t = Tap()
logging.basicConfig(level=logging.ERROR, format="# %(name)s: %(message)s",
                    stream=sys.stdout)


class Listener(ConsumerRebalanceListener):
    def __init__(self):
        self.assigned = []

    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        self.assigned.append(sorted(tp.partition for tp in assigned))


def poll_until(consumer, seen, cond, timeout=WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline and not cond():
        for tp, recs in consumer.poll(timeout_ms=500).items():
            for r in recs:
                seen.append((r.partition, r.value.decode()))
    return cond()


def main(b):
    bs = b.bootstrap
    admin = KafkaAdminClient(bootstrap_servers=bs, client_id="kp-admin",
                             request_timeout_ms=30000)
    t.diag("kafka-python admin: broker version identified as %s"
           % (admin.config["api_version"],))
    res = admin.create_topics([NewTopic(TOPIC, 2, 1)], timeout_ms=30000)
    errs = [e for _, e, *_ in res.topic_errors]
    t.ok(errs == [0], "create_topics %s with 2 partitions (errors %s)"
         % (TOPIC, errs))

    res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC,
                                                 TOPIC)])
    ents = {}
    rerr = None
    for r in res:
        for err, _msg, _rtype, name, cfgs in r.resources:
            rerr = err
            for c in cfgs:
                ents[c[0]] = c[1]
    t.ok(rerr == 0 and "cleanup.policy" in ents and "retention.ms" in ents,
         "describe_configs on the topic (%d entries, cleanup.policy=%s)"
         % (len(ents), ents.get("cleanup.policy")))

    prod = KafkaProducer(bootstrap_servers=bs, acks="all", retries=5,
                         request_timeout_ms=30000, metadata_max_age_ms=1000)
    futs = [prod.send(TOPIC, value=("a-%d" % i).encode(), partition=i % 2)
            for i in range(N1)]
    prod.flush(timeout=30)
    mds = []
    for f in futs:
        try:
            mds.append(f.get(timeout=30))
        except Exception as e:  # noqa: BLE001
            t.diag("send failed: %r" % e)
    t.ok(len(mds) == N1 and sorted(set(m.partition for m in mds)) == [0, 1],
         "KafkaProducer acks='all': %d sends acknowledged" % len(mds))

    lis = Listener()
    cons = KafkaConsumer(bootstrap_servers=bs, group_id=GROUP,
                         client_id="kp-consumer",
                         auto_offset_reset="earliest",
                         enable_auto_commit=False,
                         metadata_max_age_ms=1000,
                         session_timeout_ms=30000,
                         heartbeat_interval_ms=1000,
                         request_timeout_ms=40000)
    cons.subscribe([TOPIC], listener=lis)
    seen = []
    want1 = {"a-%d" % i for i in range(N1)}
    t.ok(poll_until(cons, seen, lambda: want1 <= {v for _, v in seen}),
         "group consumer gets all %d messages back" % N1)
    t.ok(len(seen) == N1, "each exactly once (%d received)" % len(seen))
    t.ok(lis.assigned and lis.assigned[-1] == [0, 1],
         "the group assigned partitions 0,1 (%s)" % lis.assigned)
    cons.commit()
    got = {p: cons.committed(TopicPartition(TOPIC, p)) for p in (0, 1)}
    t.ok(sum(v or 0 for v in got.values()) == N1,
         "commit: committed offsets %s add up to %d" % (got, N1))

    # Add partitions while the group is consuming.
    nassign = len(lis.assigned)
    res = admin.create_partitions({TOPIC: NewPartitions(4)},
                                  timeout_ms=30000)
    errs = [e for _, e, *_ in res.topic_errors]
    t.ok(errs == [0], "create_partitions to 4 (errors %s)" % errs)
    seen2 = []
    ok = poll_until(cons, seen2,
                    lambda: len(lis.assigned) > nassign and
                    lis.assigned[-1] == [0, 1, 2, 3])
    t.ok(ok, "the group rebalances onto partitions 0-3 (%s)" % lis.assigned)
    t.ok(not seen2, "no message redelivered across the rebalance (%d)"
         % len(seen2))

    deadline = time.time() + WAIT
    parts = set()
    while time.time() < deadline:
        parts = prod.partitions_for(TOPIC) or set()
        if len(parts) == 4:
            break
        time.sleep(0.5)
    t.ok(parts == {0, 1, 2, 3}, "the producer sees 4 partitions (%s)"
         % sorted(parts))
    futs = [prod.send(TOPIC, value=("b-%d" % i).encode(), partition=i % 4)
            for i in range(N2)]
    prod.flush(timeout=30)
    mds = []
    for f in futs:
        try:
            mds.append(f.get(timeout=30))
        except Exception as e:  # noqa: BLE001
            t.diag("send failed: %r" % e)
    t.ok(len(mds) == N2, "%d sends across 4 partitions acknowledged"
         % len(mds))
    want2 = {"b-%d" % i for i in range(N2)}
    t.ok(poll_until(cons, seen2, lambda: want2 <= {v for _, v in seen2}),
         "the consumer gets the messages on the new partitions too")
    t.ok(len(seen2) == N2 and {p for p, _ in seen2} == {0, 1, 2, 3},
         "each exactly once, from all 4 partitions (%d received, from %s)"
         % (len(seen2), sorted({p for p, _ in seen2})))
    cons.commit()
    got = {p: cons.committed(TopicPartition(TOPIC, p)) for p in range(4)}
    t.ok(sum(v or 0 for v in got.values()) == N1 + N2,
         "committed offsets %s add up to %d" % (got, N1 + N2))
    cons.close()
    prod.close()

    res = admin.delete_topics([TOPIC], timeout_ms=30000)
    errs = [e for _, e in res.topic_error_codes]
    t.ok(errs == [0], "delete_topics (errors %s)" % errs)
    t.ok(TOPIC not in admin.list_topics(), "the topic is gone")
    admin.close()


with Broker(extra=["num.partitions=1"]) as b:
    if not t.ok(b.start(), "kbrokerd starts"):
        sys.exit(t.done())
    try:
        main(b)
    except Exception as e:  # noqa: BLE001
        import traceback
        t.ok(False, "no exception: %r" % e)
        t.diag(traceback.format_exc())
    if t.failed:
        t.diag(b.log_tail(40))
    t.ok(b.alive(), "kbrokerd still running after the kafka-python test")
    t.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
sys.exit(t.done())
