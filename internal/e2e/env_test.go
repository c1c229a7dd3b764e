package e2e

import (
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The child gets lastcall's environment as it was, byte for byte, except
// for what lastcall documents: HOME with --user, PGAPPNAME with the drain
// check, LISTEN_PID with socket activation. Nothing of lastcall's own
// (the exec trampoline's variable) reaches it.
func TestChildEnvironment(t *testing.T) {
	given := []string{"FOO=bar", "EMPTY=", "WITH_EQUALS=a=b", "LASTCALL_LEFTOVER_GRACE=3s", "GODEBUG=madvdontneed=1",
		"DATABASE_URL=postgres://app:env-canary@127.0.0.1:1/app"}
	plain := func(t *testing.T, args ...string) *exec.Cmd {
		cmd := exec.Command(lastcallBinary(t), args...)
		cmd.Env = baseEnv()
		return cmd
	}
	activated := func(t *testing.T, args ...string) *exec.Cmd {
		_, sock := listenerFile(t)
		return activationCmd(t, false, sock, args...)
	}
	tests := []envCase{
		{"as given", plain, nil, nil, func(inspected) []string { return nil }},
		{"drain check tags the app", plain, []string{"--db-check", "local"}, nil, func(c inspected) []string {
			return []string{"PGAPPNAME=" + taggedAs(c.env)}
		}},
		{"the user's PGAPPNAME kept", plain, []string{"--db-check", "local"}, []string{"PGAPPNAME=web"},
			func(inspected) []string { return nil }},
		{"socket activation", activated, nil, []string{"LISTEN_FDS=1"}, func(c inspected) []string {
			return []string{"LISTEN_PID=" + strconv.Itoa(c.pid)}
		}},
	}
	if os.Geteuid() == 0 { // --user needs root
		tests = append(tests,
			envCase{"--user sets HOME", plain, []string{"--user", "nobody"}, []string{"HOME=/root"}, func(inspected) []string {
				return []string{"HOME=/nonexistent"}
			}},
			envCase{"socket activation as nobody", activated, []string{"--user", "nobody"}, []string{"LISTEN_FDS=1"},
				func(c inspected) []string { return []string{"LISTEN_PID=" + strconv.Itoa(c.pid), "HOME=/nonexistent"} }},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, tt.args...), "--", appBinary(t), "inspect")
			cmd := tt.start(t, args...)
			cmd.Env = append(append(cmd.Env, given...), tt.given...)
			r := startApp(t, cmd)
			child := r.inspect()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := r.wait(); code != 0 {
				t.Errorf("exit code %d; stderr:\n%s", code, r.stderr)
			}
			want := withEntries(cmd.Env, tt.changed(child))
			if got := strings.Join(child.env, "\n"); got != strings.Join(want, "\n") {
				t.Errorf("the child's environment:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

type envCase struct {
	name    string
	start   func(t *testing.T, args ...string) *exec.Cmd
	args    []string
	given   []string // besides those all cases get
	changed func(child inspected) []string
}

// withEntries is env, sorted, with each of entries replacing the variable
// of the same name or joining it.
func withEntries(env, entries []string) []string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	for _, kv := range entries {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// taggedAs is the child's PGAPPNAME when it is a lastcall tag, and says it
// is missing otherwise.
func taggedAs(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PGAPPNAME="); ok && strings.HasPrefix(v, "lastcall-") {
			return v
		}
	}
	return "(a lastcall-... tag, missing)"
}
