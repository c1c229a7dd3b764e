package signals

import (
	"fmt"
	"strings"
	"syscall"
)

const wantRewrite = "want FROM:TO signals like INT:TERM, TO 0 to drop FROM"

// Rewrite is a table of signal rewrites applied when lastcall forwards a
// signal (`--rewrite INT:TERM`). A rewrite to 0 drops the signal.
type Rewrite map[syscall.Signal]syscall.Signal

// Add adds one "FROM:TO" (or a comma-separated list "INT:TERM,HUP:0") to
// the table. FROM cannot be SIGKILL or SIGSTOP, which lastcall never
// receives; TO may be any signal, or 0 to drop. A FROM given twice with a
// different TO is an error. Add changes nothing unless it succeeds. Add on
// a nil Rewrite panics: start from Rewrite{}.
func (r Rewrite) Add(s string) error {
	added := Rewrite{}
	for item := range strings.SplitSeq(s, ",") {
		from, to, err := parseRewrite(strings.TrimSpace(item))
		if err != nil {
			return err
		}
		for _, table := range []Rewrite{r, added} {
			if prev, ok := table[from]; ok && prev != to {
				return fmt.Errorf("signal rewrite %q: %s already rewritten to %s (give each FROM once)",
					item, Name(from), rewriteName(prev))
			}
		}
		added[from] = to
	}
	for from, to := range added {
		r[from] = to
	}
	return nil
}

func parseRewrite(item string) (from, to syscall.Signal, err error) {
	a, b, ok := strings.Cut(item, ":")
	if !ok || a == "" || b == "" {
		return 0, 0, fmt.Errorf("signal rewrite %q: %s", item, wantRewrite)
	}
	from, err = Parse(a)
	if err != nil {
		return 0, 0, fmt.Errorf("signal rewrite %q: %w", item, err)
	}
	if from == syscall.SIGKILL || from == syscall.SIGSTOP {
		return 0, 0, fmt.Errorf("signal rewrite %q: %s cannot be caught, so it cannot be rewritten", item, Name(from))
	}
	if strings.TrimSpace(b) == "0" {
		return from, 0, nil
	}
	to, err = Parse(b)
	if err != nil {
		return 0, 0, fmt.Errorf("signal rewrite %q: %w", item, err)
	}
	return from, to, nil
}

// Apply returns the signal to send for sig: its rewrite, sig itself when
// the table has none, or 0 when the rewrite drops it.
func (r Rewrite) Apply(sig syscall.Signal) syscall.Signal {
	if to, ok := r[sig]; ok {
		return to
	}
	return sig
}

func rewriteName(sig syscall.Signal) string {
	if sig == 0 {
		return "0 (dropped)"
	}
	return Name(sig)
}
