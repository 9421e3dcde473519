//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package dedup

import "os"

// lockFile only creates the file where flock is not available: running two
// routers on one directory there is the operator's mistake to avoid.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
}
