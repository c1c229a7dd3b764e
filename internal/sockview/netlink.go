package sockview

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockDiagDump sends each request (a whole netlink message, see
// diagRequest) in turn on one NETLINK_SOCK_DIAG socket and hands the body
// of every SOCK_DIAG_BY_FAMILY message of its dump to each, until the
// dump's NLMSG_DONE. An NLMSG_ERROR ends it with the kernel's errno.
func sockDiagDump(requests [][]byte, each func(body []byte) error) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return os.NewSyscallError("socket(NETLINK_SOCK_DIAG)", err)
	}
	defer func() { _ = unix.Close(fd) }()
	buf := make([]byte, 64*1024)
	for _, req := range requests {
		if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return os.NewSyscallError("sendto(NETLINK_SOCK_DIAG)", err)
		}
		for done := false; !done; {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				return os.NewSyscallError("recvfrom(NETLINK_SOCK_DIAG)", err)
			}
			if done, err = readDiagMessages(buf[:n], each); err != nil {
				return err
			}
		}
	}
	return nil
}

// readDiagMessages hands the bodies of one datagram's messages to each;
// done is true at NLMSG_DONE.
func readDiagMessages(b []byte, each func(body []byte) error) (done bool, err error) {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return false, fmt.Errorf("sock_diag: %w", err)
	}
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.NLMSG_DONE:
			return true, nil
		case unix.NLMSG_ERROR:
			if len(m.Data) >= 4 {
				if errno := int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
					return false, os.NewSyscallError("sock_diag", unix.Errno(-errno))
				}
			}
			return false, errors.New("sock_diag: netlink error")
		case unix.SOCK_DIAG_BY_FAMILY:
			if err := each(m.Data); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// diagRequest is one netlink message asking for a dump: the header, then
// req (a request struct of the kernel's layout).
func diagRequest[T any](req T, seq uint32) []byte {
	size := unix.SizeofNlMsghdr + int(unsafe.Sizeof(req))
	hdr := unix.NlMsghdr{Len: uint32(size), Type: unix.SOCK_DIAG_BY_FAMILY,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP, Seq: seq}
	b := make([]byte, size)
	*(*unix.NlMsghdr)(unsafe.Pointer(&b[0])) = hdr
	*(*T)(unsafe.Pointer(&b[unix.SizeofNlMsghdr])) = req
	return b
}
