package sockview

import "net/netip"

// Endpoint is one server a DSN connects to.
type Endpoint struct {
	// Network is "tcp" or "unix".
	Network string
	// Host is the host as the DSN names it: a name, an IP literal, a socket
	// directory (or @abstract name), or "" when only hostaddr names it.
	Host string
	// IPs are the addresses of a TCP endpoint: hostaddr when the DSN gives
	// it, the literal, 127.0.0.1 and ::1 for localhost, or what the resolver
	// answered. Empty when the lookup failed.
	IPs []netip.Addr
	// Port is the TCP port, or the number in the unix socket's name.
	Port uint16
	// SocketPath is dir/.s.PGSQL.<port> for a unix endpoint, "" for TCP.
	SocketPath string
}
