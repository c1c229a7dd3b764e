package healthcheck

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// idleSettle is how long a session must stay idle after the tree is down
// before the idle rule calls it held by something outside lastcall's tree:
// the server ends an idle session within milliseconds of its client
// closing its end (it is waiting to read), so one still there this long
// after the last process of the tree died is someone else's.
const idleSettle = 250 * time.Millisecond

// Pooled is one of our sessions still open after the tree was down that a
// process outside lastcall's tree holds: a pooler (PgBouncer, pgcat,
// odyssey, pgpool) or a proxy keeps its server connection, which carries
// the app's tag. It is not the app's leak.
type Pooled struct {
	// Session is the session as the server's last answer showed it.
	Session pgconn.Session
	// Holders are the processes holding its client end, when lastcall can
	// see them (a client address of this host); empty when the idle rule
	// decided.
	Holders []sockview.Owner
	// Rule says what decided, in one phrase.
	Rule string
}

// endKind is what lastcall knows of the client end of a session.
type endKind int

const (
	endUnseen  endKind = iota // not looked for: hidden, or the lookup failed
	endRemote                 // a client address that is not this host's
	endUnix                   // a unix socket
	endTree                   // a process of lastcall's tree holds it
	endOutside                // a process outside lastcall's tree holds it
	endNoOwner                // no socket, or no process lastcall may look into holds it
)

// clientEnd is what lastcall found of a session's client end.
type clientEnd struct {
	kind   endKind
	owners []sockview.Owner // endOutside: the processes outside the tree
}

// endFinder finds who holds the client ends of our sessions. It belongs to
// the watcher's goroutine; ends is copied out when it changes.
type endFinder struct {
	local     []netip.Addr // this host's addresses
	port      uint16       // the server's TCP port, to pick among sockets sharing a local port
	ends      map[sessionKey]clientEnd
	poolers   []sockview.Owner
	poolerEps []sockview.Endpoint // where the poolers listen
	changed   bool
	err       error // the latest lookup error
}

func newEndFinder(eps []sockview.Endpoint) *endFinder {
	f := &endFinder{local: sockview.LocalAddrs(), ends: make(map[sessionKey]clientEnd)}
	for _, ep := range eps {
		if ep.Network == "tcp" {
			f.port = ep.Port
			break
		}
	}
	return f
}

// lookup classifies the sessions not classified yet. tree is lastcall's
// tree, with socket inodes.
func (f *endFinder) lookup(sessions []pgconn.Session, tree []sockview.ProcSockets) {
	addrs := make(map[sessionKey]netip.AddrPort)
	for _, s := range sessions {
		k := keyOf(s)
		if _, ok := f.ends[k]; ok {
			continue
		}
		kind, ap := f.kindOf(s)
		if kind != endUnseen || !ap.IsValid() {
			f.ends[k], f.changed = clientEnd{kind: kind}, true
			continue
		}
		addrs[k] = ap
	}
	if len(addrs) == 0 {
		return
	}
	known, inTree := treeOwners(tree)
	found, err := sockview.ClientEnds(mapValues(addrs), f.port, known)
	if f.err = err; err != nil {
		return // unseen: tried again at the next sample
	}
	for k, ap := range addrs {
		if end := f.classify(found[ap], known, inTree); end.kind != endUnseen {
			f.ends[k], f.changed = end, true
		}
	}
}

// kindOf sorts a session by its client address; a local TCP address
// (endUnseen, with the address) needs a lookup.
func (f *endFinder) kindOf(s pgconn.Session) (endKind, netip.AddrPort) {
	switch {
	case s.Hidden:
		return endUnseen, netip.AddrPort{}
	case s.ClientPort < 0:
		return endUnix, netip.AddrPort{}
	}
	addr, err := netip.ParseAddr(s.ClientAddr)
	if err != nil || s.ClientPort == 0 {
		return endUnseen, netip.AddrPort{}
	}
	if !sockview.IsLocalAddr(addr, f.local) {
		return endRemote, netip.AddrPort{}
	}
	return endUnseen, netip.AddrPortFrom(addr.Unmap(), uint16(s.ClientPort))
}

// classify turns a socket lookup into a clientEnd, and notes a new pooler
// and where it listens. A socket of a process of the tree that the tree's
// listing did not show (opened since) is unseen: looked up again later.
func (f *endFinder) classify(end sockview.ClientEnd, known map[uint64][]sockview.Owner, inTree map[int]bool) clientEnd {
	if end.Socket.Inode == 0 || len(end.Owners) == 0 {
		return clientEnd{kind: endNoOwner}
	}
	var outside []sockview.Owner
	for _, o := range end.Owners {
		if !inTree[o.PID] {
			outside = append(outside, o)
		}
	}
	if len(outside) == 0 {
		if _, ok := known[end.Socket.Inode]; !ok {
			return clientEnd{kind: endUnseen}
		}
		return clientEnd{kind: endTree}
	}
	for _, o := range outside {
		if slices.ContainsFunc(f.poolers, func(p sockview.Owner) bool { return p.PID == o.PID }) {
			continue
		}
		f.poolers = append(f.poolers, o)
		if inodes, err := sockview.SocketInodes(o.PID); err == nil {
			if eps, err := sockview.ListenEndpoints(inodes); err == nil {
				f.poolerEps = append(f.poolerEps, eps...)
			}
		}
	}
	return clientEnd{kind: endOutside, owners: outside}
}

// treeOwners maps the tree's socket inodes to their processes.
func treeOwners(tree []sockview.ProcSockets) (map[uint64][]sockview.Owner, map[int]bool) {
	known := make(map[uint64][]sockview.Owner)
	inTree := make(map[int]bool)
	for _, p := range tree {
		inTree[p.PID] = true
		for _, inode := range p.Inodes {
			known[inode] = append(known[inode], sockview.Owner{PID: p.PID, Cmd: p.Cmd})
		}
	}
	return known, inTree
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// idleState reports whether a session waits for its client: the state in
// which a client that closed its end ends the session at once.
func idleState(state string) bool {
	return state == "idle" || state == "idle in transaction" || state == "idle in transaction (aborted)"
}

// splitPooled splits the sessions of a sample begun at at, after the tree
// was down, into those held outside lastcall's tree and the rest. A session
// is pooled when a process outside the tree holds its client end (the
// local rule), or when, its client end out of sight, it has stayed idle for
// idleSettle since the tree was down (the idle rule).
func splitPooled(sessions []pgconn.Session, ends map[sessionKey]clientEnd, idleSince map[sessionKey]time.Time,
	at time.Time) (pooled []Pooled, rest []pgconn.Session) {
	for _, s := range sessions {
		end := ends[keyOf(s)]
		since, idle := idleSince[keyOf(s)]
		switch {
		case end.kind == endOutside:
			pooled = append(pooled, Pooled{Session: s, Holders: end.owners, Rule: fmt.Sprintf(
				"its client end %s:%d is held by %s, outside lastcall's tree", s.ClientAddr, s.ClientPort, ownersText(end.owners))})
		case end.kind != endTree && idle && at.Sub(since) >= idleSettle:
			pooled = append(pooled, Pooled{Session: s, Rule: fmt.Sprintf(
				"%s for %s after the tree was down, from %s, which no process of lastcall's tree holds (a session whose client "+
					"closed its end ends within milliseconds: something else holds this one)",
				s.State, at.Sub(since).Round(time.Millisecond), endText(s, end.kind))})
		default:
			rest = append(rest, s)
		}
	}
	return pooled, rest
}

// endText says where a session's client is, for the idle rule.
func endText(s pgconn.Session, kind endKind) string {
	switch kind {
	case endRemote:
		return fmt.Sprintf("%s:%d (not an address of this host)", s.ClientAddr, s.ClientPort)
	case endUnix:
		return "a unix socket"
	case endNoOwner:
		return fmt.Sprintf("%s:%d (no process lastcall may look into holds that socket)", s.ClientAddr, s.ClientPort)
	}
	return fmt.Sprintf("%s:%d", s.ClientAddr, s.ClientPort)
}

// ownersText is "123 pgbouncer" or "123 a, 124 b".
func ownersText(owners []sockview.Owner) string {
	parts := make([]string, len(owners))
	for i, o := range owners {
		parts[i] = fmt.Sprintf("%d %s", o.PID, o.Cmd)
	}
	return strings.Join(firstOf(parts, 3), ", ")
}
