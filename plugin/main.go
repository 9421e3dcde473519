// Command out_ferry is the Ferry output plugin for Fluent Bit, built with
// -buildmode=c-shared into out_ferry.so.
//
// out_ferry.go holds the functions Fluent Bit calls and nothing else; glue.go
// adapts Fluent Bit's types to the pure-Go packages under internal/, where
// all the logic lives and is tested without cgo.
package main

// main is required by -buildmode=c-shared and never runs.
func main() {}
