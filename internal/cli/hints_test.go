package cli

import (
	"testing"
	"time"
)

func TestGracefulTimeout(t *testing.T) {
	tests := []struct {
		args []string
		env  string
		want time.Duration
		ok   bool
	}{
		{[]string{"gunicorn", "app:app"}, "", 30 * time.Second, true},
		{[]string{"/usr/bin/gunicorn", "--graceful-timeout", "5", "app:app"}, "", 5 * time.Second, true},
		{[]string{"gunicorn", "--graceful-timeout=12.5", "app:app"}, "", 12500 * time.Millisecond, true},
		{[]string{"gunicorn", "app:app"}, "-w 4 --graceful-timeout 60", time.Minute, true},
		{[]string{"gunicorn", "--graceful-timeout", "3", "app:app"}, "--graceful-timeout 60", 3 * time.Second, true},
		{[]string{"uvicorn", "app:app", "--timeout-graceful-shutdown", "20"}, "", 20 * time.Second, true},
		{[]string{"uvicorn", "app:app"}, "", 0, false},
		{[]string{"node", "server.js"}, "", 0, false},
		{nil, "", 0, false},
	}
	for _, tt := range tests {
		d, _, ok := gracefulTimeout(tt.args, func(string) string { return tt.env })
		if d != tt.want || ok != tt.ok {
			t.Errorf("gracefulTimeout(%q, GUNICORN_CMD_ARGS=%q) = %s, %v; want %s, %v", tt.args, tt.env, d, ok, tt.want, tt.ok)
		}
	}
}
