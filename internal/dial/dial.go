package dial

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
)

// IsTimeout reports whether err is a deadline that ran out: the context's,
// a socket's, or a dialer's.
func IsTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout())
}

// DialContext opens a stream connection like net.Dialer.DialContext, except
// that the host name "localhost" is always the loopback address (127.0.0.1,
// then ::1) without asking a resolver: a FROM scratch image has no
// /etc/hosts, and Go's resolver then sends "localhost" to a DNS server that
// is not there.
func DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	host, port, err := net.SplitHostPort(address)
	if err != nil || !strings.EqualFold(host, "localhost") || !strings.HasPrefix(network, "tcp") {
		return d.DialContext(ctx, network, address)
	}
	conn, err := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", port))
	if err == nil || ctx.Err() != nil || network == "tcp4" {
		return conn, err
	}
	conn6, err6 := d.DialContext(ctx, "tcp6", net.JoinHostPort("::1", port))
	if err6 != nil {
		return nil, err // the IPv4 error is the one users expect
	}
	return conn6, nil
}
