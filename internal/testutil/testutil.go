package testutil

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// RefusedAddr is a loopback address where nothing listens.
func RefusedAddr(t *testing.T) string {
	t.Helper()
	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// Within fails t when a probe that should end by its timeout took far
// longer: twice as long plus 5s, room for a loaded machine, still far
// short of the peers that would hold it forever.
func Within(t *testing.T, start time.Time, timeout time.Duration) {
	t.Helper()
	if took := time.Since(start); took > 2*timeout+5*time.Second {
		t.Errorf("probe took %s, far more than its timeout %s", took, timeout)
	}
}

// TCPProxy listens on loopback and hands each connection to handle, in its
// own goroutine; n counts connections from 1. Everything is closed and every
// goroutine ended when the test ends.
func TCPProxy(t *testing.T, handle func(n int, c net.Conn)) string {
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

// ForwardTo returns a handler that copies bytes both ways between the
// client and target, until either side closes.
func ForwardTo(target string) func(int, net.Conn) {
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

// SyncBuffer is a bytes.Buffer that a process may write while a test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// CopyFile copies the file src (symbolic links followed) to dst, with its
// permissions, making dst's directories; an existing dst is overwritten.
func CopyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	fi, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
