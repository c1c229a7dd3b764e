package sockview

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// holdInChild starts `sleep 60` holding f (inherited as fd 3) and returns
// its pid; the child is killed and reaped when the test ends.
func holdInChild(t *testing.T, f *os.File) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

// TestClientEnds: the client end of a loopback connection, handed to a
// child and closed here, is found by its address, held by the child
// alone; a socket the caller already knows is not looked up in /proc; an
// address with no socket is absent.
func TestClientEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = server.Close() }()
	inode := inodeOf(t, client)
	f, err := client.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	pid := holdInChild(t, f)
	_ = f.Close()
	_ = client.Close()

	local := addrPort(client.LocalAddr())
	nowhere := netip.AddrPortFrom(local.Addr(), 1)
	serverPort := addrPort(ln.Addr()).Port()
	ends, err := ClientEnds([]netip.AddrPort{local, nowhere}, serverPort, nil)
	if err != nil {
		t.Fatal(err)
	}
	end, ok := ends[local]
	if !ok || end.Socket.Inode != inode || end.Socket.State != TCPEstablished ||
		!slices.Equal(end.Owners, []Owner{{PID: pid, Cmd: "sleep"}}) {
		t.Errorf("ClientEnds[%s] = %+v (found %v); want inode %d held by %d sleep alone", local, end, ok, inode, pid)
	}
	if _, ok := ends[nowhere]; ok {
		t.Errorf("ClientEnds found a socket at %s, where there is none", nowhere)
	}
	known := map[uint64][]Owner{inode: {{PID: 1, Cmd: "tree"}}}
	ends, err = ClientEnds([]netip.AddrPort{local}, serverPort, known)
	if err != nil || !slices.Equal(ends[local].Owners, known[inode]) {
		t.Errorf("ClientEnds with the socket known = %+v, %v; want the known owner", ends[local], err)
	}
}

// TestListenEndpoints: a TCP listener on loopback, one on the wildcard
// address (every local IPv4 address, loopback included) and a unix
// listener are endpoints; a connected socket is not.
func TestListenEndpoints(t *testing.T) {
	lo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lo.Close() }()
	any4, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = any4.Close() }()
	path := filepath.Join(t.TempDir(), ".s.PGSQL.6432")
	ux, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ux.Close() }()
	conn, err := net.Dial("tcp", lo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()

	eps, err := ListenEndpoints([]uint64{inodeOf(t, lo), inodeOf(t, any4), inodeOf(t, ux), inodeOf(t, conn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 3 {
		t.Fatalf("ListenEndpoints = %+v; want 3 endpoints", eps)
	}
	loopback := netip.MustParseAddr("127.0.0.1")
	byPort := map[uint16]Endpoint{}
	for _, ep := range eps {
		byPort[ep.Port] = ep
	}
	if ep := byPort[addrPort(lo.Addr()).Port()]; ep.Network != "tcp" || !slices.Equal(ep.IPs, []netip.Addr{loopback}) {
		t.Errorf("loopback listener: %+v; want tcp on 127.0.0.1", ep)
	}
	if ep := byPort[addrPort(any4.Addr()).Port()]; ep.Network != "tcp" || !slices.Contains(ep.IPs, loopback) ||
		slices.ContainsFunc(ep.IPs, netip.Addr.Is6) {
		t.Errorf("wildcard listener: %+v; want tcp on every local IPv4 address, 127.0.0.1 among them", ep)
	}
	if ep := byPort[0]; ep.Network != "unix" || ep.SocketPath != path {
		t.Errorf("unix listener: %+v; want unix at %s", ep, path)
	}
}

// TestSnapshotHolders: a snapshot taken while a process held a connection
// matches an endpoint learnt after that connection closed.
func TestSnapshotHolders(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	inode := inodeOf(t, client)
	snap, err := TakeSnapshot([]ProcSockets{{PID: 7, Cmd: "worker", Inodes: []uint64{inode}}})
	if err != nil {
		t.Fatal(err)
	}
	_ = client.Close()
	ep := Endpoint{Network: "tcp", IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Port: addrPort(ln.Addr()).Port()}
	got := snap.Holders([]Endpoint{ep})
	if len(got) != 1 || got[0].PID != 7 || got[0].Inode != inode || got[0].State != "ESTABLISHED" {
		t.Errorf("Holders = %+v; want worker 7's established connection", got)
	}
	if got := snap.Holders([]Endpoint{{Network: "tcp", IPs: ep.IPs, Port: 1}}); len(got) != 0 {
		t.Errorf("Holders of another endpoint = %+v; want none", got)
	}
}

func TestIsLocalAddr(t *testing.T) {
	local := LocalAddrs()
	for _, a := range []string{"127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"} {
		if !IsLocalAddr(netip.MustParseAddr(a), local) {
			t.Errorf("IsLocalAddr(%s) = false; want true", a)
		}
	}
	if IsLocalAddr(netip.MustParseAddr("192.0.2.1"), local) { // TEST-NET-1
		t.Error("IsLocalAddr(192.0.2.1) = true; want false")
	}
}
