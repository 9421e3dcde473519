// Package ingest serves the ferry.ingest.v1 protocol: GetConfig, and the one
// long-lived Stream per agent.
//
// A batch's life on a stream: received → checked (sequence, size, in-flight
// limits, JSON bodies) → stamped with the identity from the verified token →
// sealed (compressed, AES-256-GCM) → produced to Kafka → acked. The ack says
// OK only after Kafka acknowledged the record with acks=all; every other
// outcome is RETRY (transient: the agent keeps the chunk) or REJECTED
// (permanent), each with a gRPC code and a reason an operator can act on.
package ingest
