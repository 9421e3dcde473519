// Package instance is everything the cgo shim does, minus cgo: it turns the
// [OUTPUT] keys into a running agent.Client per Fluent Bit output instance,
// answers flushes, guards against panics, and closes instances on exit.
//
// Panic policy. A panic must never cross into C (it would take Fluent Bit
// down), so every exported function recovers. A panic during a flush answers
// Retry: Fluent Bit keeps the chunk, and a panic caused by a passing state
// (a race, a half-open stream) then costs nothing. A panic that comes back
// for the same chunk is a poison chunk; after PoisonLimit panics on the same
// chunk content the flush answers Error so a `Retry_Limit no_limits` setup
// cannot loop on it forever. The stack of each panic is logged.
package instance
