package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

const (
	wantDBCheck  = "off, local, server or both"
	wantDBSource = "--db-url, LASTCALL_DB_URL or DATABASE_URL"
	wantBool     = "true or false"
)

// Exit codes of the database features.
const (
	exitLeaked     = 3 // --db-strict: the drain check found a leak and the app exited 0
	exitDBNotReady = 4 // --wait-db: the database was not ready in time, or refused lastcall for good
)

// dbSettings are the Postgres drain check's and --wait-db's settings.
type dbSettings struct {
	check     string // off, local, server or both
	url       string
	timeout   time.Duration
	tag       bool
	strict    bool
	showQuery bool
	waitDB    time.Duration
}

func addDBFlags(fs *pflag.FlagSet) {
	fs.String(flagDBCheck, "off", "Postgres drain check at shutdown: `off|local|server|both`")
	fs.String(flagDBURL, "", "the app's database `URL` (default: DATABASE_URL); prefer the env var: a command line is readable by all")
	fs.String(flagDBTimeout, "3s", "how long the drain verdict may wait once the tree is down (`DURATION`)")
	fs.String(flagDBTag, "true", "tag the app's sessions with a per-instance PGAPPNAME (unless it sets one): `true|false`")
	fs.String(flagDBStrict, "false", "exit 3 when the drain check finds a leak and lastcall would exit 0 (after --remap-exit): `true|false`")
	fs.String(flagDBShowQuery, "false", "log the query text of sessions left behind (it may hold data): `true|false`")
	fs.String(flagWaitDB, "0s", "before starting the app, wait up to `DURATION` for the database to accept connections (0: do not wait)")
}

// resolveDB reads the database flags; the URL falls back to DATABASE_URL.
func resolveDB(get func(string) source, lookupEnv func(string) (string, bool)) (dbSettings, error) {
	var db dbSettings
	src := get(flagDBCheck)
	db.check = strings.ToLower(strings.TrimSpace(src.text))
	switch db.check {
	case "off", "local", "server", "both":
	default:
		return db, src.invalid(wantDBCheck)
	}
	db.url = get(flagDBURL).text
	if db.url == "" {
		db.url, _ = lookupEnv("DATABASE_URL")
	}
	var err error
	if db.timeout, err = parsePositive(get(flagDBTimeout)); err != nil {
		return db, err
	}
	for _, b := range []struct {
		flag string
		into *bool
	}{{flagDBTag, &db.tag}, {flagDBStrict, &db.strict}, {flagDBShowQuery, &db.showQuery}} {
		if *b.into, err = parseBool(get(b.flag)); err != nil {
			return db, err
		}
	}
	if db.waitDB, err = parseGrace(get(flagWaitDB)); err != nil {
		return db, err
	}
	if (db.check != "off" || db.waitDB > 0) && strings.TrimSpace(db.url) == "" {
		return db, usagef("--%s and --%s need the database URL: want %s in %s", flagDBCheck, flagWaitDB, wantDBURL, wantDBSource)
	}
	return db, nil
}

func parsePositive(src source) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(src.text))
	if err != nil || d <= 0 {
		return 0, src.invalid(wantPositive)
	}
	return d, nil
}

func parseBool(src source) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(src.text))
	if err != nil {
		return false, src.invalid(wantBool)
	}
	return b, nil
}

// databaseURLs is every text that may hold a database password: the
// variables lastcall reads URLs from, and each argument (and what follows
// the = of --flag=VALUE), for the panic report to mask. A text that is no
// URL masks nothing.
func databaseURLs(args []string, getenv func(string) string) []string {
	urls := []string{getenv("DATABASE_URL"), getenv(envName(flagDBURL)), getenv("LASTCALL_DB")}
	for _, a := range args {
		urls = append(urls, a)
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			urls = append(urls, v)
		}
	}
	return urls
}
