"""The local stack: Kafka, PostgreSQL and a dev PKI on one machine, without Docker."""
