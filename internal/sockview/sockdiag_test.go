package sockview

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnixSockets: a listener, a client and the accepted socket, as
// sock_diag reports them: the client has no path, its peer is the accepted
// socket, which carries the listener's path and file.
func TestUnixSockets(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".s.PGSQL.5432")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = server.Close() }()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)

	socks, err := UnixSockets()
	if err != nil {
		t.Fatal(err)
	}
	lnInode, clientInode, serverInode := inodeOf(t, ln), inodeOf(t, client), inodeOf(t, server)
	file := UnixSocket{Path: path, Dev: st.Dev, Ino: st.Ino}
	want := map[string]struct {
		inode uint64
		sock  UnixSocket
	}{
		"listener": {lnInode, file},
		"client":   {clientInode, UnixSocket{PeerInode: serverInode}},
		"server":   {serverInode, UnixSocket{Path: path, PeerInode: clientInode, Dev: st.Dev, Ino: st.Ino}},
	}
	for name, w := range want {
		if got, ok := socks[w.inode]; !ok || got != w.sock {
			t.Errorf("%s (inode %d): sock_diag says %+v (found %v); want %+v", name, w.inode, got, ok, w.sock)
		}
	}
}

func TestUnixSocketsAbstract(t *testing.T) {
	name := "@lastcall-test-" + filepath.Base(t.TempDir())
	ln, err := net.Listen("unix", name)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	socks, err := UnixSockets()
	if err != nil {
		t.Fatal(err)
	}
	if got := socks[inodeOf(t, ln)]; got.Path != name {
		t.Errorf("abstract listener: sock_diag says %+v; want path %q", got, name)
	}
}

func TestParseUnixDiagMsgErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
	}{
		{"short message", make([]byte, 8)},
		{"attribute longer than the message", append(make([]byte, sizeofUnixDiagMsg), 0xff, 0, 0, 0)},
		{"attribute shorter than its header", append(make([]byte, sizeofUnixDiagMsg), 2, 0, 0, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := parseUnixDiagMsg(tc.msg); err == nil {
				t.Errorf("parseUnixDiagMsg(%x) = nil error; want one", tc.msg)
			}
		})
	}
}

// FuzzParseUnixDiagMsg: never panics; a parsed socket's path never ends in
// NUL bytes unless it is abstract.
func FuzzParseUnixDiagMsg(f *testing.F) {
	f.Add(make([]byte, sizeofUnixDiagMsg))
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, s, err := parseUnixDiagMsg(msg)
		if err == nil && len(s.Path) > 0 && s.Path[0] != '@' && s.Path[len(s.Path)-1] == 0 {
			t.Fatalf("path %q keeps a trailing NUL", s.Path)
		}
	})
}

// TestParseUnixDiagMsgAttributes: name, file and peer attributes, one with
// a flag bit in its type.
func TestParseUnixDiagMsgAttributes(t *testing.T) {
	attr := func(typ uint16, v []byte) []byte {
		l := 4 + len(v)
		b := binary.NativeEndian.AppendUint16(nil, uint16(l))
		b = binary.NativeEndian.AppendUint16(b, typ)
		return append(append(b, v...), make([]byte, nlaAlign(l)-l)...)
	}
	msg := make([]byte, sizeofUnixDiagMsg)
	binary.NativeEndian.PutUint32(msg[4:], 101)
	msg = append(msg, attr(unixDiagName, []byte("/tmp/pg/.s.PGSQL.5432\x00"))...)
	msg = append(msg, attr(unixDiagVFS, binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, 777), 8<<20|3))...)
	msg = append(msg, attr(unixDiagPeer|unix.NLA_F_NESTED, binary.NativeEndian.AppendUint32(nil, 100))...)
	inode, s, err := parseUnixDiagMsg(msg)
	want := UnixSocket{Path: "/tmp/pg/.s.PGSQL.5432", PeerInode: 100, Dev: unix.Mkdev(8, 3), Ino: 777}
	if err != nil || inode != 101 || s != want {
		t.Errorf("parseUnixDiagMsg = %d, %+v, %v; want 101, %+v", inode, s, err, want)
	}
}
