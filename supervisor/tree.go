package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// procEntry is what lastcall needs of one /proc/PID/stat: who the process
// is (pid and start time, which together never repeat), who its parent is,
// and its command name.
type procEntry struct {
	pid, ppid int
	start     uint64
	state     byte
	comm      string
}

// parseStat parses the contents of /proc/PID/stat. The command name sits in
// parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func parseStat(b []byte) (procEntry, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return procEntry{}, errors.New("malformed stat")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return procEntry{}, fmt.Errorf("pid: %w", err)
	}
	// After ") ": state(0) ppid(1) ... starttime(19).
	fields := bytes.Fields(b[end+1:])
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procEntry{}, errors.New("malformed stat: too few fields")
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	if err != nil {
		return procEntry{}, fmt.Errorf("ppid: %w", err)
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return procEntry{}, fmt.Errorf("starttime: %w", err)
	}
	return procEntry{pid: pid, ppid: ppid, start: start, state: fields[0][0], comm: string(b[open+1 : end])}, nil
}

func readStat(pid int) (procEntry, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procEntry{}, err
	}
	return parseStat(b)
}

// listProcs reads every process in /proc. Processes that exit while it
// reads are skipped.
func listProcs() ([]procEntry, error) {
	pids, err := numberedEntries("/proc")
	if err != nil {
		return nil, err
	}
	procs := make([]procEntry, 0, len(pids))
	for _, pid := range pids {
		if p, err := readStat(pid); err == nil {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// numberedEntries lists the names in dir that are numbers (pids in /proc,
// descriptors in /proc/self/fd), in the order the directory gives them.
func numberedEntries(dir string) ([]int, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	numbers := make([]int, 0, len(names))
	for _, name := range names {
		if n, err := strconv.Atoi(name); err == nil {
			numbers = append(numbers, n)
		}
	}
	return numbers, nil
}

// descendantsOf returns every process below root, children before their
// own children.
func descendantsOf(root int, procs []procEntry) []procEntry {
	children := make(map[int][]procEntry)
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p)
	}
	var out []procEntry
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if c.pid == root {
				continue
			}
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// procIsOurs reports whether /proc shows lastcall's own PID namespace.
// A /proc mounted from another namespace would make every pid in it a lie,
// so lastcall then leaves the tree alone rather than signal strangers.
func procIsOurs() bool {
	target, err := os.Readlink("/proc/self")
	return err == nil && target == strconv.Itoa(os.Getpid())
}

// signalProc sends sig to the process p names, and to nothing else: the pid
// is pinned with a pidfd and checked against the start time seen in the
// scan, so a pid recycled since the scan is never signalled.
func signalProc(p procEntry, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(p.pid, 0)
	if errors.Is(err, unix.ENOSYS) {
		return unix.Kill(p.pid, sig)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	now, err := readStat(p.pid)
	if err != nil || now.start != p.start {
		return unix.ESRCH
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// Descendants lists the live descendants of lastcall (of the calling
// process), read from /proc. It touches no state of Run and is safe from
// any goroutine: the drain check samples the tree with it.
func Descendants() []Process {
	procs, err := listProcs()
	if err != nil || !procIsOurs() {
		return nil
	}
	return liveProcesses(descendantsOf(os.Getpid(), procs))
}

func liveProcesses(tree []procEntry) []Process {
	var out []Process
	for _, p := range tree {
		if p.state != 'Z' && p.state != 'X' {
			out = append(out, Process{PID: p.pid, Cmd: p.comm})
		}
	}
	return out
}

// aliveProcesses lists the live descendants, for OnChildExit.
func (s *supervisor) aliveProcesses() []Process {
	return liveProcesses(s.descendants())
}
