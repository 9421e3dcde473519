// Command out_ferry is the Ferry output plugin for Fluent Bit, built with
// -buildmode=c-shared into out_ferry.so.
package main

func main() {}
