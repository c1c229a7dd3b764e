package sockview

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

// TCPState is a TCP socket's state as the kernel numbers it in /proc/net/tcp.
type TCPState uint8

// The TCP states of include/net/tcp_states.h.
const (
	TCPEstablished TCPState = 0x01
	TCPSynSent     TCPState = 0x02
	TCPSynRecv     TCPState = 0x03
	TCPFinWait1    TCPState = 0x04
	TCPFinWait2    TCPState = 0x05
	TCPTimeWait    TCPState = 0x06
	TCPClose       TCPState = 0x07
	TCPCloseWait   TCPState = 0x08
	TCPLastAck     TCPState = 0x09
	TCPListen      TCPState = 0x0A
	TCPClosing     TCPState = 0x0B
	TCPNewSynRecv  TCPState = 0x0C
)

var tcpStateNames = [...]string{"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"}

func (s TCPState) String() string {
	if int(s) < len(tcpStateNames) && s != 0 {
		return tcpStateNames[s]
	}
	return fmt.Sprintf("STATE_%02X", uint8(s))
}

// TCPSocket is one line of /proc/net/tcp or /proc/net/tcp6.
type TCPSocket struct {
	Local, Remote netip.AddrPort
	State         TCPState
	UID           uint32
	// Inode identifies the socket (a /proc/PID/fd link reads socket:[Inode]);
	// 0 for sockets no file refers to any more (TIME_WAIT).
	Inode uint64
}

// ParseProcNetTCP reads the table of /proc/net/tcp or /proc/net/tcp6: the
// header line, then one socket a line. Addresses are the kernel's hex dump
// of the address in network byte order, read as 32-bit words in host byte
// order (127.0.0.1 is 0100007F on a little-endian machine); ports are plain
// hex. An IPv6 table holds v4-mapped addresses as they are (::ffff:a.b.c.d).
func ParseProcNetTCP(r io.Reader) ([]TCPSocket, error) {
	sc := bufio.NewScanner(r)
	var out []TCPSocket
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 && strings.HasPrefix(strings.TrimSpace(line), "sl") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		s, err := parseTCPLine(line)
		if err != nil {
			return out, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// parseTCPLine reads "sl local remote st tx:rx tr:when retrnsmt uid timeout
// inode ...".
func parseTCPLine(line string) (TCPSocket, error) {
	f := strings.Fields(line)
	if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
		return TCPSocket{}, fmt.Errorf("want at least 10 fields starting with \"N:\", got %q", line)
	}
	var s TCPSocket
	var err error
	if s.Local, err = parseHexAddrPort(f[1]); err != nil {
		return TCPSocket{}, fmt.Errorf("local address: %w", err)
	}
	if s.Remote, err = parseHexAddrPort(f[2]); err != nil {
		return TCPSocket{}, fmt.Errorf("remote address: %w", err)
	}
	if s.Local.Addr().Is4() != s.Remote.Addr().Is4() {
		return TCPSocket{}, fmt.Errorf("local and remote address families differ: %q", line)
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil || st == 0 {
		return TCPSocket{}, fmt.Errorf("state %q: want a hex number 01-FF", f[3])
	}
	s.State = TCPState(st)
	uid, err := strconv.ParseUint(f[7], 10, 32)
	if err != nil {
		return TCPSocket{}, fmt.Errorf("uid %q: %w", f[7], err)
	}
	s.UID = uint32(uid)
	if s.Inode, err = strconv.ParseUint(f[9], 10, 64); err != nil {
		return TCPSocket{}, fmt.Errorf("inode %q: %w", f[9], err)
	}
	return s, nil
}

// parseHexAddrPort reads ADDR:PORT with ADDR 8 (IPv4) or 32 (IPv6) hex
// digits and PORT 4.
func parseHexAddrPort(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(p) != 4 || (len(a) != 8 && len(a) != 32) {
		return netip.AddrPort{}, fmt.Errorf("%q: want 8 or 32 hex digits, a colon, 4 hex digits", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", p, err)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", a, err)
	}
	var b [16]byte
	for i := 0; i < len(raw); i += 4 { // each word was printed as a host-order number
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr := netip.AddrFrom16(b)
	if len(raw) == 4 {
		addr = netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// formatHexAddrPort is the inverse of parseHexAddrPort, as the kernel
// prints it.
func formatHexAddrPort(ap netip.AddrPort) string {
	raw := ap.Addr().AsSlice()
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(raw[i:]))
	}
	fmt.Fprintf(&b, ":%04X", ap.Port())
	return b.String()
}

// readTCPTables lists the TCP sockets of lastcall's own network namespace:
// through sock_diag, or else from /proc/net/tcp and /proc/net/tcp6.
func readTCPTables() ([]TCPSocket, error) {
	if socks, err := tcpSocketsByDiag(); err == nil {
		return socks, nil
	}
	return readProcNetTCP()
}

// tcpListeners lists the TCP listeners of lastcall's own network namespace:
// through sock_diag, or else from /proc/net/tcp and /proc/net/tcp6.
func tcpListeners() ([]TCPSocket, error) {
	if socks, err := tcpSocketsByDiagIn(1 << uint(TCPListen)); err == nil {
		return socks, nil
	}
	socks, err := readProcNetTCP()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(socks, func(s TCPSocket) bool { return s.State != TCPListen }), nil
}

// readProcNetTCP reads /proc/net/tcp and /proc/net/tcp6, for kernels
// without inet sock_diag. A missing table (no IPv6 in the kernel) is empty.
func readProcNetTCP() ([]TCPSocket, error) {
	var all []TCPSocket
	for _, path := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		socks, err := ParseProcNetTCP(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		all = append(all, socks...)
	}
	return all, nil
}
