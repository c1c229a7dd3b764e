package pgserver

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// synthetic describes a pg_control to build. The offsets are written out
// here, apart from the package's table, as the layouts' second statement.
type synthetic struct {
	version, catalog  uint32
	state             int32
	modified, ckpt    int64
	ckptTimeAt, crcAt int
}

var (
	modifiedAt   = time.Date(2025, 3, 1, 12, 30, 5, 0, time.UTC)
	checkpointAt = time.Date(2025, 3, 1, 12, 29, 59, 0, time.UTC)
)

// pg builds a synthetic file of version with state, at the offsets of
// PostgreSQL 12 to 17 on a 64-bit platform (the crc at 288, the checkpoint
// copy's time at 104).
func pg(version uint32, state State) synthetic {
	return synthetic{version: version, catalog: 202209061, state: int32(state),
		modified: modifiedAt.Unix(), ckpt: checkpointAt.Unix(), ckptTimeAt: 104, crcAt: 288}
}

// bytes lays s out as PostgreSQL writes pg_control: 8192 bytes, the struct
// and then zeros, its CRC-32C at crcAt over every byte before it.
func (s synthetic) bytes() []byte {
	b := make([]byte, controlFileSize)
	ne := binary.NativeEndian
	ne.PutUint64(b[0:], 7316624318329491456) // system_identifier
	ne.PutUint32(b[8:], s.version)
	ne.PutUint32(b[12:], s.catalog)
	ne.PutUint32(b[16:], uint32(s.state))
	ne.PutUint64(b[24:], uint64(s.modified))
	ne.PutUint64(b[32:], 0x1_6B374D8) // checkPoint
	ne.PutUint64(b[40:], 0x1_6B374A0) // checkPointCopy.redo
	ne.PutUint64(b[s.ckptTimeAt:], uint64(s.ckpt))
	ne.PutUint32(b[s.crcAt:], crc32.Checksum(b[:s.crcAt], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func TestParseControlVersions(t *testing.T) {
	var tests []struct {
		file synthetic
		want Control
	}
	for _, version := range []uint32{1201, 1300, 1700} {
		for state := StateStartingUp; state <= StateInProduction; state++ {
			tests = append(tests, struct {
				file synthetic
				want Control
			}{pg(version, state), Control{Version: version, CatalogVersion: 202209061, State: state,
				Modified: modifiedAt, Checkpoint: checkpointAt}})
		}
	}
	for _, tt := range tests {
		got, err := ParseControl(tt.file.bytes())
		if err != nil || !sameControl(got, tt.want) {
			t.Errorf("version %d, state %d: ParseControl = %+v, %v; want %+v", tt.file.version, tt.file.state, got, err, tt.want)
		}
	}
}

// sameControl compares times as instants.
func sameControl(a, b Control) bool {
	return a.Version == b.Version && a.CatalogVersion == b.CatalogVersion && a.State == b.State &&
		a.Modified.Equal(b.Modified) && a.Checkpoint.Equal(b.Checkpoint)
}

// with returns b changed by edit, for the error table.
func with(b []byte, edit func([]byte)) []byte {
	edit(b)
	return b
}

func TestParseControlErrors(t *testing.T) {
	good := pg(1300, StateShutDown)
	unknownState := good
	unknownState.state = 7
	old := good
	old.version = 1100
	tests := []struct {
		name    string
		in      []byte
		wantErr error
		inMsg   string
	}{
		{"empty", nil, ErrShortControl, "0 bytes"},
		{"shorter than the header", good.bytes()[:31], ErrShortControl, "31 bytes"},
		{"cut before the crc", good.bytes()[:291], ErrShortControl, "version 1300 needs 292"},
		{"cut right after the crc", good.bytes()[:292], nil, ""},
		{"PostgreSQL 11", old.bytes(), ErrUnknownVersion, "1100 (known: 1201 (12), 1300 (13-16), 1700 (17))"},
		{"other byte order", with(good.bytes(), func(b []byte) {
			binary.NativeEndian.PutUint32(b[8:], 0x14050000)
		}), ErrUnknownVersion, "1300 written in the other byte order"},
		{"state byte changed", with(good.bytes(), func(b []byte) { b[16] = byte(StateInProduction) }), ErrBadCRC, "stored"},
		{"nonce byte changed", with(good.bytes(), func(b []byte) { b[287] ^= 1 }), ErrBadCRC, "computed"},
		{"crc changed", with(good.bytes(), func(b []byte) { b[290] ^= 0x80 }), ErrBadCRC, ""},
		{"padding after the struct changed", with(good.bytes(), func(b []byte) { b[300] = 1 }), nil, ""},
		{"state 7, CRC right", unknownState.bytes(), ErrUnknownState, ": 7"},
	}
	for _, tt := range tests {
		_, err := ParseControl(tt.in)
		if !errors.Is(err, tt.wantErr) || !strings.Contains(errText(err), tt.inMsg) {
			t.Errorf("%s: ParseControl error %v; want %v containing %q", tt.name, err, tt.wantErr, tt.inMsg)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestStateWordsAndClean(t *testing.T) {
	tests := []struct {
		state State
		words string
		clean bool
	}{
		{StateStartingUp, "starting up", false},
		{StateShutDown, "shut down", true},
		{StateShutDownInRecovery, "shut down in recovery", false},
		{StateShuttingDown, "shutting down", false},
		{StateInCrashRecovery, "in crash recovery", false},
		{StateInArchiveRecovery, "in archive recovery", false},
		{StateInProduction, "in production", false},
		{State(7), "unrecognized status code", false},
		{State(-1), "unrecognized status code", false},
	}
	for _, tt := range tests {
		if got, clean := tt.state.String(), (Control{State: tt.state}).Clean(); got != tt.words || clean != tt.clean {
			t.Errorf("State(%d): %q, Clean %v; want %q, %v", tt.state, got, clean, tt.words, tt.clean)
		}
	}
}

func TestReadControl(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadControl(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadControl(no global/pg_control) error %v; want fs.ErrNotExist", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "global"), 0o700); err != nil {
		t.Fatal(err)
	}
	long := append(pg(1700, StateShutDownInRecovery).bytes(), make([]byte, 4096)...)
	if err := os.WriteFile(ControlPath(dir), long, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ReadControl(dir)
	if err != nil || c.State != StateShutDownInRecovery || c.Version != 1700 {
		t.Errorf("ReadControl = %+v, %v; want version 1700, shut down in recovery", c, err)
	}
	if err := os.WriteFile(ControlPath(dir), long[:100], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadControl(dir); !errors.Is(err, ErrShortControl) || !strings.Contains(err.Error(), ControlPath(dir)) {
		t.Errorf("ReadControl(100 bytes) error %v; want ErrShortControl naming the file", err)
	}
}

func FuzzParseControl(f *testing.F) {
	for _, version := range []uint32{1201, 1300, 1700} {
		f.Add(pg(version, StateShutDown).bytes()[:320])
	}
	f.Add(pg(1300, StateInProduction).bytes()[:292])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseControl(b)
		if err != nil {
			if !errors.Is(err, ErrShortControl) && !errors.Is(err, ErrUnknownVersion) &&
				!errors.Is(err, ErrBadCRC) && !errors.Is(err, ErrUnknownState) || c != (Control{}) {
				t.Fatalf("ParseControl(%x) = %+v, %v: an error must be one of the package's, with a zero Control", b, c, err)
			}
			return
		}
		// Bytes after the CRC are not PostgreSQL's to check, nor ours.
		l := layouts[c.Version]
		again, err := ParseControl(b[:l.crc+4])
		if err != nil || again != c || c.State.String() == "unrecognized status code" {
			t.Fatalf("ParseControl(%x) = %+v, but cut after its CRC: %+v, %v", b, c, again, err)
		}
	})
}
