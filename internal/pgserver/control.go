package pgserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// State is the cluster state that pg_control records: PostgreSQL's DBState.
type State int32

// The values of DBState, in PostgreSQL's order (catalog/pg_control.h).
const (
	StateStartingUp         State = iota // DB_STARTUP
	StateShutDown                        // DB_SHUTDOWNED
	StateShutDownInRecovery              // DB_SHUTDOWNED_IN_RECOVERY
	StateShuttingDown                    // DB_SHUTDOWNING
	StateInCrashRecovery                 // DB_IN_CRASH_RECOVERY
	StateInArchiveRecovery               // DB_IN_ARCHIVE_RECOVERY
	StateInProduction                    // DB_IN_PRODUCTION
)

// stateWords are pg_controldata's words for each state, its "Database
// cluster state" line.
var stateWords = [...]string{
	StateStartingUp:         "starting up",
	StateShutDown:           "shut down",
	StateShutDownInRecovery: "shut down in recovery",
	StateShuttingDown:       "shutting down",
	StateInCrashRecovery:    "in crash recovery",
	StateInArchiveRecovery:  "in archive recovery",
	StateInProduction:       "in production",
}

// String is what pg_controldata prints for s ("shut down", "in
// production"), or its "unrecognized status code" for a value it does not
// know.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateWords) {
		return "unrecognized status code"
	}
	return stateWords[s]
}

// Control is what lastcall reads of a cluster's global/pg_control.
type Control struct {
	// Version is pg_control_version: 1201 for PostgreSQL 12, 1300 for 13
	// to 16, 1700 for 17.
	Version uint32
	// CatalogVersion is catalog_version_no, e.g. 202209061 for 15.
	CatalogVersion uint32
	// State is the cluster state when pg_control was last written.
	State State
	// Modified is when pg_control was last written ("pg_control last
	// modified"), to the second.
	Modified time.Time
	// Checkpoint is the time of the latest checkpoint ("Time of latest
	// checkpoint"), to the second; a clean shutdown writes one.
	Checkpoint time.Time
}

// Clean reports whether the cluster was shut down cleanly: true only for
// "shut down", the state a smart or fast shutdown of a primary leaves after
// its shutdown checkpoint. The next start needs no recovery.
//
// A standby (or a server still replaying archived WAL) that is shut down
// cleanly leaves "shut down in recovery" instead: its files are consistent
// as of its last restartpoint, and the next start goes on replaying WAL, as
// a standby always does. That is the normal end of a standby, but Clean
// reports false for it, since the cluster is not a finished primary; a
// caller that runs standbys checks for [StateShutDownInRecovery] itself.
// Every other state means the server did not finish a shutdown: "in
// production" after a SIGKILL or a crash, and the next start runs crash
// recovery ("database system was not properly shut down").
func (c Control) Clean() bool { return c.State == StateShutDown }

// The errors of [ParseControl] and [ReadControl], for errors.Is. A missing
// file is an error for which errors.Is(err, fs.ErrNotExist) holds.
var (
	ErrShortControl   = errors.New("pg_control is too short")
	ErrUnknownVersion = errors.New("pg_control version not known")
	ErrBadCRC         = errors.New("pg_control CRC does not match its contents")
	ErrUnknownState   = errors.New("pg_control state not known")
)

// controlFileSize is PG_CONTROL_FILE_SIZE: PostgreSQL writes pg_control as
// 8192 bytes, the struct and then zeros. No more is read.
const controlFileSize = 8192

// ControlPath is the path of pg_control in the data directory dataDir.
func ControlPath(dataDir string) string { return filepath.Join(dataDir, "global", "pg_control") }

// ReadControl reads and checks dataDir/global/pg_control.
func ReadControl(dataDir string) (Control, error) {
	path := ControlPath(dataDir)
	f, err := os.Open(path)
	if err != nil {
		return Control{}, err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, controlFileSize))
	if err != nil {
		return Control{}, fmt.Errorf("read %s: %w", path, err)
	}
	c, err := ParseControl(b)
	if err != nil {
		return Control{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseControl parses the contents of a pg_control file written on this
// machine (in its byte order) by PostgreSQL 12 to 17, and checks its CRC.
// On error the Control is zero: a file that fails its CRC says nothing
// trustworthy.
func ParseControl(b []byte) (Control, error) {
	if len(b) < headerSize {
		return Control{}, fmt.Errorf("%w: %d bytes", ErrShortControl, len(b))
	}
	version := binary.NativeEndian.Uint32(b[offVersion:])
	l, ok := layoutFor(version)
	if !ok {
		return Control{}, unknownVersion(version)
	}
	if len(b) < l.crc+4 {
		return Control{}, fmt.Errorf("%w: %d bytes, version %d needs %d", ErrShortControl, len(b), version, l.crc+4)
	}
	stored := binary.NativeEndian.Uint32(b[l.crc:])
	if sum := crc32.Checksum(b[:l.crc], castagnoli); sum != stored {
		return Control{}, fmt.Errorf("%w: stored %08x, computed %08x", ErrBadCRC, stored, sum)
	}
	c := Control{
		Version:        version,
		CatalogVersion: binary.NativeEndian.Uint32(b[offCatalogVersion:]),
		State:          State(int32(binary.NativeEndian.Uint32(b[offState:]))),
		Modified:       unixTime(b[offTime:]),
		Checkpoint:     unixTime(b[l.checkpointTime:]),
	}
	if c.State.String() == "unrecognized status code" {
		return Control{}, fmt.Errorf("%w: %d", ErrUnknownState, c.State)
	}
	return c, nil
}

// unknownVersion says which version was found, and whether it is a known
// one in the other byte order (pg_controldata's "possible byte ordering
// mismatch").
func unknownVersion(version uint32) error {
	swapped := version>>24 | version>>8&0xff00 | version<<8&0xff0000 | version<<24
	if _, ok := layoutFor(swapped); ok {
		return fmt.Errorf("%w: %d, or %d written in the other byte order", ErrUnknownVersion, version, swapped)
	}
	return fmt.Errorf("%w: %d (known: %s)", ErrUnknownVersion, version, knownVersions)
}

// unixTime reads a pg_time_t: seconds since 1970 as a signed 64-bit number.
func unixTime(b []byte) time.Time {
	return time.Unix(int64(binary.NativeEndian.Uint64(b)), 0)
}
