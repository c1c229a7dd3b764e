package signals

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"syscall"
)

// wantRemap is the accepted form, quoted at the end of every remap error.
const wantRemap = "want FROM:TO, each a number 0-255, like 143:0"

// ExitCode maps a wait status to the exit code a shell would report: the code
// for a normal exit, 128+N for death by signal N. Any other status (stopped,
// continued) returns -1.
func ExitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return -1
}

// Remap is a table of exit-code rewrites applied last (`--remap-exit 143:0`).
//
// Add writes to the map, so it must not be nil: start from Remap{}. Apply
// works on a nil Remap and rewrites nothing.
type Remap map[int]int

// ParseRemap reads one "FROM:TO" pair, each 0-255 (decimal, no sign), e.g.
// "143:0"; errors name the input and the form. Whitespace around the pair is
// trimmed.
func ParseRemap(s string) (from, to int, err error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return 0, 0, fmt.Errorf("empty exit-code remap (%s)", wantRemap)
	}
	fromText, toText, ok := strings.Cut(v, ":")
	if !ok {
		return 0, 0, fmt.Errorf("exit-code remap %q has no colon (%s)", v, wantRemap)
	}
	from, ok = parseExitCode(fromText)
	if !ok {
		return 0, 0, fmt.Errorf("exit-code remap %q: FROM %s (%s)", v, badCode(fromText), wantRemap)
	}
	to, ok = parseExitCode(toText)
	if !ok {
		return 0, 0, fmt.Errorf("exit-code remap %q: TO %s (%s)", v, badCode(toText), wantRemap)
	}
	return from, to, nil
}

// parseExitCode reads s as a decimal number 0-255 without a sign.
func parseExitCode(s string) (int, bool) {
	if !isDigits(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n <= 255
}

// badCode says what is wrong with s, which parseExitCode refused.
func badCode(s string) string {
	if s == "" {
		return "is missing"
	}
	return fmt.Sprintf("%q is not a number 0-255", s)
}

// Add adds one "FROM:TO" (or a comma-separated list "143:0,130:0") to the
// table; a FROM given twice with different TO is an error. Giving the same
// pair again is not.
//
// Add changes r only when it returns nil: on error r is left as it was.
func (r Remap) Add(s string) error {
	batch := Remap{}
	for item := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(item) == "" && strings.Contains(s, ",") {
			return fmt.Errorf("exit-code remap list %q has an empty item (%s)", s, wantRemap)
		}
		from, to, err := ParseRemap(item)
		if err != nil {
			return err
		}
		prev, ok := batch[from]
		if !ok {
			prev, ok = r[from]
		}
		if ok && prev != to {
			return fmt.Errorf("exit-code remap %q: %d already maps to %d (give each FROM once)", strings.TrimSpace(item), from, prev)
		}
		batch[from] = to
	}
	maps.Copy(r, batch)
	return nil
}

// Apply returns the rewritten code (the code itself when no entry matches).
// It applies once, never chains.
func (r Remap) Apply(code int) int {
	if to, ok := r[code]; ok {
		return to
	}
	return code
}
