package healthcheck

import (
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
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

// refusedAddr is a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// within fails t when a probe that should end by its timeout took more than
// twice as long.
func within(t *testing.T, start time.Time, timeout time.Duration) {
	t.Helper()
	if took := time.Since(start); took > 2*timeout {
		t.Errorf("probe took %s, more than twice its timeout %s", took, timeout)
	}
}
