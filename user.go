package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

const wantUser = "a user name or UID, with an optional :GROUP or :GID, like app or 1000:1000"

// runAs is the identity the child runs as with --user.
type runAs struct {
	cred *syscall.Credential
	home string
}

// resolveUser reads --user NAME|UID[:GROUP|GID] the way su-exec and Docker
// do: a name must exist in /etc/passwd; a UID that does not gets GID 0 (or
// the one given) and HOME=/. The supplementary groups are the user's from
// /etc/group; everything lastcall's own groups held is dropped.
func resolveUser(src source) (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{}, usagef("--%s needs lastcall to run as root (it runs as uid %d)", flagUser, os.Geteuid())
	}
	name, group, hasGroup := strings.Cut(strings.TrimSpace(src.text), ":")
	if name == "" || (hasGroup && group == "") {
		return runAs{}, src.invalid(wantUser)
	}
	r := runAs{cred: &syscall.Credential{Groups: []uint32{}}, home: "/"}
	u, err := lookupUser(name)
	switch {
	case err == nil:
		r.cred.Uid, r.cred.Gid = atou(u.Uid), atou(u.Gid)
		r.home = u.HomeDir
		r.cred.Groups = supplementaryGroups(u)
	case isNumber(name):
		r.cred.Uid = atou(name)
	default:
		return runAs{}, src.invalid(fmt.Sprintf("%s (no user %q in /etc/passwd)", wantUser, name))
	}
	if hasGroup {
		g, err := lookupGroup(group)
		if err != nil {
			return runAs{}, src.invalid(fmt.Sprintf("%s (no group %q in /etc/group)", wantUser, group))
		}
		r.cred.Gid = g
	}
	return r, nil
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
