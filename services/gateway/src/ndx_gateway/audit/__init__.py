"""The audit log: one record per gateway decision, hash-chained, written to Kafka before the
caller gets an answer."""
