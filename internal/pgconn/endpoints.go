package pgconn

import (
	"github.com/lastcall-dev/lastcall/internal/connstr"
	"github.com/lastcall-dev/lastcall/internal/sockview"

	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// resolveTimeout bounds the name lookups of [Endpoints], all of them together.
const resolveTimeout = 2 * time.Second

// Endpoints lists the servers dsn connects to, in lib/pq's order: the first
// host, then every further one of a multi-host DSN (host=a,b port=1,2 or
// postgres://a,b/db?port=1,2), PG* variables filling in what dsn leaves out.
// Host names are resolved under one deadline of a few seconds; "localhost"
// (and an empty host, which lib/pq dials as the local system) are the
// loopback addresses without a lookup.
//
// The error is a *[ConfigError] when lib/pq rejects dsn; then eps is nil.
// When lookups fail, eps is still complete (those endpoints have no IPs) and
// err names the hosts that did not resolve.
func Endpoints(dsn string) (eps []sockview.Endpoint, err error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return nil, configError(dsn, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	hosts := []pq.ConfigMultihost{{Host: cfg.Host, Hostaddr: cfg.Hostaddr, Port: cfg.Port}}
	hosts = append(hosts, cfg.Multi...)
	var errs []error
	for _, h := range hosts {
		ep, err := endpointOf(ctx, h)
		if err != nil {
			errs = append(errs, err)
		}
		eps = append(eps, ep)
	}
	if usesDefaultHost(dsn, hosts, os.Getenv("PGHOST")) {
		// lib/pq then dials localhost over TCP, but libpq apps (psql,
		// psycopg2) use the unix socket in the default directories.
		for _, dir := range libpqSocketDirs {
			eps = append(eps, sockview.Endpoint{Network: "unix", Host: dir, Port: cfg.Port,
				SocketPath: filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(int(cfg.Port)))})
		}
	}
	return eps, errors.Join(errs...)
}

// libpqSocketDirs are where libpq looks for the server's unix socket when
// no host is named: Debian's build, then upstream's default.
var libpqSocketDirs = []string{"/var/run/postgresql", "/tmp"}

// usesDefaultHost reports whether a connection to dsn may go to the
// default host, where libpq apps use a unix socket: dsn names no host
// itself and PGHOST names none either, or one entry of its host list
// (hosts, as lib/pq read them) is empty, with no hostaddr (an explicit
// empty entry is the default whatever PGHOST says).
func usesDefaultHost(dsn string, hosts []pq.ConfigMultihost, pghost string) bool {
	if !namesHost(dsn) && pghost == "" {
		return true
	}
	for _, h := range hosts {
		if h.Host == "" && !h.Hostaddr.IsValid() {
			return true
		}
	}
	return false
}

// namesHost reports whether dsn names a host itself (a URL's host part or
// host parameter, or a host or hostaddr key).
func namesHost(dsn string) bool {
	if connstr.IsURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			return true
		}
		q := u.Query()
		return u.Hostname() != "" || q.Get("host") != "" || q.Get("hostaddr") != ""
	}
	return connstr.NamesHost(dsn)
}

// endpointOf is where lib/pq dials for one host (see pq.Config's network):
// hostaddr wins, then an absolute path or @name is a unix socket directory,
// else a TCP host.
func endpointOf(ctx context.Context, h pq.ConfigMultihost) (sockview.Endpoint, error) {
	ep := sockview.Endpoint{Network: "tcp", Host: h.Host, Port: h.Port}
	switch {
	case h.Hostaddr.IsValid():
		ep.IPs = []netip.Addr{h.Hostaddr.WithZone("")}
		return ep, nil
	case filepath.IsAbs(h.Host) || strings.HasPrefix(h.Host, "@"):
		ep.Network = "unix"
		ep.SocketPath = filepath.Join(h.Host, ".s.PGSQL."+strconv.Itoa(int(h.Port)))
		return ep, nil
	}
	ips, err := resolve(ctx, h.Host)
	ep.IPs = ips
	return ep, err
}

// resolve looks host up: an IP literal as it is, localhost (and "", the
// local system to Go's dialer) as the loopback addresses, else by the
// resolver under ctx.
func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.WithZone("").Unmap()}, nil
	}
	if host == "" || strings.EqualFold(host, "localhost") {
		return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	for i, ip := range ips {
		ips[i] = ip.WithZone("").Unmap()
	}
	return ips, nil
}
