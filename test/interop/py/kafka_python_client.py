"""kafka-python (Debian python3-kafka) against a broker: admin create/list topics, a producer, and a
consumer in a group that commits, then a second consumer of the group that resumes after the commit.
Prints one JSON line with what it saw. Usage: kafka_python_client.py <bootstrap> <topic>"""
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kp-admin")
admin.create_topics([NewTopic(name=topic, num_partitions=2, replication_factor=1)])
topics = sorted(admin.list_topics())
admin.close()

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type="gzip")
for i in range(10):
    producer.send(topic, key=str(i % 2).encode(), value=("kp-%d " % i + "x" * 200).encode())
producer.flush(10)
producer.close()


def consume(n, deadline_s):
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="kp-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=2000,
    )
    seen = []
    end = time.time() + deadline_s
    while len(seen) < n and time.time() < end:
        for msg in consumer.poll(timeout_ms=500).values():
            seen.extend(m.value.decode().split(" ")[0] for m in msg)
    consumer.commit()
    consumer.close()
    return seen


first = consume(10, 30)
# A second member of the same group starts after the commit: nothing left to read.
second = consume(1, 4)
print(json.dumps({"topics": topics, "first": sorted(first), "second": second}))
