package healthcheck

import (
	"context"
	"net"
	"time"

	"github.com/lastcall-dev/lastcall/internal/dial"
)

// TCP probes address (HOST:PORT): healthy when a TCP connection opens within
// timeout (or before ctx ends). The connection is closed at once.
func TCP(ctx context.Context, address string, timeout time.Duration) Result {
	if _, _, err := net.SplitHostPort(address); err != nil {
		return unhealthy(err, "connect %s: want HOST:PORT (%v)", address, err)
	}
	ctx, cancel := context.WithDeadline(ctx, deadlineFor(ctx, timeout))
	defer cancel()
	conn, err := dial.DialContext(ctx, "tcp", address)
	if err != nil {
		return unhealthy(err, "connect %s: %s", address, describe(err, timeout))
	}
	remote := conn.RemoteAddr().String()
	_ = conn.Close()
	return healthy("connect %s: connected to %s", address, remote)
}
