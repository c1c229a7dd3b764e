package supervisor

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// forkingThreadWithoutCaps locks the calling goroutine to its thread and
// empties that thread's inheritable and ambient capability sets, so that a
// child forked from it and run as another user keeps no capability:
// setuid clears the permitted and effective sets, not the inheritable one,
// which a file capability could use again. Capabilities belong to each
// thread, and the fork copies the forking thread's. The caller unlocks the
// thread once the child has started; lastcall needs neither set itself.
func forkingThreadWithoutCaps() error {
	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	return nil
}
