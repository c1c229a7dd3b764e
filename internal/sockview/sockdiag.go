package sockview

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// UnixSocket is what the kernel's sock_diag says of one unix socket.
type UnixSocket struct {
	// Path is the address the socket is bound to: a file system path, or
	// "@name" in the abstract namespace; "" for an unbound socket (a
	// client). A server's accepted socket carries its listener's path.
	Path string
	// PeerInode is the inode of the socket at the other end of a connected
	// socket, 0 when there is none.
	PeerInode uint64
	// Dev and Ino identify the socket file on disk (bound and accepted
	// sockets only; zero otherwise), Dev in the encoding of stat(2)'s st_dev.
	Dev, Ino uint64
}

// unixDiagReq is struct unix_diag_req of linux/unix_diag.h, which x/sys
// does not have.
type unixDiagReq struct {
	Family   uint8
	Protocol uint8
	_        uint16
	States   uint32
	Ino      uint32
	Show     uint32
	Cookie   [2]uint32
}

// linux/unix_diag.h.
const (
	udiagShowName = 0x01
	udiagShowVFS  = 0x02
	udiagShowPeer = 0x04

	unixDiagName = 0
	unixDiagVFS  = 1
	unixDiagPeer = 2

	sizeofUnixDiagMsg = 16 // family, type, state, pad, ino, cookie[2]
	allStates         = 0xffffffff
)

// UnixSockets asks the kernel (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY for
// AF_UNIX) for every unix socket of lastcall's network namespace, with its
// bound path, its peer and its file, keyed by inode. It needs no privilege.
func UnixSockets() (map[uint64]UnixSocket, error) {
	out := make(map[uint64]UnixSocket)
	req := unixDiagReq{Family: unix.AF_UNIX, States: allStates, Show: udiagShowName | udiagShowVFS | udiagShowPeer}
	err := sockDiagDump([][]byte{diagRequest(req, 1)}, func(body []byte) error {
		inode, s, err := parseUnixDiagMsg(body)
		if err == nil {
			out[inode] = s
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseUnixDiagMsg reads struct unix_diag_msg and its attributes.
func parseUnixDiagMsg(b []byte) (uint64, UnixSocket, error) {
	if len(b) < sizeofUnixDiagMsg {
		return 0, UnixSocket{}, fmt.Errorf("sock_diag: short unix_diag_msg (%d bytes)", len(b))
	}
	inode := uint64(binary.NativeEndian.Uint32(b[4:8]))
	var s UnixSocket
	attrs := b[sizeofUnixDiagMsg:]
	for len(attrs) >= unix.SizeofNlAttr {
		l := int(binary.NativeEndian.Uint16(attrs[0:2]))
		typ := binary.NativeEndian.Uint16(attrs[2:4]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if l < unix.SizeofNlAttr || l > len(attrs) {
			return 0, UnixSocket{}, fmt.Errorf("sock_diag: bad attribute length %d", l)
		}
		v := attrs[unix.SizeofNlAttr:l]
		switch {
		case typ == unixDiagName:
			s.Path = socketName(v)
		case typ == unixDiagPeer && len(v) >= 4:
			s.PeerInode = uint64(binary.NativeEndian.Uint32(v))
		case typ == unixDiagVFS && len(v) >= 8:
			s.Ino = uint64(binary.NativeEndian.Uint32(v[0:4]))
			s.Dev = userDev(binary.NativeEndian.Uint32(v[4:8]))
		}
		attrs = attrs[min(nlaAlign(l), len(attrs)):]
	}
	return inode, s, nil
}

func nlaAlign(n int) int { return (n + unix.NLA_ALIGNTO - 1) &^ (unix.NLA_ALIGNTO - 1) }

// socketName is a sun_path as text: a leading NUL (the abstract namespace)
// becomes "@", trailing NULs go.
func socketName(v []byte) string {
	if len(v) > 0 && v[0] == 0 {
		return "@" + string(v[1:])
	}
	return strings.TrimRight(string(v), "\x00")
}

// userDev turns the kernel's internal dev_t (major<<20 | minor), which
// UNIX_DIAG_VFS reports, into stat(2)'s encoding.
func userDev(kdev uint32) uint64 {
	return unix.Mkdev(kdev>>20, kdev&(1<<20-1))
}
