package pgconn

import (
	"github.com/lib/pq"

	"github.com/lastcall-dev/lastcall/internal/connstr"
	"github.com/lastcall-dev/lastcall/internal/redact"
	"github.com/lastcall-dev/lastcall/internal/sockview"

	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

// clearPGEnv unsets every PG* variable for the test (and restores them
// after), so that the machine's environment does not fill in a DSN.
func clearPGEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PG") {
			t.Setenv(k, v)
			_ = os.Unsetenv(k)
		}
	}
}

func TestEndpoints(t *testing.T) {
	clearPGEnv(t)
	loopback := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	ip := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	tcp := func(host string, ips []netip.Addr, port uint16) sockview.Endpoint {
		return sockview.Endpoint{Network: "tcp", Host: host, IPs: ips, Port: port}
	}
	unix := func(dir string, port uint16, path string) sockview.Endpoint {
		return sockview.Endpoint{Network: "unix", Host: dir, Port: port, SocketPath: path}
	}
	tests := []struct {
		name string
		dsn  string
		want []sockview.Endpoint
	}{
		// No host named: lib/pq dials localhost, libpq apps use the
		// default socket directories; the local view watches all three.
		{"empty: localhost:5432 and libpq's sockets", "", []sockview.Endpoint{tcp("localhost", loopback, 5432),
			unix("/var/run/postgresql", 5432, "/var/run/postgresql/.s.PGSQL.5432"), unix("/tmp", 5432, "/tmp/.s.PGSQL.5432")}},
		{"no host in a URL", "postgres://u@/db?port=6000", []sockview.Endpoint{tcp("localhost", loopback, 6000),
			unix("/var/run/postgresql", 6000, "/var/run/postgresql/.s.PGSQL.6000"), unix("/tmp", 6000, "/tmp/.s.PGSQL.6000")}},
		{"no host in key=value", "dbname=app port=6001", []sockview.Endpoint{tcp("localhost", loopback, 6001),
			unix("/var/run/postgresql", 6001, "/var/run/postgresql/.s.PGSQL.6001"), unix("/tmp", 6001, "/tmp/.s.PGSQL.6001")}},
		{"url, ip and port", "postgres://u:pw@10.1.2.3:6543/db", []sockview.Endpoint{tcp("10.1.2.3", ip("10.1.2.3"), 6543)}},
		{"url, ipv6", "postgres://u@[::1]:5433/db", []sockview.Endpoint{tcp("::1", ip("::1"), 5433)}},
		{"url, LOCALHOST", "postgres://LOCALHOST/db", []sockview.Endpoint{tcp("LOCALHOST", loopback, 5432)}},
		{"url, multi-host with ?port=", "postgres://10.0.0.1,10.0.0.2/db?port=5432,6432",
			[]sockview.Endpoint{tcp("10.0.0.1", ip("10.0.0.1"), 5432), tcp("10.0.0.2", ip("10.0.0.2"), 6432)}},
		{"url, multi-host one port for all", "postgres://10.0.0.1,10.0.0.2:7000/db",
			[]sockview.Endpoint{tcp("10.0.0.1", ip("10.0.0.1"), 7000), tcp("10.0.0.2", ip("10.0.0.2"), 7000)}},
		{"url, unix socket in ?host=", "postgres:///db?host=/run/pg&port=6000",
			[]sockview.Endpoint{unix("/run/pg", 6000, "/run/pg/.s.PGSQL.6000")}},
		{"kv, multi-host, ports", "host=10.0.0.1,::1 port=5432,5433",
			[]sockview.Endpoint{tcp("10.0.0.1", ip("10.0.0.1"), 5432), tcp("::1", ip("::1"), 5433)}},
		{"kv, empty item is localhost", "host=10.0.0.1, port=1,", []sockview.Endpoint{tcp("10.0.0.1", ip("10.0.0.1"), 1), tcp("localhost", loopback, 5432)}},
		{"kv, unix directories", "host=/tmp,/var/run/postgresql/ port=5432",
			[]sockview.Endpoint{unix("/tmp", 5432, "/tmp/.s.PGSQL.5432"), unix("/var/run/postgresql/", 5432, "/var/run/postgresql/.s.PGSQL.5432")}},
		{"kv, abstract socket", "host=@pg port=5", []sockview.Endpoint{unix("@pg", 5, "@pg/.s.PGSQL.5")}},
		{"kv, unix and tcp", "host=/tmp,127.0.0.1 port=5432,5433",
			[]sockview.Endpoint{unix("/tmp", 5432, "/tmp/.s.PGSQL.5432"), tcp("127.0.0.1", ip("127.0.0.1"), 5433)}},
		{"kv, hostaddr wins over host", "host=db.internal hostaddr=10.9.8.7", []sockview.Endpoint{tcp("db.internal", ip("10.9.8.7"), 5432)}},
		{"kv, hostaddr wins over a socket dir", "host=/tmp hostaddr=10.9.8.7", []sockview.Endpoint{tcp("/tmp", ip("10.9.8.7"), 5432)}},
		{"kv, hostaddr list alone", "hostaddr=10.0.0.1,fd00::2 port=1,2",
			[]sockview.Endpoint{tcp("localhost", ip("10.0.0.1"), 1), tcp("", ip("fd00::2"), 2)}},
		{"kv, host and hostaddr lists", "host=a,b hostaddr=10.0.0.1,10.0.0.2",
			[]sockview.Endpoint{tcp("a", ip("10.0.0.1"), 5432), tcp("b", ip("10.0.0.2"), 5432)}},
		{"kv, v4-mapped literal", "host=::ffff:10.0.0.1", []sockview.Endpoint{tcp("::ffff:10.0.0.1", ip("10.0.0.1"), 5432)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Endpoints(tc.dsn)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Endpoints(%q) = %+v, %v; want %+v", tc.dsn, got, err, tc.want)
			}
		})
	}
}

func TestEndpointsEnvironment(t *testing.T) {
	clearPGEnv(t)
	t.Setenv("PGHOST", "/run/a,10.0.0.1")
	t.Setenv("PGPORT", "7,8")
	want := []sockview.Endpoint{{Network: "unix", Host: "/run/a", Port: 7, SocketPath: "/run/a/.s.PGSQL.7"},
		{Network: "tcp", Host: "10.0.0.1", IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Port: 8}}
	got, err := Endpoints("dbname=x")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Endpoints with PGHOST, PGPORT = %+v, %v; want %+v", got, err, want)
	}
}

func TestEndpointsErrors(t *testing.T) {
	clearPGEnv(t)
	tests := []struct {
		name, dsn, want string
	}{
		{"more ports than hosts", "host=a,b port=1,2,3", "could not match 3 port numbers to 2 hosts"},
		{"host and hostaddr lists differ", "host=a,b hostaddr=10.0.0.1", "could not match 2 host names to 1 hostaddr"},
		{"bad port", "postgres://u:hunter2hunter2@db:port/x", "invalid port"},
		{"bad hostaddr", "hostaddr=db", "hostaddr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Endpoints(tc.dsn)
			var cfgErr *ConfigError
			if got != nil || !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Endpoints(%q) = %v, %v; want a ConfigError with %q", redact.Redact(tc.dsn), got, err, tc.want)
			}
		})
	}
}

// TestEndpointsLookupFails: a name that does not resolve keeps its place in
// the list, without IPs, and the error names it.
func TestEndpointsLookupFails(t *testing.T) {
	clearPGEnv(t)
	got, err := Endpoints("host=127.0.0.1,lastcall-no-such-host.invalid port=1,2")
	if len(got) != 2 || len(got[0].IPs) != 1 || len(got[1].IPs) != 0 || got[1].Port != 2 ||
		err == nil || !strings.Contains(err.Error(), "lastcall-no-such-host.invalid") {
		t.Errorf("Endpoints with an unknown host = %+v, %v; want two endpoints, the second without IPs, and an error naming it", got, err)
	}
}

func TestNamesHost(t *testing.T) {
	tests := []struct {
		dsn  string
		want bool
	}{
		{"postgres://app@db/app", true},
		{"postgres:///app?host=/run/pg", true},
		{"postgres:///app", false},
		{"host=db user=app", true},
		{"user=app hostaddr=10.0.0.1", true},
		{"user=app host =db", true},
		{"user=app host=", false},
		{"host=db host=", false},
		{"host='' user=app", false},
		{"user=app dbname=app", false},
		{"user=app password='x host=db'", false},
		{"user=app password=host=db", false},
		{"user=app ghost=db", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := namesHost(tt.dsn); got != tt.want {
			t.Errorf("namesHost(%q) = %v, want %v", tt.dsn, got, tt.want)
		}
	}
}

// FuzzUsesDefaultHost holds usesDefaultHost on key=value text to lib/pq:
// whenever lib/pq parses the input, it says yes exactly when one of the
// hosts lib/pq reads takes PGHOST, or is empty, with no hostaddr of the
// text's own (an empty or absent host means the default: libpq's unix
// socket). URLs are left to TestNamesHost: lib/pq reads a URL's host list
// its own way.
func FuzzUsesDefaultHost(f *testing.F) {
	for _, seed := range []string{
		"host=db user=app", "user=app hostaddr=10.0.0.1", "user=app host=", "host=db host=",
		"user=app password='x host=db'", "host='' user=app", `host=\  user=app`, "host=,db", "host=a,b port=1,2",
	} {
		f.Add(seed)
	}
	for _, k := range os.Environ() {
		if strings.HasPrefix(k, "PG") {
			f.Skip("PG* variables in the environment change what lib/pq parses")
		}
	}
	const markerHost, markerAddr = "/fuzz-host-marker", "192.0.2.1"
	f.Fuzz(func(t *testing.T, dsn string) {
		plain, err := pq.NewConfig(dsn)
		if err != nil || connstr.IsURL(dsn) {
			return
		}
		got := usesDefaultHost(dsn, append([]pq.ConfigMultihost{{Host: plain.Host, Hostaddr: plain.Hostaddr}}, plain.Multi...), "")
		t.Setenv("PGHOST", markerHost)
		t.Setenv("PGHOSTADDR", markerAddr)
		withEnv, err := pq.NewConfig(dsn)
		if err != nil {
			return
		}
		want := false
		for _, h := range append([]pq.ConfigMultihost{{Host: withEnv.Host, Hostaddr: withEnv.Hostaddr}}, withEnv.Multi...) {
			noHost := h.Host == "" || h.Host == markerHost
			noAddr := !h.Hostaddr.IsValid() || h.Hostaddr.String() == markerAddr
			want = want || (noHost && noAddr)
		}
		if got != want {
			t.Fatalf("usesDefaultHost(%q) = %v, want %v: lib/pq reads host %q hostaddr %v %+v (with PGHOST and PGHOSTADDR set: %q %v %+v)",
				dsn, got, want, plain.Host, plain.Hostaddr, plain.Multi, withEnv.Host, withEnv.Hostaddr, withEnv.Multi)
		}
	})
}
