package healthcheck

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/testutil"
)

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	tests := []struct {
		name        string
		address     string
		wantHealthy bool
		wantReason  string
	}{
		{"listening", ln.Addr().String(), true, "connected to " + ln.Addr().String()},
		{"localhost without a resolver", "localhost:" + port, true, "connected to 127.0.0.1:" + port},
		{"refused", testutil.RefusedAddr(t), false, "connection refused"},
		{"no port", "127.0.0.1", false, "want HOST:PORT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TCP(context.Background(), tc.address, 2*time.Second)
			if got.Healthy != tc.wantHealthy || !strings.Contains(got.Reason, tc.wantReason) || strings.Contains(got.Reason, "\n") {
				t.Errorf("TCP(%q) = %+v; want healthy %v, one line with %q", tc.address, got, tc.wantHealthy, tc.wantReason)
			}
		})
	}
}
