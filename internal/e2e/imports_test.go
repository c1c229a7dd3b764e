package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/lastcall-dev/lastcall"

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Imports    []string // direct, non-test
	Deps       []string // every package it needs, transitively
	Standard   bool
}

// goList lists the module's packages (tests excluded), or the dependencies
// of the binary with deps.
func goList(t *testing.T, args ...string) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %q: %v", args, err)
	}
	pkgs := map[string]pkg{}
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	return pkgs
}

// TestImportRules holds the layout of ARCHITECTURE.md: which package may
// import which. A rule broken here is a design change: change the rule and
// ARCHITECTURE.md together, or the code.
func TestImportRules(t *testing.T) {
	pkgs := goList(t, "./...")
	rel := func(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }
	importers := func(target string, transitive bool) []string {
		var out []string
		for name, p := range pkgs {
			list := p.Imports
			if transitive {
				list = p.Deps
			}
			if slices.Contains(list, target) {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		rule    string
		target  string
		direct  bool     // direct imports only
		allowed []string // the packages that may import target
	}{
		{"only main and internal/cli use cobra", "github.com/spf13/cobra", true, []string{"", "internal/cli"}},
		{"only main and internal/cli use pflag", "github.com/spf13/pflag", true, []string{"internal/cli"}},
		{"only the Postgres plumbing imports lib/pq", "github.com/lib/pq", true, []string{"internal/pgconn", "internal/pgtest"}},
		{"only main imports internal/cli", module + "/internal/cli", true, []string{""}},
		{"supervisor never reaches healthcheck", module + "/healthcheck", false, []string{"", "internal/cli"}},
		{"nothing but main and internal/cli reaches supervisor", module + "/supervisor", false, []string{"", "internal/cli"}},
		{"only tests use the test helpers", module + "/internal/pgtest", false, []string{"internal/testutil"}},
		{"only earlysignals imports internal/limits (its init runs first)", module + "/internal/limits", true, []string{"internal/earlysignals"}},
	}
	for _, tt := range tests {
		got := importers(tt.target, !tt.direct)
		for _, name := range got {
			if !slices.Contains(tt.allowed, name) {
				t.Errorf("%s: %q imports %s (allowed: %q)", tt.rule, name, rel(tt.target), tt.allowed)
			}
		}
	}
}

// TestSignalsIsPure: the signals package is values only: no I/O, no
// other package of lastcall's, nothing outside the standard library.
func TestSignalsIsPure(t *testing.T) {
	p := goList(t, "./signals")["signals"]
	for _, dep := range p.Deps {
		if strings.HasPrefix(dep, module) || strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") {
			t.Errorf("signals depends on %s", dep)
		}
	}
	for _, imp := range p.Imports {
		if slices.Contains([]string{"os", "os/exec", "os/signal", "io", "io/fs", "net", "bufio"}, imp) {
			t.Errorf("signals imports %s", imp)
		}
	}
}

// TestBinaryHasNoTestCode: the lastcall binary links no test helper and
// no testing package.
func TestBinaryHasNoTestCode(t *testing.T) {
	p := goList(t, ".")[""]
	for _, dep := range p.Deps {
		if dep == "testing" || strings.HasPrefix(dep, module+"/internal/pgtest") ||
			strings.HasPrefix(dep, module+"/internal/testutil") || strings.HasPrefix(dep, module+"/internal/e2e") {
			t.Errorf("the binary links %s", dep)
		}
	}
}
