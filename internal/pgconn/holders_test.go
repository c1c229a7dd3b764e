package pgconn

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

func TestLocalHoldersSymlinkedSocketDir(t *testing.T) {
	c := pgtest.Start(t)
	link := filepath.Join(t.TempDir(), "pg")
	if err := os.Symlink(c.SocketDir, link); err != nil {
		t.Fatal(err)
	}
	dsn := "host=" + link + " port=" + strconv.Itoa(c.Port) + " user=" + c.User + " dbname=" + c.Database + " sslmode=disable"
	assertHeld(t, dsn, "unix", filepath.Join(link, ".s.PGSQL."+strconv.Itoa(c.Port)))
}

// TestLocalHoldersRealConnections opens a lib/pq connection over TCP and
// over the unix socket, finds it among this process's sockets, closes it
// and finds nothing.
func TestLocalHoldersRealConnections(t *testing.T) {
	c := pgtest.Start(t)
	tests := []struct {
		name, dsn, network, remote string
	}{
		{"tcp", c.AppURL(), "tcp", "127.0.0.1:" + strconv.Itoa(c.Port)},
		{"unix", c.SocketDSN(c.User, c.Database), "unix", filepath.Join(c.SocketDir, ".s.PGSQL."+strconv.Itoa(c.Port))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertHeld(t, tc.dsn, tc.network, tc.remote) })
	}
}

// assertHeld connects with dsn, expects exactly one holder (this process)
// of network to remote, then closes the connection and expects none.
func assertHeld(t *testing.T, dsn, network, remote string) {
	t.Helper()
	eps, err := Endpoints(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	got := ownHolders(t, eps)
	if len(got) != 1 || got[0].Network != network || got[0].Remote != remote || got[0].PID != os.Getpid() || got[0].Cmd != "test" {
		t.Errorf("holders with an open connection = %+v; want this process, %s to %s", got, network, remote)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := ownHolders(t, eps); len(got) != 0 {
		t.Errorf("holders after Close = %+v; want none", got)
	}
}

func ownHolders(t *testing.T, eps []sockview.Endpoint) []sockview.Holder {
	t.Helper()
	inodes, err := sockview.SocketInodes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	holders, err := sockview.LocalHolders([]sockview.ProcSockets{{PID: os.Getpid(), Cmd: "test", Inodes: inodes}}, eps)
	if err != nil {
		t.Fatal(err)
	}
	return holders
}
