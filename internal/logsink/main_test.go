package logsink

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv names the helper that the test binary plays when it is started
// as a subprocess (see sigpipe_test.go).
const helperEnv = "LOGSINK_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(sigpipeHelper(mode))
	}
	goleak.VerifyTestMain(m)
}
