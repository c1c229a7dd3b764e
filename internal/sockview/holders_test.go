package sockview

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestLocalHoldersMatch(t *testing.T) {
	ap := netip.MustParseAddrPort
	eps := []Endpoint{
		{Network: "tcp", Host: "db", IPs: []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fd00::5")}, Port: 5432},
		{Network: "unix", Host: "/run/pg", Port: 5432, SocketPath: "/run/pg/.s.PGSQL.5432"},
	}
	tcp := []TCPSocket{
		{Local: ap("10.0.0.9:40000"), Remote: ap("10.0.0.5:5432"), State: TCPEstablished, Inode: 1},
		{Local: ap("[::ffff:10.0.0.9]:40001"), Remote: ap("[::ffff:10.0.0.5]:5432"), State: TCPCloseWait, Inode: 2},
		{Local: ap("[fd00::9]:40002"), Remote: ap("[fd00::5]:5432"), State: TCPEstablished, Inode: 3},
		{Local: ap("10.0.0.9:40003"), Remote: ap("10.0.0.5:6432"), State: TCPEstablished, Inode: 4}, // other port
		{Local: ap("10.0.0.9:40004"), Remote: ap("10.0.0.6:5432"), State: TCPEstablished, Inode: 5}, // other host
		{Local: ap("10.0.0.5:5432"), Remote: ap("0.0.0.0:0"), State: TCPListen, Inode: 6},           // a listener
		{Local: ap("10.0.0.9:40005"), Remote: ap("10.0.0.5:5432"), State: TCPTimeWait, Inode: 0},    // no owner
		{Local: ap("10.0.0.9:40006"), Remote: ap("10.0.0.5:5432"), State: TCPEstablished, Inode: 7}, // not ours
	}
	unixSocks := map[uint64]UnixSocket{
		10: {PeerInode: 11},                                // our client
		11: {Path: "/run/pg/.s.PGSQL.5432", PeerInode: 10}, // the server's accepted socket
		12: {PeerInode: 13},                                // a client of another server
		13: {Path: "/run/other.sock", PeerInode: 12},
		14: {PeerInode: 15}, // a peer in another namespace
		15: {},
		16: {Path: "/run/pg/.s.PGSQL.5432"}, // the listener itself
	}
	procs := []ProcSockets{
		{PID: 100, Cmd: "gunicorn", Inodes: []uint64{1, 2, 4, 5, 6, 10, 12, 14, 16}},
		{PID: 101, Cmd: "worker", Inodes: []uint64{1, 3}},
	}
	want := []Holder{
		{PID: 100, Cmd: "gunicorn", Network: "tcp", Local: "10.0.0.9:40000", Remote: "10.0.0.5:5432", State: "ESTABLISHED", Inode: 1},
		{PID: 100, Cmd: "gunicorn", Network: "tcp", Local: "[::ffff:10.0.0.9]:40001", Remote: "[::ffff:10.0.0.5]:5432", State: "CLOSE_WAIT", Inode: 2},
		{PID: 100, Cmd: "gunicorn", Network: "unix", Remote: "/run/pg/.s.PGSQL.5432", Inode: 10},
		{PID: 101, Cmd: "worker", Network: "tcp", Local: "10.0.0.9:40000", Remote: "10.0.0.5:5432", State: "ESTABLISHED", Inode: 1},
		{PID: 101, Cmd: "worker", Network: "tcp", Local: "[fd00::9]:40002", Remote: "[fd00::5]:5432", State: "ESTABLISHED", Inode: 3},
	}
	if got := localHolders(procs, eps, tcp, unixSocks); !reflect.DeepEqual(got, want) {
		t.Errorf("localHolders =\n%+v\nwant\n%+v", got, want)
	}
}

// TestLocalHoldersSymlinkedSocketDir: a DSN that names the socket directory
// through a symlink still finds the connection, by the socket file.
func TestSocketInodesGone(t *testing.T) {
	if _, err := SocketInodes(1 << 30); err == nil {
		t.Error("SocketInodes of a pid that does not exist: nil error")
	}
}

func TestParseSocketLink(t *testing.T) {
	tests := []struct {
		link  string
		inode uint64
		ok    bool
	}{
		{"socket:[12345]", 12345, true},
		{"socket:[]", 0, false},
		{"socket:[12", 0, false},
		{"pipe:[12]", 0, false},
		{"/dev/null", 0, false},
		{"anon_inode:[eventpoll]", 0, false},
	}
	for _, tc := range tests {
		if inode, ok := parseSocketLink(tc.link); inode != tc.inode || ok != tc.ok {
			t.Errorf("parseSocketLink(%q) = %d, %v; want %d, %v", tc.link, inode, ok, tc.inode, tc.ok)
		}
	}
}
