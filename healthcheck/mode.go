package healthcheck

import (
	"fmt"
	"strings"
)

// CheckMode says which views of the app's connections the drain check
// takes: none, the sockets of lastcall's tree, the server's
// pg_stat_activity, or both.
type CheckMode string

// The drain check's modes, as --db-check spells them.
const (
	CheckOff    CheckMode = "off"
	CheckLocal  CheckMode = "local"
	CheckServer CheckMode = "server"
	CheckBoth   CheckMode = "both"
)

// WantCheckMode is the accepted form of a mode, for usage errors.
const WantCheckMode = "off, local, server or both"

// ParseCheckMode reads a mode in any case, spaces around it ignored.
func ParseCheckMode(s string) (CheckMode, error) {
	m := CheckMode(strings.ToLower(strings.TrimSpace(s)))
	switch m {
	case CheckOff, CheckLocal, CheckServer, CheckBoth:
		return m, nil
	}
	return "", fmt.Errorf("drain check mode %q: want %s", s, WantCheckMode)
}

// On reports whether the mode checks anything.
func (m CheckMode) On() bool { return m.local() || m.server() }

func (m CheckMode) local() bool { return m == CheckLocal || m == CheckBoth }

func (m CheckMode) server() bool { return m == CheckServer || m == CheckBoth }
