package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The contenders' names, as the table prints them.
const (
	nameBaseline   = "no wrapper"
	nameLastcall   = "lastcall"
	nameGoFloor    = "Go floor"
	nameTini       = "tini"
	nameTiniStatic = "tini-static"
	nameDumbInit   = "dumb-init"
	nameCatatonit  = "catatonit"
	nameCompare    = "lastcall (compare)"
)

// contender is one way to run a command: a wrapper and how to call it.
type contender struct {
	name   string
	binary string   // "" for the baseline
	prefix []string // argv before the command
	cPeer  bool     // one of the C inits lastcall is compared with
	reaps  bool     // reaps orphans as PID 1
}

func (c contender) argv(cmd ...string) []string {
	return append(append([]string(nil), c.prefix...), cmd...)
}

func (c contender) isBaseline() bool { return c.binary == "" }

// binaries are the programs the bench builds.
type binaries struct {
	dir      string
	lastcall string
	goFloor  string
	child    string
	compare  string // -compare: a second lastcall binary, or ""
}

// childComm is the child program's command name in /proc/PID/comm.
const childComm = "lcbench-child"

// build compiles lastcall (unless prebuilt is set), the Go floor and the
// child program into a new temporary directory, as a release is built.
// With rev, lastcall is built from that git revision of repo (extracted
// with git archive, which leaves the repository as it is) instead of the
// working tree.
func build(repo, prebuilt, rev string) (binaries, error) {
	dir, err := os.MkdirTemp("", "lastcall-bench-")
	if err != nil {
		return binaries{}, err
	}
	b := binaries{
		dir:      dir,
		lastcall: filepath.Join(dir, "lastcall"),
		goFloor:  filepath.Join(dir, "gofloor"),
		child:    filepath.Join(dir, childComm),
	}
	targets := []struct{ out, pkg string }{
		{b.goFloor, "./bench/gofloor"},
		{b.child, "./bench/child"},
	}
	if prebuilt != "" {
		b.lastcall = prebuilt
	} else {
		targets = append(targets, struct{ out, pkg string }{b.lastcall, "."})
	}
	lastcallSrc := repo
	if rev != "" && prebuilt == "" {
		lastcallSrc = filepath.Join(dir, "src")
		if err := extract(repo, rev, lastcallSrc); err != nil {
			os.RemoveAll(dir)
			return binaries{}, err
		}
	}
	for _, t := range targets {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", t.out, t.pkg)
		cmd.Dir = repo
		if t.out == b.lastcall {
			cmd.Dir = lastcallSrc
		}
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return binaries{}, fmt.Errorf("go build %s: %w\n%s", t.pkg, err, out)
		}
	}
	return b, nil
}

// extract writes the tree of git revision rev of repo into dir.
func extract(repo, rev, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	archive := exec.Command("git", "-C", repo, "archive", "--format=tar", rev)
	untar := exec.Command("tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	var stderr bytes.Buffer
	archive.Stderr, untar.Stderr = &stderr, &stderr
	if err := untar.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		_ = untar.Wait()
		return fmt.Errorf("git archive %s: %w\n%s", rev, err, stderr.Bytes())
	}
	if err := untar.Wait(); err != nil {
		return fmt.Errorf("tar: %w\n%s", err, stderr.Bytes())
	}
	return nil
}

// findRepo returns the root of the lastcall module that holds the working
// directory.
func findRepo() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the lastcall repository or pass -repo")
	}
	b, err := os.ReadFile(mod)
	if err != nil {
		return "", err
	}
	if !bytes.Contains(b, []byte("module github.com/lastcall-dev/lastcall\n")) {
		return "", fmt.Errorf("%s is not lastcall's go.mod: pass -repo", mod)
	}
	return filepath.Dir(mod), nil
}

// contenders lists every contender whose binary exists, in print order,
// and a note for each one left out.
func contenders(b binaries) ([]contender, []string) {
	all := []contender{
		{name: nameBaseline},
		{name: nameLastcall, binary: b.lastcall, prefix: []string{b.lastcall, "--"}, reaps: true},
		{name: nameGoFloor, binary: b.goFloor, prefix: []string{b.goFloor}},
		// -s: a child subreaper when not PID 1, as lastcall is by default
		// (and no warning on stderr).
		{name: nameTini, binary: "/usr/bin/tini", prefix: []string{"/usr/bin/tini", "-s", "--"}, cPeer: true, reaps: true},
		{name: nameTiniStatic, binary: "/usr/bin/tini-static", prefix: []string{"/usr/bin/tini-static", "-s", "--"}, cPeer: true, reaps: true},
		{name: nameDumbInit, binary: "/usr/bin/dumb-init", prefix: []string{"/usr/bin/dumb-init"}, cPeer: true, reaps: true},
		{name: nameCatatonit, binary: "/usr/bin/catatonit", prefix: []string{"/usr/bin/catatonit", "--"}, cPeer: true, reaps: true},
	}
	if b.compare != "" {
		all = append(all[:2], append([]contender{{name: nameCompare, binary: b.compare, prefix: []string{b.compare, "--"}, reaps: true}}, all[2:]...)...)
	}
	var out []contender
	var notes []string
	for _, c := range all {
		if c.binary != "" {
			if _, err := os.Stat(c.binary); err != nil {
				notes = append(notes, fmt.Sprintf("%s left out: %v", c.name, err))
				continue
			}
		}
		out = append(out, c)
	}
	return out, notes
}

// pidNS is the prefix that makes the command PID 1 of a new PID namespace
// with its own /proc, as in a container. Without root it maps root in a new
// user namespace too.
func pidNS() []string {
	argv := []string{"unshare", "--pid", "--fork", "--mount-proc"}
	if os.Geteuid() != 0 {
		argv = append(argv, "--user", "--map-root-user")
	}
	if p, err := exec.LookPath("unshare"); err == nil {
		argv[0] = p
	}
	return argv
}
