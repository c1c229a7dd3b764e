package sockview

import (
	"encoding/binary"
	"net/netip"

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
	return tcpSocketsByDiagIn(0xfff &^ (1 << uint(TCPListen)))
}

// tcpSocketsByDiagIn dumps the TCP sockets whose state is in states (a
// bit per TCPState).
func tcpSocketsByDiagIn(states uint32) ([]TCPSocket, error) {
	var out []TCPSocket
	requests := [][]byte{inetDiagRequest(unix.AF_INET, states), inetDiagRequest(unix.AF_INET6, states)}
	err := sockDiagDump(requests, func(body []byte) error {
		if s, ok := parseInetDiagMsg(body); ok {
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func inetDiagRequest(family uint8, states uint32) []byte {
	req := inetDiagReqV2{Family: family, Protocol: unix.IPPROTO_TCP, States: states}
	return diagRequest(req, uint32(family))
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
