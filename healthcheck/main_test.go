package healthcheck

import (
	"net"
	"os"
	"sync"
	"testing"
	"time"

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

// silentPeer listens on loopback, accepts every connection and never says a
// word: what a frozen server looks like once TCP is connected. It closes
// everything when the test ends.
func silentPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// refusedAddr is a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// within fails t when a probe that should end by its timeout took more than
// twice as long.
func within(t *testing.T, start time.Time, timeout time.Duration) {
	t.Helper()
	if took := time.Since(start); took > 2*timeout {
		t.Errorf("probe took %s, more than twice its timeout %s", took, timeout)
	}
}
