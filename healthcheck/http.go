package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/lastcall-dev/lastcall/internal/dial"
)

// bodyLimit is how much of a response body an HTTP probe reads before it
// closes the connection: the body is never needed, reading a little lets a
// small response end cleanly.
const bodyLimit = 4 << 10

// HTTP probes rawURL with one GET: healthy on a 2xx status within timeout
// (or before ctx ends). Redirects are not followed: a 3xx is unhealthy, and
// the reason names where it pointed. Keep-alives are off and no proxy is
// used, so the probe leaves no connection or goroutine behind.
func HTTP(ctx context.Context, rawURL string, timeout time.Duration) Result {
	u, err := url.Parse(rawURL)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		err = errors.New("want an http:// or https:// URL with a host")
	}
	if err != nil {
		return unhealthy(err, "GET %s: %v", redactedURL(rawURL), err)
	}
	target := u.Redacted()
	ctx, cancel := context.WithDeadline(ctx, deadlineFor(ctx, timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return unhealthy(err, "GET %s: %v", target, err)
	}
	req.Header.Set("User-Agent", "lastcall-healthcheck")
	transport := &http.Transport{
		DialContext:        dial.DialContext,
		DisableKeepAlives:  true,
		DisableCompression: true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return unhealthy(err, "GET %s: %s", target, describe(err, timeout))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, bodyLimit))
	_ = resp.Body.Close()
	status := resp.Status
	switch code := resp.StatusCode; {
	case code >= 200 && code <= 299:
		return healthy("GET %s: %s", target, status)
	case code >= 300 && code <= 399:
		return unhealthy(nil, "GET %s: %s, redirect to %q not followed", target, status, resp.Header.Get("Location"))
	}
	return unhealthy(nil, "GET %s: %s", target, status)
}

// redactedURL is rawURL with any password in it masked, also when it does not
// parse as a URL.
func redactedURL(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Redacted()
	}
	return fmt.Sprintf("(unparsable URL, %d bytes)", len(rawURL))
}
