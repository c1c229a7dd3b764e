package healthcheck

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// inetDiagReqV2 is struct inet_diag_req_v2 of linux/inet_diag.h, which x/sys
// does not have; the socket id is zero: dump them all.
type inetDiagReqV2 struct {
	Family   uint8
	Protocol uint8
	Ext      uint8
	_        uint8
	States   uint32
	ID       [48]byte // struct inet_diag_sockid
}

// sizeofInetDiagMsg is struct inet_diag_msg: family, state, timer, retrans,
// the socket id (sport, dport, src[16], dst[16], if, cookie[2]), expires,
// rqueue, wqueue, uid, inode.
const sizeofInetDiagMsg = 72

// tcpSocketsByDiag dumps the TCP sockets (v4 and v6, every state but
// LISTEN) of lastcall's network namespace through NETLINK_SOCK_DIAG, as
// ss does. It is the fast way: reading /proc/net/tcp walks the kernel's
// whole connection hash table, milliseconds on a large machine, for every
// sample of the drain check.
func tcpSocketsByDiag() ([]TCPSocket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, os.NewSyscallError("socket(NETLINK_SOCK_DIAG)", err)
	}
	defer func() { _ = unix.Close(fd) }()
	var out []TCPSocket
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if err := unix.Sendto(fd, inetDiagRequest(family), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return nil, os.NewSyscallError("sendto(NETLINK_SOCK_DIAG)", err)
		}
		if out, err = readInetDiagDump(fd, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func inetDiagRequest(family uint8) []byte {
	req := inetDiagReqV2{Family: family, Protocol: unix.IPPROTO_TCP, States: 0xfff &^ (1 << uint(TCPListen))}
	size := unix.SizeofNlMsghdr + int(unsafe.Sizeof(req))
	hdr := unix.NlMsghdr{Len: uint32(size), Type: unix.SOCK_DIAG_BY_FAMILY,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP, Seq: uint32(family)}
	b := make([]byte, size)
	*(*unix.NlMsghdr)(unsafe.Pointer(&b[0])) = hdr
	*(*inetDiagReqV2)(unsafe.Pointer(&b[unix.SizeofNlMsghdr])) = req
	return b
}

// readInetDiagDump reads one dump to its NLMSG_DONE and appends its sockets.
func readInetDiagDump(fd int, out []TCPSocket) ([]TCPSocket, error) {
	buf := make([]byte, 64*1024)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, os.NewSyscallError("recvfrom(NETLINK_SOCK_DIAG)", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("sock_diag: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				return nil, fmt.Errorf("sock_diag: netlink error for TCP")
			case unix.SOCK_DIAG_BY_FAMILY:
				if s, ok := parseInetDiagMsg(m.Data); ok {
					out = append(out, s)
				}
			}
		}
	}
}

// parseInetDiagMsg reads struct inet_diag_msg: ports are big-endian, an
// IPv4 address is the first 4 bytes of its 16.
func parseInetDiagMsg(b []byte) (TCPSocket, bool) {
	if len(b) < sizeofInetDiagMsg {
		return TCPSocket{}, false
	}
	addr := func(raw []byte) netip.Addr {
		if b[0] == unix.AF_INET {
			return netip.AddrFrom4([4]byte(raw[:4]))
		}
		return netip.AddrFrom16([16]byte(raw[:16]))
	}
	return TCPSocket{
		Local:  netip.AddrPortFrom(addr(b[8:24]), binary.BigEndian.Uint16(b[4:6])),
		Remote: netip.AddrPortFrom(addr(b[24:40]), binary.BigEndian.Uint16(b[6:8])),
		State:  TCPState(b[1]),
		UID:    binary.NativeEndian.Uint32(b[64:68]),
		Inode:  uint64(binary.NativeEndian.Uint32(b[68:72])),
	}, true
}
