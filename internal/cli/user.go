package cli

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

const wantUser = "a user name or UID, with an optional :GROUP or :GID, like app or 1000:1000"

// resolveUser reads --user NAME|UID[:GROUP|GID] the way su-exec and Docker
// do: a name must exist in /etc/passwd; a UID that does not gets GID 0 (or
// the one given) and HOME=/. The supplementary groups are the user's from
// /etc/group; everything lastcall's own groups held is dropped.
func setUser(s *Settings, src source) error {
	if os.Geteuid() != 0 {
		return Usagef("--%s needs lastcall to run as root (it runs as uid %d)", src.spec.name, os.Geteuid())
	}
	name, group, hasGroup := strings.Cut(strings.TrimSpace(src.text), ":")
	if name == "" || (hasGroup && group == "") {
		return src.invalid(wantUser)
	}
	cred := &syscall.Credential{Groups: []uint32{}}
	home := "/"
	u, err := lookupUser(name)
	switch {
	case err == nil:
		cred.Uid, cred.Gid = atou(u.Uid), atou(u.Gid)
		home = u.HomeDir
		cred.Groups = supplementaryGroups(u)
	case isNumber(name):
		cred.Uid = atou(name)
	default:
		return src.invalid(fmt.Sprintf("%s (no user %q in /etc/passwd)", wantUser, name))
	}
	if hasGroup {
		g, err := lookupGroup(group)
		if err != nil {
			return src.invalid(fmt.Sprintf("%s (no group %q in /etc/group)", wantUser, group))
		}
		cred.Gid = g
	}
	s.Config.Credential, s.Home = cred, home
	return nil
}

func lookupUser(name string) (*user.User, error) {
	if isNumber(name) {
		return user.LookupId(name)
	}
	return user.Lookup(name)
}

func lookupGroup(group string) (uint32, error) {
	if isNumber(group) {
		return atou(group), nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, err
	}
	return atou(g.Gid), nil
}

func supplementaryGroups(u *user.User) []uint32 {
	ids, err := u.GroupIds()
	if err != nil {
		return []uint32{}
	}
	groups := make([]uint32, 0, len(ids))
	for _, id := range ids {
		groups = append(groups, atou(id))
	}
	return groups
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

func atou(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

// withHome returns env with HOME set to home, as su-exec does.
func withHome(env []string, home string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "HOME=") {
			out = append(out, kv)
		}
	}
	return append(out, "HOME="+home)
}
