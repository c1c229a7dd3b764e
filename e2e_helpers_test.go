package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// childOf finds the process named comm whose parent is ppid, from /proc.
func childOf(t *testing.T, ppid int, comm string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		open := strings.IndexByte(s, '(')
		if err != nil || i < 0 || open < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:]) // state ppid ...
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) && s[open+1:i] == comm {
			return pid
		}
	}
	t.Fatalf("no process %q with parent %d", comm, ppid)
	return 0
}

// waitForTaggedSessions waits until the server shows at least n sessions
// tagged by lastcall (not its monitor).
func waitForTaggedSessions(t *testing.T, c *pgtest.Cluster, n int) {
	t.Helper()
	q := "select count(*) from pg_stat_activity where application_name like 'lastcall-%' and application_name <> 'lastcall-monitor'"
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, _ := exec.CommandContext(ctx, "psql", c.AppURL(), "-Atc", q).Output()
		cancel()
		got = strings.TrimSpace(string(out))
		if k, err := strconv.Atoi(got); err == nil && k >= n {
			return
		}
	}
	t.Fatalf("the server never showed %d sessions tagged by lastcall (last count %q)", n, got)
}

// parseJSONLines keeps the lines of raw that are JSON objects.
func parseJSONLines(raw string) []map[string]any {
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(raw))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// linesWith are the log lines whose msg is msg.
func linesWith(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// freeLoopbackPort is a TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// syncBuffer is a bytes.Buffer that a process may write while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
