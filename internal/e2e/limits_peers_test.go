package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// peerInits are the inits lastcall is compared with, as they are called
// to run a command.
var peerInits = [][]string{{"tini", "--"}, {"dumb-init"}, {"catatonit", "--"}}

// lastcall, tini, dumb-init and catatonit run the same child under the
// same low limits, and the log shows each one's outcome side by side. Only
// lastcall's outcome can fail the test: from the README's minimum on, the
// child runs; below it, lastcall refuses in one line (exit 1), or, where
// the README says the runtime dies first (RLIMIT_AS, RLIMIT_NPROC below
// 4), the child never starts and the exit is the runtime's (2, or 139 for
// its SIGSEGV).
func TestLimitsNextToPeers(t *testing.T) {
	requireTools(t, true)
	lastcall := lastcallBinary(t)
	least := 3 + runtimeDescriptors(t) + nofileNeeded
	const mib = 1 << 20
	kinds := []struct {
		limit  string // the name lastcall's line gives
		flag   string // prlimit's
		unit   int    // values are shown in these
		values []int
		least  int // lastcall runs the child from here on
		speaks int // lastcall itself refuses from here on below least
		env    []string
		uid    string
	}{
		{"RLIMIT_NOFILE", "--nofile", 1, []int{3, 4, least - 1, least}, least, 0, nil, ""},
		{"RLIMIT_NPROC", "--nproc", 1, []int{1, 2, nprocSpeaks, nprocLeast - 1, nprocLeast, nprocLeast + nprocTail}, nprocLeast, nprocSpeaks, []string{"GOMAXPROCS=1"}, limitedUID},
		{"RLIMIT_AS", "--as", mib, []int{3 * mib, 40 * mib, 700 * mib, asLeastMiB * mib}, asLeastMiB * mib, asLeastMiB * mib, nil, ""},
	}
	var table []string
	for _, kind := range kinds {
		for _, v := range kind.values {
			row := fmt.Sprintf("%-13s %4d", kind.limit, v/kind.unit)
			if kind.unit == mib {
				row += " MiB"
			}
			for _, init := range append([][]string{{lastcall, "--"}}, peerInits...) {
				if _, err := exec.LookPath(init[0]); err != nil {
					row += fmt.Sprintf(" | %s: not installed", init[0])
					continue
				}
				argv := append(append([]string{}, init...), childMarks...)
				if kind.uid != "" {
					argv = asUser(argv...)
				}
				got := runLimited(t, kind.env, nil, kind.uid, append([]string{"prlimit", fmt.Sprintf("%s=%d", kind.flag, v)}, argv...)...)
				row += fmt.Sprintf(" | %s: %s", filepath.Base(init[0]), got.outcome())
				if init[0] == lastcall {
					if wrong := judgeLastcall(got, kind.limit, v, kind.least, kind.speaks); wrong != "" {
						t.Errorf("lastcall at %s %d: %s; stderr:\n%s", kind.limit, v, wrong, got.stderr)
					}
				}
			}
			table = append(table, row)
		}
	}
	t.Logf("outcomes under each limit (lastcall's are checked, the others' only shown):\n%s", strings.Join(table, "\n"))
}

// judgeLastcall reports what is wrong with lastcall's run at value of
// limit, against the README: the child runs from least on, lastcall
// refuses from speaks up to least, and below speaks the runtime may die
// first, without starting the child.
func judgeLastcall(got limitRun, limit string, value, least, speaks int) string {
	switch {
	case value >= least && limit == "RLIMIT_NPROC" && value < least+nprocTail && got.inTail():
		return "" // the README's tail
	case value >= least:
		if got.code != 7 || !got.ran {
			return fmt.Sprintf("exit code %d, child ran %v, want 7, true", got.code, got.ran)
		}
	case value >= speaks:
		return got.refusal(limit)
	case got.ran:
		return "the child was started"
	case got.refusal(limit) != "" && got.code != exitUsage && got.code != 128+int(syscall.SIGSEGV):
		return fmt.Sprintf("exit code %d: neither lastcall's refusal nor the runtime's failure (2, or 139)", got.code)
	}
	return ""
}
