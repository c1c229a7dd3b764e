package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// checkCredential says why the kernel would refuse to switch the child to
// cred, before the fork. The child changes its groups and ids between fork
// and exec, and a refusal there comes back as a bare errno (EPERM, EINVAL)
// that cannot be told from one of execve: without this check a
// setgroups refused in a user namespace read as "cannot execute" (126).
// It looks, in the order the child would need them, at the capabilities
// (CAP_SETGID, CAP_SETUID), at /proc/self/setgroups (deny after an
// unprivileged writer set up the user namespace's gid_map) and at the
// namespace's uid and gid maps. What it cannot read (no /proc) it leaves to
// the kernel.
func checkCredential(cred *syscall.Credential) error {
	needGID := !cred.NoSetGroups || (cred.Gid != uint32(os.Getgid()) && cred.Gid != uint32(os.Getegid()))
	needUID := cred.Uid != uint32(os.Getuid()) && cred.Uid != uint32(os.Geteuid())
	if missing := missingCaps(needGID, needUID); missing != "" {
		return fmt.Errorf("lastcall lacks %s (dropped from its capabilities, as by docker --cap-drop or a bounding set), which the switch needs", missing)
	}
	if !cred.NoSetGroups {
		if b, err := os.ReadFile("/proc/self/setgroups"); err == nil && strings.TrimSpace(string(b)) == "deny" {
			return errors.New("setgroups is denied in this user namespace (/proc/self/setgroups: deny, as after unshare --user --map-root-user), so lastcall cannot set the user's groups")
		}
	}
	for _, m := range []struct {
		file, what string
		id         uint32
	}{{"/proc/self/gid_map", "gid", cred.Gid}, {"/proc/self/uid_map", "uid", cred.Uid}} {
		if b, err := os.ReadFile(m.file); err == nil && !idMapped(b, m.id) {
			return fmt.Errorf("%s %d is not mapped in this user namespace (%s)", m.what, m.id, m.file)
		}
	}
	return nil
}

// missingCaps names the capabilities among CAP_SETGID (when needGID) and
// CAP_SETUID (when needUID) that lastcall's effective set lacks.
func missingCaps(needGID, needUID bool) string {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return ""
	}
	var missing []string
	if needGID && data[0].Effective&(1<<unix.CAP_SETGID) == 0 {
		missing = append(missing, "CAP_SETGID")
	}
	if needUID && data[0].Effective&(1<<unix.CAP_SETUID) == 0 {
		missing = append(missing, "CAP_SETUID")
	}
	return strings.Join(missing, " and ")
}

// idMapped reports whether id falls in one of the ranges of a uid_map or
// gid_map ("inside outside count" per line), as seen from inside.
func idMapped(idMap []byte, id uint32) bool {
	for _, line := range bytes.Split(idMap, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) != 3 {
			continue
		}
		first, err1 := strconv.ParseUint(f[0], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && uint64(id) >= first && uint64(id) < first+count {
			return true
		}
	}
	return false
}
