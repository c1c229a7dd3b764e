package pgconn

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Session is one row of pg_stat_activity.
type Session struct {
	BackendPID      int
	ApplicationName string
	// ClientAddr is the client's IP address, "" for a unix socket or when
	// hidden. ClientPort is its port, -1 for a unix socket, 0 when hidden.
	ClientAddr string
	ClientPort int
	// State is active, idle, idle in transaction, ...; "" when hidden.
	State string
	// BackendStart is when the session began, XactStart when its current
	// transaction did (zero when none, or hidden).
	BackendStart, XactStart time.Time
	// BackendXID is the top-level transaction id of the session's current
	// transaction (pg_stat_activity.backend_xid), 0 when it has none: a
	// read-only transaction, or none at all, or hidden.
	BackendXID uint32
	// Query is the session's current or last statement, only when the
	// Monitor's Query is set (and not hidden).
	Query string
	// Hidden is true when the monitor's role may not see the session's
	// details (another role's session, without pg_read_all_stats): only the
	// pid and application_name are known.
	Hidden bool
}

// sessionsQuery lists the client sessions tagged $1, without the monitor's
// own. backend_type is NULL (like every client field) in rows the viewer
// may not see in full, so it may not filter those out. With $2 (the
// self-check passed and local ports were given) a visible session must come
// from one of the ports in $3; a hidden one, whose port is NULL, stays.
const sessionsQuery = `SELECT pid, application_name, host(client_addr), client_port, state,
	backend_start, xact_start, backend_type IS NULL, CASE WHEN $4 THEN query END, backend_xid::text
FROM pg_catalog.pg_stat_activity
WHERE application_name = $1 AND pid <> pg_catalog.pg_backend_pid()
	AND (backend_type = 'client backend' OR backend_type IS NULL)
	AND (NOT $2 OR client_port IS NULL OR client_port = ANY($3::int[]))
ORDER BY backend_start, pid`

// maxAppName is how many bytes of application_name the server keeps
// (NAMEDATALEN-1).
const maxAppName = 63

// Sessions lists the client sessions whose application_name is tag (cut to
// the 63 bytes the server keeps), without the monitor's own. When
// localPorts are given and [Monitor.SelfCheck] found no NAT or proxy in
// between, only sessions from those client ports are listed, and hidden
// ones (whose port the monitor may not see).
func (m *Monitor) Sessions(ctx context.Context, tag string, localPorts []uint16) ([]Session, error) {
	filter := m.direct && len(localPorts) > 0
	rows, err := m.query(ctx, sessionsQuery, 10, cutAppName(tag), filter, intArray(localPorts), m.Query)
	if err != nil {
		return nil, fmt.Errorf("list sessions on %s: %w", m.target, err)
	}
	out := make([]Session, 0, len(rows))
	for _, r := range rows {
		out = append(out, Session{BackendPID: int(asInt(r[0])), ApplicationName: asString(r[1]),
			ClientAddr: asString(r[2]), ClientPort: int(asInt(r[3])), State: asString(r[4]),
			BackendStart: asTime(r[5]), XactStart: asTime(r[6]), Hidden: r[7] == true, Query: asString(r[8]),
			BackendXID: uint32(asInt(r[9]))})
	}
	return out, nil
}

// SelfCheckResult says whether the server sees the monitor's connection as
// coming from the address and port it has locally.
type SelfCheckResult struct {
	// Direct is true when the client address and port the server shows for
	// the monitor's own backend are the monitor socket's, and the server's
	// address and port are the ones it dialed: no NAT or proxy in between,
	// so local ports can be matched with client_port.
	Direct bool
	// Reason says why not, or what matched, in one line.
	Reason string
}

// selfQuery is what the server sees of the monitor's own connection.
const selfQuery = `SELECT host(client_addr), client_port, host(pg_catalog.inet_server_addr()), pg_catalog.inet_server_port()
FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid()`

// SelfCheck compares the monitor socket's local and remote address with
// what pg_stat_activity and inet_server_addr() show for the monitor's own
// backend. Until it returns Direct, [Monitor.Sessions] does not filter by
// port, and the server view should be taken as advisory.
func (m *Monitor) SelfCheck(ctx context.Context) (SelfCheckResult, error) {
	local, remote, ok := m.localAddr()
	if !ok {
		return SelfCheckResult{}, fmt.Errorf("self-check on %s: no open connection", m.target)
	}
	rows, err := m.query(ctx, selfQuery, 4)
	if err != nil {
		return SelfCheckResult{}, fmt.Errorf("self-check on %s: %w", m.target, err)
	}
	if len(rows) != 1 {
		return SelfCheckResult{}, fmt.Errorf("self-check on %s: pg_stat_activity has %d rows for our own backend", m.target, len(rows))
	}
	seenClient := rowAddrPort(rows[0][0], rows[0][1])
	seenServer := rowAddrPort(rows[0][2], rows[0][3])
	res := compareSelf(local, remote, seenClient, seenServer)
	m.direct = res.Direct
	return res, nil
}

// compareSelf decides the self-check from the socket's addresses and what
// the server saw ("" when it saw no IP address: a unix socket).
func compareSelf(local, remote net.Addr, seenClient, seenServer string) SelfCheckResult {
	l, lok := tcpAddrPort(local)
	r, rok := tcpAddrPort(remote)
	switch {
	case !lok || !rok:
		return SelfCheckResult{Reason: "connected over a unix socket: no client ports to compare"}
	case seenClient != l:
		return SelfCheckResult{Reason: fmt.Sprintf("the server sees our connection from %s, but it is %s here: NAT or a proxy in between", orNone(seenClient), l)}
	case seenServer != r:
		return SelfCheckResult{Reason: fmt.Sprintf("we dialed %s, but the server answers on %s: a proxy or pooler in between", r, orNone(seenServer))}
	}
	return SelfCheckResult{Direct: true, Reason: fmt.Sprintf("the server sees our connection as %s, as it is here", l)}
}

func tcpAddrPort(a net.Addr) (string, bool) {
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return "", false
	}
	ap := t.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port()).String(), true
}

// rowAddrPort joins a host() text and a port from a row, "" when NULL.
func rowAddrPort(host, port driver.Value) string {
	h := asString(host)
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return ""
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(asInt(port))).String()
}

func orNone(s string) string {
	if s == "" {
		return "nowhere (no client address)"
	}
	return s
}

// cutAppName cuts s to the bytes of application_name the server keeps,
// without splitting a UTF-8 sequence.
func cutAppName(s string) string {
	if len(s) <= maxAppName {
		return s
	}
	n := maxAppName
	for n > 0 && s[n]&0xC0 == 0x80 { // s[n] continues a sequence
		n--
	}
	return s[:n]
}

// intArray is a PostgreSQL array literal of ports: {1,2,3}.
func intArray(ports []uint16) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = strconv.Itoa(int(p))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func asString(v driver.Value) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return ""
}

func asInt(v driver.Value) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case string, []byte:
		i, _ := strconv.ParseInt(asString(n), 10, 64)
		return i
	}
	return 0
}

func asTime(v driver.Value) time.Time {
	t, _ := v.(time.Time)
	return t
}
