package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// DatabaseURLs is every text that may hold a database password: the
// variables lastcall reads URLs from, and each argument (and what follows
// the = of --flag=VALUE), for the panic report to mask. A text that is no
// URL masks nothing.
func DatabaseURLs(args []string, getenv func(string) string) []string {
	urls := []string{getenv("DATABASE_URL"), getenv(envName("db-url")), getenv(envName("db"))}
	for _, name := range secretFileVars {
		if path := getenv(name + "_FILE"); path != "" {
			if b, err := readSecretFile(path); err == nil {
				urls = append(urls, strings.TrimSpace(string(b)))
			}
		}
	}
	for _, a := range args {
		urls = append(urls, a)
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			urls = append(urls, v)
		}
	}
	return urls
}

// secretFileVars are the variables that may instead name a file holding
// their value (NAME_FILE, the convention of the official images for Docker
// and Kubernetes secrets).
var secretFileVars = []string{"LASTCALL_DB_URL", "DATABASE_URL"}

// maxSecretFile bounds what lastcall reads of a secret file.
const maxSecretFile = 64 << 10

// withSecretFiles returns lookupEnv with LASTCALL_DB_URL and DATABASE_URL
// read from the file that NAME_FILE names when NAME is unset or empty (one
// trailing newline dropped). A file that cannot be read is a usage error
// naming the variable and the path, never the contents.
func withSecretFiles(lookupEnv func(string) (string, bool)) (func(string) (string, bool), error) {
	values := map[string]string{}
	for _, name := range secretFileVars {
		if v, ok := lookupEnv(name); ok && v != "" {
			continue
		}
		path, ok := lookupEnv(name + "_FILE")
		if !ok || path == "" {
			continue
		}
		b, err := readSecretFile(path)
		if err != nil {
			return nil, Usagef("%s_FILE: %v: want a readable file holding %s", name, err, wantDBURL)
		}
		values[name] = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	return func(key string) (string, bool) {
		if v, ok := values[key]; ok {
			return v, true
		}
		return lookupEnv(key)
	}, nil
}

func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err == nil && len(b) > maxSecretFile {
		err = fmt.Errorf("%s: larger than %d KiB", path, maxSecretFile>>10)
	}
	return b, err
}
