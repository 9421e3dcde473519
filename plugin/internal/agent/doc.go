// Package agent is the plugin's client of the ingester: one gRPC connection,
// one long-lived bidirectional stream, and Flush, which turns a Fluent Bit
// chunk into batch frames and answers only when the ingester acknowledged
// them.
//
// Shape:
//
//   - A background loop (connect.go) keeps a session: GetConfig, open Stream,
//     send Hello, wait for the first AgentConfig frame. It reconnects with
//     exponential backoff and jitter when the stream breaks, and hands over to
//     a new stream before closing the old one when the ingester asks
//     (Control RECONNECT), or when the token file changed (TOKEN_EXPIRING
//     or a rotated Access_Token_File).
//   - A session (session.go) owns one stream: a single sender goroutine that
//     numbers batches (sequence 1, 2, ...) and sends them, and a receiver
//     goroutine that hands each Ack to the flush waiting for that sequence.
//     Batches in flight are bounded by a semaphore sized from the effective
//     max_batches_in_flight.
//   - Flush (flush.go) is safe for concurrent use: Fluent Bit's workers call
//     it in parallel.
//
// What a flush answers:
//
//   - OK: every batch of the chunk was acknowledged OK (stored in Kafka).
//   - Retry: any batch answered RETRY, no ack within Ack_Timeout, the stream
//     broke, the plugin is not connected yet (or is closing), or the ingester
//     asked to slow down. Fluent Bit keeps the chunk and tries again; the
//     batch ids stay the same, so destinations can drop duplicates.
//   - Error: the chunk can never be delivered: a batch was REJECTED, the chunk
//     is not valid msgpack, or the ingester denied the access key
//     (PermissionDenied: revoked key or a token of another key). One log line
//     says what to fix. An expired or invalid token (Unauthenticated) answers
//     Retry instead: a new token in Access_Token_File fixes it without losing
//     the data buffered meanwhile.
package agent
