package e2e

import (
	"os"
	"testing"

	"github.com/ferrylog/ferry/e2e/cluster"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.RemoveBuilds()
	os.Exit(code)
}
