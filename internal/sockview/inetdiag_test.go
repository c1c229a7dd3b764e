package sockview

import (
	"net"
	"testing"
)

// sock_diag and /proc/net/tcp{,6} agree on real loopback connections, v4
// and v6: the same inode, state and addresses.
func TestTCPSocketsByDiag(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			ln, err := net.Listen(network, map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network])
			if err != nil {
				t.Skipf("no %s loopback: %v", network, err)
			}
			defer ln.Close()
			c, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			viaProc, err := readProcNetTCP()
			if err != nil {
				t.Fatal(err)
			}
			viaDiag, err := tcpSocketsByDiag()
			if err != nil {
				t.Fatal(err)
			}
			local := c.LocalAddr().(*net.TCPAddr).AddrPort()
			find := func(socks []TCPSocket) (TCPSocket, bool) {
				for _, s := range socks {
					if s.Local.Port() == local.Port() && s.Remote.Port() == ln.Addr().(*net.TCPAddr).AddrPort().Port() {
						return s, true
					}
				}
				return TCPSocket{}, false
			}
			p, okP := find(viaProc)
			d, okD := find(viaDiag)
			if !okP || !okD || p != d || d.State != TCPEstablished || d.Inode == 0 {
				t.Errorf("/proc: %+v (%v); sock_diag: %+v (%v); want the same established socket", p, okP, d, okD)
			}
		})
	}
}
