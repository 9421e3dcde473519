// Package cluster runs Ferry's real binaries as processes for end-to-end,
// contract and fault tests: it builds them, writes secrets and config into
// a test folder, starts the ingester and routers on loopback ports against
// a real Kafka broker, and stops them with the signal a test asks for.
package cluster
