package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// mono is CLOCK_MONOTONIC in nanoseconds: the clock the child program
// stamps its lines with, so that the two can be subtracted.
func mono() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// statInfo is what the bench needs of /proc/PID/stat.
type statInfo struct {
	state        byte
	ppid         int
	utime, stime uint64 // clock ticks
}

// parseStat parses /proc/PID/stat. The command name sits in parentheses and
// may hold spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (statInfo, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return statInfo{}, errors.New("malformed stat")
	}
	// After ") ": state(0) ppid(1) ... utime(11) stime(12).
	f := bytes.Fields(b[end+1:])
	if len(f) < 13 || len(f[0]) != 1 {
		return statInfo{}, errors.New("malformed stat: too few fields")
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	ut, err2 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err3 := strconv.ParseUint(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return statInfo{}, err
	}
	return statInfo{state: f[0][0], ppid: ppid, utime: ut, stime: st}, nil
}

// statusInfo is what the bench needs of /proc/PID/status.
type statusInfo struct {
	ctxSwitches int64 // voluntary + nonvoluntary
	vmRSS       int64 // bytes
	vmHWM       int64 // bytes
	threads     int64
}

// parseStatus parses the fields of /proc/PID/status the bench reads.
func parseStatus(b []byte) statusInfo {
	var s statusInfo
	for line := range bytes.Lines(b) {
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		f := bytes.Fields(val)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			continue
		}
		switch string(key) {
		case "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches":
			s.ctxSwitches += n
		case "VmRSS":
			s.vmRSS = n << 10
		case "VmHWM":
			s.vmHWM = n << 10
		case "Threads":
			s.threads = n
		}
	}
	return s
}

// parseSchedstat returns the first field of /proc/PID/task/TID/schedstat:
// the nanoseconds the task has run on a CPU.
func parseSchedstat(b []byte) (int64, error) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, errors.New("empty schedstat")
	}
	return strconv.ParseInt(string(f[0]), 10, 64)
}

// parsePids parses a space-separated list of pids (a children file).
func parsePids(b []byte, into []int) []int {
	for _, f := range bytes.Fields(b) {
		if n, err := strconv.Atoi(string(f)); err == nil {
			into = append(into, n)
		}
	}
	return into
}

func procPath(pid int, parts ...string) string {
	return filepath.Join(append([]string{"/proc", strconv.Itoa(pid)}, parts...)...)
}

func readStat(pid int) (statInfo, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return statInfo{}, err
	}
	return parseStat(b)
}

func readComm(pid int) string {
	b, _ := os.ReadFile(procPath(pid, "comm"))
	return string(bytes.TrimSpace(b))
}

// tasks lists the thread ids of pid.
func tasks(pid int) []int {
	d, err := os.ReadDir(procPath(pid, "task"))
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range d {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// childrenOf lists pid's children, zombies included, from the children
// file of each of its threads: a child may belong to any thread.
func childrenOf(pid int) []int {
	var out []int
	for _, tid := range tasks(pid) {
		b, err := os.ReadFile(procPath(pid, "task", strconv.Itoa(tid), "children"))
		if err == nil {
			out = parsePids(b, out)
		}
	}
	return out
}

// usage is a snapshot of a process's cost so far, summed over its threads.
type usage struct {
	ticks       uint64 // utime + stime, clock ticks
	runNs       int64  // time on a CPU, from schedstat
	ctxSwitches int64
	threads     int
	vmRSS       int64
	vmHWM       int64
}

// readUsage sums the cost of every thread of pid. Ticks and memory come
// from the process files; context switches and run time per thread.
func readUsage(pid int) (usage, error) {
	st, err := readStat(pid)
	if err != nil {
		return usage{}, err
	}
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return usage{}, err
	}
	ps := parseStatus(b)
	u := usage{ticks: st.utime + st.stime, vmRSS: ps.vmRSS, vmHWM: ps.vmHWM}
	for _, tid := range tasks(pid) {
		t := strconv.Itoa(tid)
		if b, err := os.ReadFile(procPath(pid, "task", t, "status")); err == nil {
			u.ctxSwitches += parseStatus(b).ctxSwitches
		}
		if b, err := os.ReadFile(procPath(pid, "task", t, "schedstat")); err == nil {
			if ns, err := parseSchedstat(b); err == nil {
				u.runNs += ns
			}
		}
		u.threads++
	}
	return u, nil
}
