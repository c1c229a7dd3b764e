package sockview

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
)

// SocketInodes lists the inodes of the sockets process pid has open, from
// its /proc/PID/fd links (socket:[N]), each once, in ascending order. It only
// reads /proc. A descriptor closed while it reads is skipped; a process that
// is gone, or whose fds lastcall may not read, is an error.
func SocketInodes(pid int) ([]uint64, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var inodes []uint64
	for _, e := range entries {
		link, err := os.Readlink(dir + "/" + e.Name())
		if errors.Is(err, fs.ErrNotExist) {
			continue // closed meanwhile
		}
		if err != nil {
			return nil, err
		}
		if inode, ok := parseSocketLink(link); ok {
			inodes = append(inodes, inode)
		}
	}
	slices.Sort(inodes)
	return slices.Compact(inodes), nil
}

// parseSocketLink reads the inode of an fd link "socket:[12345]".
func parseSocketLink(link string) (uint64, bool) {
	rest, ok := strings.CutPrefix(link, "socket:[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return 0, false
	}
	inode, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
	return inode, err == nil
}
