// Package msgpackchunk decodes the msgpack chunks Fluent Bit hands to an
// output plugin into events whose body and metadata are JSON.
//
// A chunk is a sequence of records, each a two-element array:
//
//	[[time, metadata], body]   Fluent Bit 2.1 and later
//	[time, body]               older producers and the forward protocol
//
// where time is an EventTime (msgpack ext type 0: 4 bytes seconds and 4 bytes
// nanoseconds, big endian), an unsigned integer of seconds, or a float of
// seconds. Records whose EventTime seconds are 0xFFFFFFFF (group start) or
// 0xFFFFFFFE (group end), or whose integer time is -1 or -2, are group markers
// and are skipped.
//
// The decoder is hand-written: it walks the chunk once, writes JSON straight
// into one growing buffer per Decode call, and allocates nothing per event
// beyond that buffer, so the plugin's hot path stays cheap and the plugin has
// no msgpack dependency.
//
// Mapping to JSON:
//   - str and bin that are valid UTF-8 become JSON strings; those that are not
//     become the standard base64 (RFC 4648, padded) of their bytes, as a
//     JSON string. Fluent Bit hands string values of many inputs as bin.
//   - map keys that are not strings become strings of their JSON text
//     (the integer key 1 becomes "1").
//   - NaN and infinite floats become null (JSON has no spelling for them).
//   - an EventTime inside a body becomes an RFC 3339 string with
//     nanoseconds (UTC); any other ext becomes the base64 of its data.
//   - nesting deeper than MaxDepth is an error rather than a stack risk.
package msgpackchunk
