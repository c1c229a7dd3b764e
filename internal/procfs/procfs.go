package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Process is one process of lastcall's tree, as the supervisor's hooks and
// the drain check see it.
type Process struct {
	PID int
	Cmd string // the command name the kernel keeps (comm)
}

// Stat is what lastcall needs of one /proc/PID/stat: who the process
// is (pid and start time, which together never repeat), who its parent is,
// and its command name.
type Stat struct {
	PID, PPID int
	Pgrp      int    // the process group
	Start     uint64 // clock ticks after boot
	State     byte   // R, S, D, Z, T, ...
	Comm      string // the command name the kernel keeps
}

// ParseStat parses the contents of /proc/PID/stat. The command name sits in
// parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return Stat{}, errors.New("malformed stat")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return Stat{}, fmt.Errorf("pid: %w", err)
	}
	// After ") ": state(0) ppid(1) pgrp(2) ... starttime(19).
	fields := bytes.Fields(b[end+1:])
	if len(fields) < 20 || len(fields[0]) != 1 {
		return Stat{}, errors.New("malformed stat: too few fields")
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	if err != nil {
		return Stat{}, fmt.Errorf("ppid: %w", err)
	}
	pgrp, err := strconv.Atoi(string(fields[2]))
	if err != nil {
		return Stat{}, fmt.Errorf("pgrp: %w", err)
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("starttime: %w", err)
	}
	return Stat{PID: pid, PPID: ppid, Pgrp: pgrp, Start: start, State: fields[0][0], Comm: string(b[open+1 : end])}, nil
}

func ReadStat(pid int) (Stat, error) {
	var buf [statSize]byte
	b, err := readSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(b)
}

// statSize holds any /proc/PID/stat: 52 numbers of at most 20 digits, and
// a command name of at most 64 bytes (a kernel thread's).
const statSize = 1200

// readSmall reads a file of /proc that fits in buf with open, read and
// close alone: os.ReadFile would add fstat, four fcntl calls and an epoll
// registration to each of them, and a scan of /proc makes one a process,
// in the middle of a stop. Errors are *fs.PathError, as from os.
func readSmall(path string, buf []byte) ([]byte, error) {
	fd, err := ignoringEINTR(func() (int, error) { return unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0) })
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := ignoringEINTR(func() (int, error) { return unix.Read(fd, buf[n:]) })
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			return buf[:n], nil
		}
		n += m
	}
	return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("longer than expected")}
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// List reads every process in /proc. Processes that exit while it
// reads are skipped.
func List() ([]Stat, error) {
	pids, err := NumberedEntries("/proc")
	if err != nil {
		return nil, err
	}
	procs := make([]Stat, 0, len(pids))
	for _, pid := range pids {
		if p, err := ReadStat(pid); err == nil {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// NumberedEntries lists the names in dir that are numbers (pids in /proc,
// descriptors in /proc/self/fd), in the order the directory gives them.
func NumberedEntries(dir string) ([]int, error) {
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

// DescendantsOf returns every process below root, children before their
// own children.
func DescendantsOf(root int, procs []Stat) []Stat {
	children := make(map[int][]Stat)
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []Stat
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if c.PID == root {
				continue
			}
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}

// Errors of Check.
var (
	ErrNotMounted = errors.New("/proc is not mounted")
	ErrForeign    = errors.New("/proc belongs to another PID namespace")
)

// Check says whether /proc shows lastcall's own PID namespace: nil if it
// does, ErrNotMounted when no procfs is mounted there (a bare chroot, a
// sandbox that hides it), ErrForeign when it is another namespace's. A
// /proc from another namespace would make every pid in it a lie, so
// lastcall then never signals a pid it read there.
func Check() error {
	var fs unix.Statfs_t
	if err := unix.Statfs("/proc", &fs); err != nil || fs.Type != unix.PROC_SUPER_MAGIC {
		return ErrNotMounted
	}
	if target, err := os.Readlink("/proc/self"); err != nil || target != strconv.Itoa(os.Getpid()) {
		return ErrForeign
	}
	return nil
}

// IsOurs reports whether /proc shows lastcall's own PID namespace (see
// Check).
func IsOurs() bool { return Check() == nil }

// Live keeps the processes of tree that are not zombies, as Processes.
func Live(tree []Stat) []Process {
	var out []Process
	for _, p := range tree {
		if p.State != 'Z' && p.State != 'X' {
			out = append(out, Process{PID: p.PID, Cmd: p.Comm})
		}
	}
	return out
}
