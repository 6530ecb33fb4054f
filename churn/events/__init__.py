"""Customer events: a Kafka topic of plan changes, bills, support contacts, usage summaries and
contract ends that update the customer's online features and re-score them (docs/events.md).

A layer beside the service and the steps (docs/ARCHITECTURE.md): it may import the feature
store, the control plane and the core; only the CLI imports it. confluent-kafka and
prometheus_client are imported by the modules that talk to the broker and count.
"""
