package cli

import "strings"

// DatabaseURLs is every text that may hold a database password: the
// variables lastcall reads URLs from, and each argument (and what follows
// the = of --flag=VALUE), for the panic report to mask. A text that is no
// URL masks nothing.
func DatabaseURLs(args []string, getenv func(string) string) []string {
	urls := []string{getenv("DATABASE_URL"), getenv(envName("db-url")), getenv(envName("db"))}
	for _, a := range args {
		urls = append(urls, a)
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			urls = append(urls, v)
		}
	}
	return urls
}
