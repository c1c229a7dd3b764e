package healthcheck

import (
	"io"
	"net"
	"sync"
	"testing"
)

// tcpProxy listens on loopback and hands each connection to handle, in its
// own goroutine; n counts connections from 1. Everything is closed and every
// goroutine ended when the test ends.
func tcpProxy(t *testing.T, handle func(n int, c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		conns = append(conns, c)
	}
	wg.Go(func() {
		for n := 1; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			wg.Go(func() { handle(n, c) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// forwardTo returns a handler that copies bytes both ways between the
// client and target, until either side closes.
func forwardTo(target string) func(int, net.Conn) {
	return func(_ int, c net.Conn) {
		defer func() { _ = c.Close() }()
		up, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer func() { _ = up.Close() }()
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(up, c)
			_ = up.Close()
			close(done)
		}()
		_, _ = io.Copy(c, up)
		_ = c.Close()
		<-done
	}
}
