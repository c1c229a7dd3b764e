package sockview

import (
	"net/netip"
	"os"
	"slices"
	"syscall"
)

// ProcSockets is one process and the inodes of the sockets it holds, as the
// caller collected them (see [SocketInodes]).
type ProcSockets struct {
	PID    int
	Cmd    string
	Inodes []uint64
}

// Holder is a process that holds a connection to a database endpoint.
type Holder struct {
	PID int
	Cmd string
	// Network is "tcp" or "unix".
	Network string
	// Local is the socket's own address (host:port), "" for an unbound unix
	// socket; Remote the endpoint's address, or its socket path.
	Local, Remote string
	// State is the TCP state (ESTABLISHED, CLOSE_WAIT, ...), "" for unix.
	State string
	Inode uint64
}

// LocalHolders finds the sockets of procs that are connected to one of eps:
// TCP (v4 and v6) sockets in any state but LISTEN whose remote address and
// port are an endpoint's, and unix sockets whose peer is bound to an
// endpoint's socket path (or to the same file, when the path is spelled
// differently). It reads /proc/net/tcp, /proc/net/tcp6 and sock_diag of
// lastcall's own network namespace: a process of the tree in another one is
// not seen. A socket held by several processes (inherited across fork) is
// one Holder per process.
func LocalHolders(procs []ProcSockets, eps []Endpoint) ([]Holder, error) {
	var tcp []TCPSocket
	var unixSocks map[uint64]UnixSocket
	var err error
	if slices.ContainsFunc(eps, func(ep Endpoint) bool { return ep.Network == "tcp" }) {
		if tcp, err = readTCPTables(); err != nil {
			return nil, err
		}
	}
	if slices.ContainsFunc(eps, func(ep Endpoint) bool { return ep.Network == "unix" }) {
		if unixSocks, err = UnixSockets(); err != nil {
			return nil, err
		}
	}
	return localHolders(procs, eps, tcp, unixSocks), nil
}

// localHolders matches the processes' inodes against the socket tables.
func localHolders(procs []ProcSockets, eps []Endpoint, tcp []TCPSocket, unixSocks map[uint64]UnixSocket) []Holder {
	byInode := make(map[uint64]Holder)
	for _, s := range tcp {
		if s.Inode != 0 && s.State != TCPListen && tcpEndpoint(eps, s.Remote) {
			byInode[s.Inode] = Holder{Network: "tcp", Local: s.Local.String(), Remote: s.Remote.String(),
				State: s.State.String(), Inode: s.Inode}
		}
	}
	files := socketFiles(eps)
	for inode, s := range unixSocks {
		if s.PeerInode == 0 {
			continue
		}
		if path, ok := unixEndpoint(eps, files, unixSocks[s.PeerInode]); ok {
			byInode[inode] = Holder{Network: "unix", Local: s.Path, Remote: path, Inode: inode}
		}
	}
	var out []Holder
	for _, p := range procs {
		for _, inode := range p.Inodes {
			if h, ok := byInode[inode]; ok {
				h.PID, h.Cmd = p.PID, p.Cmd
				out = append(out, h)
			}
		}
	}
	return out
}

// tcpEndpoint reports whether remote is one of the TCP endpoints (a
// v4-mapped address counts as its IPv4 address).
func tcpEndpoint(eps []Endpoint, remote netip.AddrPort) bool {
	addr := remote.Addr().Unmap()
	for _, ep := range eps {
		if ep.Network == "tcp" && ep.Port == remote.Port() && slices.Contains(ep.IPs, addr) {
			return true
		}
	}
	return false
}

// fileID is a file's device and inode.
type fileID struct{ dev, ino uint64 }

// socketFiles stats the endpoints' socket paths: a peer whose file is one
// of these is connected to the endpoint even when a symlink or bind mount
// spells its path differently. Paths that do not exist (or are abstract) are
// left out.
func socketFiles(eps []Endpoint) map[fileID]string {
	files := make(map[fileID]string)
	for _, ep := range eps {
		if ep.Network != "unix" {
			continue
		}
		if fi, err := os.Stat(ep.SocketPath); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				files[fileID{st.Dev, st.Ino}] = ep.SocketPath
			}
		}
	}
	return files
}

// unixEndpoint reports which endpoint socket peer is bound to.
func unixEndpoint(eps []Endpoint, files map[fileID]string, peer UnixSocket) (string, bool) {
	for _, ep := range eps {
		if ep.Network == "unix" && peer.Path != "" && peer.Path == ep.SocketPath {
			return ep.SocketPath, true
		}
	}
	if peer.Ino == 0 {
		return "", false
	}
	path, ok := files[fileID{peer.Dev, peer.Ino}]
	return path, ok
}

// Snapshot is what the kernel said, at one moment, of the sockets of some
// processes: enough to match them later against endpoints learnt since
// (a pooler's listeners, found once the processes are gone).
type Snapshot struct {
	procs []ProcSockets
	tcp   []TCPSocket           // the processes' TCP sockets
	unix  map[uint64]UnixSocket // the processes' unix sockets and their peers
}

// TakeSnapshot reads the TCP and unix socket tables of lastcall's network
// namespace and keeps what concerns procs. No processes: no reading.
func TakeSnapshot(procs []ProcSockets) (Snapshot, error) {
	snap := Snapshot{procs: procs}
	if len(procs) == 0 {
		return snap, nil
	}
	var held []uint64
	for _, p := range procs {
		held = append(held, p.Inodes...)
	}
	tcp, err := readTCPTables()
	if err != nil {
		return Snapshot{}, err
	}
	for _, s := range tcp {
		if slices.Contains(held, s.Inode) {
			snap.tcp = append(snap.tcp, s)
		}
	}
	unixSocks, err := UnixSockets()
	if err != nil {
		return Snapshot{}, err
	}
	snap.unix = make(map[uint64]UnixSocket)
	for _, inode := range held {
		if s, ok := unixSocks[inode]; ok {
			snap.unix[inode] = s
			if peer, ok := unixSocks[s.PeerInode]; ok {
				snap.unix[s.PeerInode] = peer
			}
		}
	}
	return snap, nil
}

// Holders matches the snapshot against eps, as [LocalHolders] does.
func (s Snapshot) Holders(eps []Endpoint) []Holder {
	return localHolders(s.procs, eps, s.tcp, s.unix)
}
