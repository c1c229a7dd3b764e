package healthcheck

import (
	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/testutil"

	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTP(t *testing.T) {
	var followed atomic.Bool
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/no-content", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(make([]byte, 1<<20)) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/target", func(http.ResponseWriter, *http.Request) { followed.Store(true) })
	mux.HandleFunc("/slow", func(http.ResponseWriter, *http.Request) { <-release })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release) // before srv.Close: let the blocked handler go
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	const timeout = 500 * time.Millisecond

	tests := []struct {
		name        string
		url         string
		wantHealthy bool
		wantReason  string
	}{
		{"200", srv.URL + "/ok", true, "200 OK"},
		{"204", srv.URL + "/no-content", true, "204 No Content"},
		{"big body", srv.URL + "/big", true, "200 OK"},
		{"localhost without a resolver", "http://localhost:" + port + "/ok", true, "200 OK"},
		{"500", srv.URL + "/fail", false, "500 Internal Server Error"},
		{"404", srv.URL + "/nowhere", false, "404 Not Found"},
		{"301 not followed", srv.URL + "/moved", false, `301 Moved Permanently, redirect to "/target" not followed`},
		{"slow", srv.URL + "/slow", false, "timeout after 500ms"},
		{"refused", "http://" + testutil.RefusedAddr(t) + "/", false, "connection refused"},
		{"not http", "ftp://example.com/", false, "want an http:// or https:// URL"},
		{"password hidden", "http://user:hunter2hunter2@" + testutil.RefusedAddr(t) + "/", false, "user:xxxxx@"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got := HTTP(context.Background(), tc.url, timeout)
			testutil.Within(t, start, timeout)
			if got.Healthy != tc.wantHealthy || !strings.Contains(got.Reason, tc.wantReason) || strings.Contains(got.Reason, "\n") {
				t.Errorf("HTTP(%q) = %+v; want healthy %v, one line with %q", tc.url, got, tc.wantHealthy, tc.wantReason)
			}
			if strings.Contains(got.Reason, "hunter2") {
				t.Errorf("reason %q holds the URL's password", got.Reason)
			}
		})
	}
	if followed.Load() {
		t.Error("the probe followed a redirect")
	}
}

func TestHTTPCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := HTTP(ctx, "http://"+pgtest.SilentPeer(t)+"/", 5*time.Second)
	if got.Healthy || !strings.Contains(got.Reason, "cancelled") {
		t.Errorf("HTTP with a cancelled context = %+v; want unhealthy, cancelled", got)
	}
}
