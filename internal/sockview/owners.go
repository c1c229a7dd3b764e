package sockview

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Owner is a process that has a socket open.
type Owner struct {
	PID int
	Cmd string // the command name of /proc/PID/comm
}

// ClientEnd is the TCP socket of lastcall's network namespace whose own
// address is a connection's client address, and the processes that hold
// it. A socket no file refers to any more (its owner closed it: TIME_WAIT,
// FIN_WAIT2) has an Inode of 0 and no owners.
type ClientEnd struct {
	Socket TCPSocket
	Owners []Owner
}

// ClientEnds finds, for each of addrs, the TCP socket of lastcall's network
// namespace (not a listener) whose local address and port it is, and the
// processes holding that socket, by the inodes of /proc/PID/fd. Addresses
// with no such socket are absent from the map. When several sockets share
// a local address (one ephemeral port, several servers), the one whose
// remote port is serverPort wins. known are sockets whose owners the caller
// has already (lastcall's tree): /proc is scanned only for the others.
func ClientEnds(addrs []netip.AddrPort, serverPort uint16, known map[uint64][]Owner) (map[netip.AddrPort]ClientEnd, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	socks, err := readTCPTables()
	if err != nil {
		return nil, err
	}
	out := make(map[netip.AddrPort]ClientEnd)
	for _, s := range socks {
		local := netip.AddrPortFrom(s.Local.Addr().Unmap(), s.Local.Port())
		if s.State == TCPListen || !slices.Contains(addrs, local) {
			continue
		}
		if prev, ok := out[local]; ok && prev.Socket.Remote.Port() == serverPort {
			continue
		}
		out[local] = ClientEnd{Socket: s}
	}
	var unknown []uint64
	var uids []uint32
	for ap, end := range out {
		if owners, ok := known[end.Socket.Inode]; ok {
			end.Owners = owners
			out[ap] = end
		} else if end.Socket.Inode != 0 {
			unknown = append(unknown, end.Socket.Inode)
			uids = append(uids, end.Socket.UID)
		}
	}
	if len(unknown) == 0 {
		return out, nil
	}
	// The processes of the sockets' owners first (/proc/PID belongs to the
	// process's user), then, for sockets still without one (a process
	// that changed user after connecting), every process.
	owners, err := Owners(unknown, uids)
	if err != nil {
		return nil, err
	}
	if len(owners) < len(slices.Compact(slices.Sorted(slices.Values(unknown)))) {
		if owners, err = Owners(unknown, nil); err != nil {
			return nil, err
		}
	}
	for ap, end := range out {
		if end.Owners == nil {
			end.Owners = owners[end.Socket.Inode]
			out[ap] = end
		}
	}
	return out, nil
}

// Owners scans /proc/*/fd once and lists, for each of inodes, the processes
// that hold that socket (several, when it was inherited across fork), in
// ascending pid order. With uids, only the processes of those users are
// looked into (the owner of /proc/PID); nil: every process. Processes whose
// fds lastcall may not read, or that end while it reads, are skipped: an
// inode may then have no owner.
func Owners(inodes []uint64, uids []uint32) (map[uint64][]Owner, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := make(map[uint64][]Owner)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 || (uids != nil && !ownedBy(e, uids)) {
			continue
		}
		held, err := SocketInodes(pid)
		if err != nil {
			continue
		}
		var cmd string
		for _, inode := range inodes {
			if _, ok := slices.BinarySearch(held, inode); !ok {
				continue
			}
			if cmd == "" {
				cmd = comm(pid)
			}
			out[inode] = append(out[inode], Owner{PID: pid, Cmd: cmd})
		}
	}
	for _, owners := range out {
		slices.SortFunc(owners, func(a, b Owner) int { return a.PID - b.PID })
	}
	return out, nil
}

// ownedBy reports whether the /proc/PID entry belongs to one of uids.
func ownedBy(e os.DirEntry, uids []uint32) bool {
	info, err := e.Info()
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && slices.Contains(uids, st.Uid)
}

// comm is the command name of pid, "" when it is gone.
func comm(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// ListenEndpoints are the endpoints a client connects to in order to reach
// the listening sockets among inodes (a process's, see [SocketInodes]):
// each TCP listener (one on a wildcard address stands for every local
// address of its family, see [LocalAddrs]) and each bound unix socket
// without a peer.
func ListenEndpoints(inodes []uint64) ([]Endpoint, error) {
	listeners, err := tcpListeners()
	if err != nil {
		return nil, err
	}
	var eps []Endpoint
	for _, s := range listeners {
		if !slices.Contains(inodes, s.Inode) {
			continue
		}
		ep := Endpoint{Network: "tcp", Host: s.Local.Addr().String(), Port: s.Local.Port()}
		addr := s.Local.Addr().Unmap()
		switch {
		case addr.IsUnspecified():
			for _, a := range LocalAddrs() {
				if a.Is4() || addr.Is6() {
					ep.IPs = append(ep.IPs, a)
				}
			}
		default:
			ep.IPs = []netip.Addr{addr}
		}
		eps = append(eps, ep)
	}
	unixSocks, err := UnixSockets()
	if err != nil {
		return nil, err
	}
	for _, inode := range inodes {
		if s, ok := unixSocks[inode]; ok && s.Path != "" && s.PeerInode == 0 {
			eps = append(eps, Endpoint{Network: "unix", Host: s.Path, SocketPath: s.Path})
		}
	}
	return eps, nil
}

// LocalAddrs are the addresses of this host's interfaces in lastcall's
// network namespace (loopback included), without zones.
func LocalAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap().WithZone(""))
		}
	}
	return out
}

// IsLocalAddr reports whether a is a loopback address or one of
// [LocalAddrs].
func IsLocalAddr(a netip.Addr, local []netip.Addr) bool {
	a = a.Unmap().WithZone("")
	return a.IsLoopback() || slices.Contains(local, a)
}
