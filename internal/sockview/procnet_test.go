package sockview

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

func TestParseProcNetTCP(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("these lines are what a little-endian kernel prints")
	}
	ap := netip.MustParseAddrPort
	tests := []struct {
		name  string
		table string
		want  []TCPSocket
	}{
		{"v4 listener and connection", tcpHeader +
			"   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 31337 1 0000000000000000 100 0 0 10 0\n" +
			"   1: 0100007F:D431 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 42 1 0000000000000000 20 4 30 10 -1\n",
			[]TCPSocket{
				{Local: ap("127.0.0.1:5432"), Remote: ap("0.0.0.0:0"), State: TCPListen, UID: 104, Inode: 31337},
				{Local: ap("127.0.0.1:54321"), Remote: ap("127.0.0.1:5432"), State: TCPEstablished, Inode: 42},
			}},
		{"v4 private address, TIME_WAIT without inode", tcpHeader +
			"   7: 0501000A:C350 0101000A:1538 06 00000000:00000000 03:00000F3C 00000000     0        0 0 3 0000000000000000\n",
			[]TCPSocket{{Local: ap("10.0.1.5:50000"), Remote: ap("10.0.1.1:5432"), State: TCPTimeWait}}},
		{"v6 loopback and v4-mapped", tcpHeader +
			"   0: 00000000000000000000000001000000:1538 00000000000000000000000001000000:D431 01 00000000:00000000 00:00000000 00000000  1000        0 99 1 0000000000000000 20 4 0 10 -1\n" +
			"   1: 0000000000000000FFFF00000100007F:D432 0000000000000000FFFF00000100007F:1538 08 00000000:00000000 00:00000000 00000000  1000        0 100 1 0000000000000000 20 4 0 10 -1\n",
			[]TCPSocket{
				{Local: ap("[::1]:5432"), Remote: ap("[::1]:54321"), State: TCPEstablished, UID: 1000, Inode: 99},
				{Local: ap("[::ffff:127.0.0.1]:54322"), Remote: ap("[::ffff:127.0.0.1]:5432"), State: TCPCloseWait, UID: 1000, Inode: 100},
			}},
		{"v6 global address", tcpHeader +
			"   0: B80D0120000000000000000001000000:1538 B80D0120000000000000000002000000:0050 01 00000000:00000000 00:00000000 00000000     0        0 5 1\n",
			[]TCPSocket{{Local: ap("[2001:db8::1]:5432"), Remote: ap("[2001:db8::2]:80"), State: TCPEstablished, Inode: 5}}},
		{"header only", tcpHeader, nil},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProcNetTCP(strings.NewReader(tc.table))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseProcNetTCP = %+v, %v;\nwant %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseProcNetTCPErrors(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"too few fields", "0: 0100007F:1538 00000000:0000 0A", "at least 10 fields"},
		{"odd address", "0: 0100007:1538 00000000:0000 0A 0:0 0:0 0 0 0 1", "8 or 32 hex digits"},
		{"not hex", "0: 0100007G:1538 00000000:0000 0A 0:0 0:0 0 0 0 1", "address"},
		{"families differ", "0: 0100007F:1538 00000000000000000000000001000000:0000 0A 0:0 0:0 0 0 0 1", "families differ"},
		{"state zero", "0: 0100007F:1538 00000000:0000 00 0:0 0:0 0 0 0 1", "state"},
		{"bad inode", "0: 0100007F:1538 00000000:0000 0A 0:0 0:0 0 0 0 x", "inode"},
		{"bad uid", "0: 0100007F:1538 00000000:0000 0A 0:0 0:0 0 -1 0 1", "uid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProcNetTCP(strings.NewReader(tcpHeader + tc.line + "\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line 2") {
				t.Errorf("ParseProcNetTCP(%q) error = %v; want one naming line 2 and %q", tc.line, err, tc.want)
			}
		})
	}
}

// TestParseProcNetTCPRealSockets opens a listener and a client on 127.0.0.1
// and on ::1 and finds all three sockets of each pair in the kernel's
// tables, by the inodes their file descriptors name.
func TestParseProcNetTCPRealSockets(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			host := map[string]string{"tcp4": "127.0.0.1", "tcp6": "[::1]"}[network]
			ln, err := net.Listen(network, host+":0")
			if err != nil {
				t.Skipf("no %s loopback: %v", network, err)
			}
			defer func() { _ = ln.Close() }()
			client, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = client.Close() }()
			server, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = server.Close() }()

			byInode := tcpTableByInode(t)
			want := map[string]TCPSocket{
				"listener": {Local: addrPort(ln.Addr()), Remote: netip.AddrPortFrom(zeroLike(addrPort(ln.Addr()).Addr()), 0), State: TCPListen},
				"client":   {Local: addrPort(client.LocalAddr()), Remote: addrPort(client.RemoteAddr()), State: TCPEstablished},
				"server":   {Local: addrPort(server.LocalAddr()), Remote: addrPort(server.RemoteAddr()), State: TCPEstablished},
			}
			socks := map[string]any{"listener": ln, "client": client, "server": server}
			for name, w := range want {
				w.Inode = inodeOf(t, socks[name])
				w.UID = uint32(os.Geteuid())
				if got := byInode[w.Inode]; got != w {
					t.Errorf("%s: table has %+v; want %+v", name, got, w)
				}
			}
		})
	}
}

func tcpTableByInode(t *testing.T) map[uint64]TCPSocket {
	t.Helper()
	socks, err := readProcNetTCP()
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[uint64]TCPSocket)
	for _, s := range socks {
		m[s.Inode] = s
	}
	return m
}

func addrPort(a net.Addr) netip.AddrPort { return a.(*net.TCPAddr).AddrPort() }

func zeroLike(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// inodeOf reads the inode of a socket's file descriptor from /proc/self/fd.
func inodeOf(t *testing.T, sock any) uint64 {
	t.Helper()
	sc, err := sock.(interface {
		SyscallConn() (syscall.RawConn, error)
	}).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var link string
	_ = sc.Control(func(fd uintptr) {
		link, err = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	})
	if err != nil {
		t.Fatal(err)
	}
	inode, ok := parseSocketLink(link)
	if !ok {
		t.Fatalf("fd link %q is not a socket", link)
	}
	return inode
}

// FuzzParseProcNetTCP: never panics, and every entry it returns prints back
// (as the kernel would) to a line that parses to the same entry.
func FuzzParseProcNetTCP(f *testing.F) {
	f.Add(tcpHeader + "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 31337 1\n")
	f.Fuzz(func(t *testing.T, table string) {
		socks, err := ParseProcNetTCP(strings.NewReader(table))
		if err != nil {
			return
		}
		for _, s := range socks {
			if s.State == 0 || s.Local.Addr().Is4() != s.Remote.Addr().Is4() || s.Local.Addr().Zone() != "" {
				t.Fatalf("entry out of range: %+v", s)
			}
			line := fmt.Sprintf("%4d: %s %s %02X 00000000:00000000 00:00000000 00000000 %5d 0 %d 1\n",
				0, formatHexAddrPort(s.Local), formatHexAddrPort(s.Remote), uint8(s.State), s.UID, s.Inode)
			again, err := ParseProcNetTCP(strings.NewReader(line))
			if err != nil || len(again) != 1 || again[0] != s {
				t.Fatalf("%+v printed as %q parses to %+v, %v", s, line, again, err)
			}
		}
	})
}
