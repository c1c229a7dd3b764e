package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// TestDecide covers the verdict rules without a database.
func TestDecide(t *testing.T) {
	idle := pgconn.Session{BackendPID: 7, State: "idle", ClientAddr: "10.0.0.9", ClientPort: 40000}
	inTx := pgconn.Session{BackendPID: 8, State: "idle in transaction", ClientAddr: "10.0.0.9", ClientPort: 40001}
	holder := sockview.Holder{PID: 42, Cmd: "worker", Network: "tcp", Inode: 1}
	direct := &pgconn.SelfCheckResult{Direct: true, Reason: "as it is here"}
	proxy := &pgconn.SelfCheckResult{Reason: "NAT or a proxy in between"}
	clean := drainSample{serverOK: true}
	left := drainSample{at: time.Now(), serverOK: true, sessions: []pgconn.Session{idle}}
	down := drainSample{serverErr: errors.New("read tcp: i/o timeout")}
	refused := fmt.Errorf("dial tcp 10.0.0.5:5432: connect: %w", syscall.ECONNREFUSED)
	tests := []struct {
		name    string
		f       drainFacts
		verdict Verdict
		reason  string
	}{
		{"clean, both views", drainFacts{local: true, server: true, tag: "T",
			w: watchState{answered: true, check: direct, final: &clean, finalOK: &clean}},
			Drained, "no session tagged T left on the server, and no process"},
		{"holder at exit", drainFacts{local: true, server: true, tag: "T", exit: exitRecord{holders: []sockview.Holder{holder, holder}},
			w: watchState{answered: true, check: direct, final: &clean, finalOK: &clean}},
			Leaked, "descendant 42 worker held 1 connection after the app exited (killed by lastcall)"},
		{"holder, database down", drainFacts{local: true, server: true, tag: "T", exit: exitRecord{holders: []sockview.Holder{holder}},
			w: watchState{lastErr: refused}},
			Leaked, "descendant 42 worker"},
		{"session left, decisive", drainFacts{local: true, server: true, tag: "T",
			w: watchState{answered: true, check: direct, final: &left, finalOK: &left}},
			Leaked, "1 session tagged T still open after the tree was down: backend 7 (idle, from 10.0.0.9:40000)"},
		{"session left, advisory, local decides", drainFacts{local: true, server: true, tag: "T", advisory: true,
			whyAdvisory: proxy.Reason, w: watchState{answered: true, check: proxy, final: &left, finalOK: &left}},
			Drained, "advisory (NAT or a proxy in between), and still shows 1 session tagged T"},
		{"session left, advisory, no local view", drainFacts{server: true, tag: "T", advisory: true,
			whyAdvisory: "the tag T is the user's", w: watchState{answered: true, final: &left, finalOK: &left}},
			Inconclusive, "no local view to decide"},
		{"never reached", drainFacts{local: true, server: true, tag: "T", timeout: time.Second, w: watchState{lastErr: refused}},
			Inconclusive, "database not reached: connection refused"},
		{"stopped answering", drainFacts{local: true, server: true, tag: "T",
			w: watchState{answered: true, check: direct, final: &down, finalOK: &left, lastErr: down.serverErr}},
			Inconclusive, "stopped answering: read tcp: i/o timeout; 1 session tagged T at its last answer"},
		{"deadline before the tree was down", drainFacts{local: true, server: true, tag: "T", timeout: time.Second, late: true,
			w: watchState{answered: true, check: direct}},
			Inconclusive, "the check's 1s deadline (counted from the stop's start) passed before the tree was down"},
		{"cancelled", drainFacts{local: true, server: true, tag: "T", ctxErr: context.Canceled},
			Inconclusive, "cancelled"},
		{"local only, clean", drainFacts{local: true}, Drained, "no process of lastcall's tree"},
		{"local only, unresolved host", drainFacts{local: true, epsErr: errors.New("resolve db.internal: no such host")},
			Inconclusive, "local view incomplete: resolve db.internal"},
		{"rolled back", drainFacts{local: true, server: true, tag: "T",
			w: watchState{answered: true, check: direct, final: &clean, finalOK: &clean, ended: []endedTx{
				{RolledBack: RolledBack{Session: inTx}, status: pgconn.XactAborted},
				{RolledBack: RolledBack{Session: idle}, status: pgconn.XactCommitted}}}},
			Drained, "left on the server, and no process of lastcall's tree held a connection after the app exited; " +
				"the server rolled back 1 transaction of the app's: backend 8 (idle in transaction)"},
		{"outcome unknown", drainFacts{local: true, server: true, tag: "T",
			w: watchState{answered: true, check: direct, final: &clean, finalOK: &clean, pending: 1,
				ended: []endedTx{{RolledBack: RolledBack{Session: inTx}}}}},
			Drained, "; 2 sessions ended with the app in a transaction that had written, whose outcome the server could not tell"},
		{"pooled by a process outside the tree", drainFacts{local: true, server: true, tag: "T",
			w: watchState{answered: true, check: direct, final: &left, finalOK: &left,
				ends: map[sessionKey]clientEnd{keyOf(idle): {kind: endOutside, owners: []sockview.Owner{{PID: 99, Cmd: "pgbouncer"}}}}}},
			Drained, "no session tagged T left on the server but 1 session held outside lastcall's tree, and no process of " +
				"lastcall's tree held a connection after the app exited; pooled, not the app's: backend 7 (idle): " +
				"its client end 10.0.0.9:40000 is held by 99 pgbouncer, outside lastcall's tree"},
		{"remote, idle long enough", drainFacts{local: true, server: true, tag: "T",
			w: watchState{answered: true, check: direct, final: &left, finalOK: &left,
				ends:      map[sessionKey]clientEnd{keyOf(idle): {kind: endRemote}},
				idleSince: map[sessionKey]time.Time{keyOf(idle): left.at.Add(-idleSettle)}}},
			Drained, "backend 7 (idle): idle for 250ms after the tree was down, from 10.0.0.9:40000 (not an address of this host)"},
		{"remote, idle too briefly", drainFacts{local: true, server: true, tag: "T",
			w: watchState{answered: true, check: direct, final: &left, finalOK: &left,
				ends:      map[sessionKey]clientEnd{keyOf(idle): {kind: endRemote}},
				idleSince: map[sessionKey]time.Time{keyOf(idle): left.at.Add(-idleSettle / 2)}}},
			Leaked, "1 session tagged T still open after the tree was down"},
	}
	for _, tc := range tests {
		r := decide(tc.f)
		if r.Verdict != tc.verdict || !strings.Contains(r.Reason, tc.reason) || strings.Contains(r.Reason, "\n") {
			t.Errorf("%s: %s: %q; want %s with %q", tc.name, r.Verdict, r.Reason, tc.verdict, tc.reason)
		}
	}
}

func TestDecideCounts(t *testing.T) {
	inTx := pgconn.Session{BackendPID: 8, State: "idle in transaction (aborted)"}
	left := drainSample{serverOK: true, sessions: []pgconn.Session{{BackendPID: 9, State: "idle"}}}
	tests := []struct {
		name string
		f    drainFacts
		want DrainCounts
	}{
		{"local only", drainFacts{local: true, exit: exitRecord{holders: []sockview.Holder{{PID: 1}}}},
			DrainCounts{Seen: -1, RolledBack: -1, Pooled: -1, Holders: 1, Left: -1}},
		{"server only", drainFacts{server: true, w: watchState{seen: 2, answered: true, final: &left, finalOK: &left,
			ended: []endedTx{{RolledBack: RolledBack{Session: inTx}, status: pgconn.XactAborted}}}},
			DrainCounts{Seen: 2, RolledBack: 1, Pooled: 0, Holders: -1, Left: 1}},
		{"server only, pooled", drainFacts{server: true, w: watchState{seen: 2, answered: true, final: &left, finalOK: &left,
			ends: map[sessionKey]clientEnd{keyOf(left.sessions[0]): {kind: endOutside, owners: []sockview.Owner{{PID: 5, Cmd: "pgcat"}}}}}},
			DrainCounts{Seen: 2, RolledBack: 0, Pooled: 1, Holders: -1, Left: 0}},
		{"first answer after the exit, a rollback proven", drainFacts{server: true, w: watchState{seen: -1, answered: true,
			final: &left, finalOK: &left, ended: []endedTx{{RolledBack: RolledBack{Session: inTx}, status: pgconn.XactAborted}}}},
			DrainCounts{Seen: -1, RolledBack: 1, Pooled: 0, Holders: -1, Left: 1}},
		{"server never answered", drainFacts{server: true, local: true, w: watchState{seen: -1}},
			DrainCounts{Seen: -1, RolledBack: -1, Pooled: -1, Holders: 0, Left: -1}},
	}
	for _, tc := range tests {
		if got := decide(tc.f).Counts; got != tc.want {
			t.Errorf("%s: counts %+v; want %+v", tc.name, got, tc.want)
		}
	}
}

func TestHoldersReason(t *testing.T) {
	var many []sockview.Holder
	for i := range 5 {
		many = append(many, sockview.Holder{PID: 100 + i, Cmd: "w", Inode: uint64(i)})
	}
	tests := []struct {
		holders []sockview.Holder
		want    string
	}{
		{[]sockview.Holder{{PID: 1, Cmd: "a", Inode: 5}, {PID: 1, Cmd: "a", Inode: 6}}, "descendant 1 a held 2 connections X"},
		{[]sockview.Holder{{PID: 1, Cmd: "a", Inode: 5}, {PID: 2, Cmd: "b", Inode: 5}}, "descendants 1 a, 2 b held 1 connection X"},
		{many, "descendants 100 w, 101 w, 102 w, and 2 more held 5 connections X"},
	}
	for _, tc := range tests {
		if got := holdersReason(tc.holders, "X"); got != tc.want {
			t.Errorf("holdersReason(%+v) = %q; want %q", tc.holders, got, tc.want)
		}
	}
}

func TestNewDrainErrors(t *testing.T) {
	const password = "s3cret-pass"
	tests := []struct {
		name string
		cfg  DrainConfig
		want string
	}{
		{"mode", DrainConfig{Mode: "off", Timeout: time.Second}, `mode "off"`},
		{"timeout", DrainConfig{Mode: CheckLocal, DSN: "host=/tmp"}, "timeout"},
		{"no tag", DrainConfig{Mode: CheckServer, DSN: "host=/tmp", Timeout: time.Second}, "tag"},
		{"bad URL", DrainConfig{Mode: CheckBoth, Tag: "t", Timeout: time.Second,
			DSN: fmt.Sprintf("postgres://app:%s@db:port/app", password)}, "database URL"},
	}
	for _, tc := range tests {
		_, err := NewDrain(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), password) {
			t.Errorf("%s: NewDrain: %v; want an error about %q, without the password", tc.name, err, tc.want)
		}
	}
}

func TestNewDrainPQGODebug(t *testing.T) {
	t.Setenv("PQGO_DEBUG", "1")
	_, err := NewDrain(DrainConfig{Mode: CheckBoth, Tag: "t", DSN: "host=/tmp", Timeout: time.Second})
	if !errors.Is(err, pgconn.ErrPQGODebug) {
		t.Errorf("NewDrain with PQGO_DEBUG=1: %v; want pgconn.ErrPQGODebug", err)
	}
}
