package pgserver

import (
	"bytes"
	"strings"
)

// postgresValueOptions are the short options of postgres that take a
// value (its getopt string "B:bC:c:D:d:EeFf:h:ijk:lN:nOPp:r:S:sTt:W:-:"),
// '-' being the "--name=value" form of -c.
const postgresValueOptions = "BCcDdfhkNprStW-"

// dataDirsFromArgs returns the data directories that a postgres command
// line names, most likely first: the data_directory setting (-c
// data_directory=DIR, --data_directory=DIR or --data-directory=DIR), which
// is the data directory when -D names only the configuration's directory,
// then the -D argument. For each, the last one given wins, as in postgres.
// The first element of args is the program. Paths are returned as they
// are, relative ones too.
func dataDirsFromArgs(args []string) []string {
	var setting, dashD string
	for i := 1; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			continue
		}
		opt, value, consumed := shortOption(arg[1:], args[i+1:])
		i += consumed
		switch opt {
		case 'D':
			dashD = value
		case 'c', '-':
			if dir, ok := dataDirectorySetting(value); ok {
				setting = dir
			}
		}
	}
	var out []string
	for _, dir := range []string{setting, dashD} {
		if dir != "" {
			out = append(out, dir)
		}
	}
	return out
}

// shortOption reads one argument of clustered short options ("bD/dir",
// "D") the way getopt does, and returns the first option that takes a
// value, with that value: the rest of the argument, else the next
// argument (consumed is then 1). opt is 0 when no option takes a value.
func shortOption(cluster string, rest []string) (opt byte, value string, consumed int) {
	for j := 0; j < len(cluster); j++ {
		if !strings.ContainsRune(postgresValueOptions, rune(cluster[j])) {
			continue
		}
		if j+1 < len(cluster) {
			return cluster[j], cluster[j+1:], 0
		}
		if len(rest) == 0 {
			return cluster[j], "", 0
		}
		return cluster[j], rest[0], 1
	}
	return 0, "", 0
}

// dataDirectorySetting reads NAME=VALUE and reports VALUE when NAME is
// data_directory (postgres takes '-' for '_' in names given this way).
func dataDirectorySetting(s string) (string, bool) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || strings.ReplaceAll(name, "-", "_") != "data_directory" {
		return "", false
	}
	return value, true
}

// splitNUL splits the contents of /proc/PID/cmdline or /proc/PID/environ,
// strings each ended by a NUL.
func splitNUL(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// lookupEnv finds key in an environment of KEY=VALUE strings; the first
// one wins, as with getenv.
func lookupEnv(environ []string, key string) (string, bool) {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}
