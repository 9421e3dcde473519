// Package config turns the keys of a Fluent Bit [OUTPUT] section into a
// validated Config.
//
// Keys are read through Getter, a one-method interface, so that the cgo shim
// can answer from Fluent Bit (output.FLBPluginConfigKey) while tests answer
// from a map. Fluent Bit itself matches keys without case; MapGetter does the
// same so tests behave like the real host.
//
// Errors name the key and what it accepts, and never contain a secret.
package config
