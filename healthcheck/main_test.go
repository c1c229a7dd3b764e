package healthcheck

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helpers are the programs the test binary plays, named by
// LASTCALL_TEST_HELPER.
var helpers = map[string]func() int{
	"hold-db": holdDBHelper,
}

func TestMain(m *testing.M) {
	if h, ok := helpers[os.Getenv("LASTCALL_TEST_HELPER")]; ok {
		os.Exit(h())
	}
	goleak.VerifyTestMain(m)
}
