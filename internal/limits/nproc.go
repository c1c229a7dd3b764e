package limits

import (
	"syscall"
	"unsafe"
)

// exemptFromNPROC reports whether the kernel lets lastcall past
// RLIMIT_NPROC: it does for a real uid that is root outside any user
// namespace, and for a process with CAP_SYS_RESOURCE or CAP_SYS_ADMIN in
// the initial user namespace. Where it cannot tell (no /proc), it trusts
// uid 0 and the capabilities, so that it never refuses root.
func exemptFromNPROC() bool {
	uid := syscall.Getuid()
	outer, initial, ok := outerUID(uid)
	if !ok {
		return uid == 0 || hasCapability(capSysResource, capSysAdmin)
	}
	return outer == 0 || initial && hasCapability(capSysResource, capSysAdmin)
}

// outerUID maps uid through /proc/self/uid_map to the user namespace one
// level up (the initial one, but for nested namespaces); initial is true
// when lastcall's namespace is the initial one (the identity map).
func outerUID(uid int) (outer int, initial, ok bool) {
	var buf [512]byte
	n, err := readSmall("/proc/self/uid_map", buf[:])
	if err != nil || n == len(buf) { // a full buffer may have cut the map: cannot tell
		return 0, false, false
	}
	return parseUIDMap(string(buf[:n]), uid)
}

// parseUIDMap reads uid_map's lines ("inside outside count") for uid.
func parseUIDMap(text string, uid int) (outer int, initial, ok bool) {
	lines := 0
	for len(text) > 0 {
		var line string
		line, text = cut(text, '\n')
		var r [3]uint64
		n := 0
		for ; n < 3; n++ {
			var word string
			word, line = nextWord(line)
			v, good := parseUint32(word)
			if !good {
				break
			}
			r[n] = v
		}
		if n < 3 {
			continue
		}
		lines++
		initial = r == [3]uint64{0, 0, 1<<32 - 1}
		if u := uint64(uid); u >= r[0] && u-r[0] < r[2] {
			outer, ok = int(r[1]+u-r[0]), true
		}
	}
	return outer, initial && lines == 1, ok
}

// hasCapability reports whether any of caps is in the effective set.
func hasCapability(caps ...uint) bool {
	header := struct {
		version uint32
		pid     int32
	}{version: 0x20080522} // _LINUX_CAPABILITY_VERSION_3
	var data [2]struct{ effective, permitted, inheritable uint32 }
	_, _, errno := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&header)), uintptr(unsafe.Pointer(&data[0])), 0)
	if errno != 0 {
		return false
	}
	for _, c := range caps {
		if data[c/32].effective&(1<<(c%32)) != 0 {
			return true
		}
	}
	return false
}

// readSmall reads up to len(buf) bytes of a small file with raw system
// calls: os.Open would wake the poller, which needs descriptors of its own.
// procfs has a reader of the same kind, which this package may not import:
// limits imports nothing os does not (see ARCHITECTURE.md).
func readSmall(path string, buf []byte) (int, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer func() { _ = syscall.Close(fd) }()
	n := 0
	for n < len(buf) {
		k, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if k == 0 {
			break
		}
		n += k
	}
	return n, nil
}

// The helpers below stand in for strings and strconv: strings (through
// unicode) would hold this package's initialiser, and earlysignals', back
// behind every ready package whose path sorts before (TLS, JSON, lib/pq...):
// e2e TestLimitsInitFirst.

// cut splits s at the first sep.
func cut(s string, sep byte) (before, after string) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// nextWord returns the first word of s (words are separated by spaces)
// and the rest.
func nextWord(s string) (word, rest string) {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return cut(s, ' ')
}

// parseUint32 parses a decimal number below 2^32.
func parseUint32(s string) (uint64, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
	}
	return v, v < 1<<32
}

// itoa formats n in decimal.
func itoa(n int) string {
	if n < 0 {
		return "-" + utoa(uint64(-n))
	}
	return utoa(uint64(n))
}

// utoa formats n in decimal.
func utoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
