// Package hosttest is the plugin's contract test at the C boundary: it
// builds out_ferry.so and the C test host (../testhost.c), runs the host
// against an ingester double on 127.0.0.1, and checks Fluent Bit's return
// codes and what reached the ingester. It lives apart from testhost.c
// because Go refuses a package directory with C files and no cgo.
package hosttest
