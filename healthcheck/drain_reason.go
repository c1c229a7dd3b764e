package healthcheck

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// holdersReason names the processes of holders: "descendant 123 worker held
// 2 connections " + when.
func holdersReason(holders []sockview.Holder, when string) string {
	var names []string
	var inodes []uint64
	for _, h := range holders {
		name := fmt.Sprintf("%d %s", h.PID, h.Cmd)
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		if !slices.Contains(inodes, h.Inode) {
			inodes = append(inodes, h.Inode)
		}
	}
	who := "descendant " + names[0]
	if len(names) > 1 {
		who = "descendants " + strings.Join(firstOf(names, 3), ", ")
	}
	return fmt.Sprintf("%s held %s %s", who, plural(len(inodes), "connection"), when)
}

// describeSessions names up to three sessions.
func describeSessions(sessions []pgconn.Session) string {
	var parts []string
	for _, s := range sessions {
		switch {
		case s.Hidden:
			parts = append(parts, fmt.Sprintf("backend %d (details hidden: another role)", s.BackendPID))
		case s.ClientPort < 0 || s.ClientAddr == "":
			parts = append(parts, fmt.Sprintf("backend %d (%s, unix socket)", s.BackendPID, s.State))
		default:
			parts = append(parts, fmt.Sprintf("backend %d (%s, from %s:%d)", s.BackendPID, s.State, s.ClientAddr, s.ClientPort))
		}
	}
	return strings.Join(firstOf(parts, 3), ", ")
}

// showing is ", and still shows N sessions tagged T", or "".
func showing(left []pgconn.Session, tag string) string {
	if len(left) == 0 {
		return ""
	}
	return fmt.Sprintf(", and still shows %s tagged %s", plural(len(left), "session"), tag)
}

// firstOf is the first n items, then "and K more".
func firstOf(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(slices.Clone(items[:n]), fmt.Sprintf("and %d more", len(items)-n))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// errText describes err (already scrubbed of passwords) briefly.
func errText(err error, timeout time.Duration) string {
	if err == nil {
		return "no answer"
	}
	return describe(err, timeout)
}

// sinceLastAnswer is how long before the last failed look the server last
// answered.
func (f drainFacts) sinceLastAnswer() time.Duration {
	if f.w.final == nil || f.w.finalOK == nil {
		return 0
	}
	return f.w.final.at.Sub(f.w.finalOK.at)
}

// butPooled is " but N held outside lastcall's tree", or "".
func butPooled(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" but %s held outside lastcall's tree", plural(n, "session"))
}

// pooledClause names the pooled sessions and the rule that decided each
// (up to three), or "".
func pooledClause(pooled []Pooled) string {
	if len(pooled) == 0 {
		return ""
	}
	parts := make([]string, len(pooled))
	for i, p := range pooled {
		parts[i] = fmt.Sprintf("backend %d (%s): %s", p.Session.BackendPID, p.Session.State, p.Rule)
	}
	return fmt.Sprintf("; pooled, not the app's: %s", strings.Join(firstOf(parts, 3), "; "))
}

// rolledBackClause names the rolled-back transactions' backends, and says
// how many ended transactions the server could not tell about.
func rolledBackClause(rolled []RolledBack, unknown int) string {
	var out string
	if len(rolled) > 0 {
		parts := make([]string, len(rolled))
		for i, r := range rolled {
			parts[i] = fmt.Sprintf("backend %d (%s)", r.Session.BackendPID, r.Session.State)
		}
		out = fmt.Sprintf("; the server rolled back %s of the app's: %s",
			plural(len(rolled), "transaction"), strings.Join(firstOf(parts, 3), ", "))
	}
	if unknown > 0 {
		out += fmt.Sprintf("; %s ended with the app in a transaction that had written, whose outcome the server could not tell",
			plural(unknown, "session"))
	}
	return out
}
