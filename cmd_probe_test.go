package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/health"
)

// startHealth serves a live agent whose SPDK is down, and returns its socket.
func startHealth(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "health.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := health.NewServer(health.Options{
		Livez:  []health.Check{{Name: "refresh-loop", Run: func(context.Context) error { return nil }}},
		Readyz: []health.Check{{Name: "spdk", Run: func(context.Context) error { return errors.New("connection refused") }}},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return sock
}

func TestRunProbe(t *testing.T) {
	sock := startHealth(t)
	for _, tc := range []struct {
		name      string
		args      []string
		wantOut   string
		wantErr   string // substring; empty for success
		wantUsage bool
	}{
		{"livez", []string{"--socket", sock, "livez"}, "ok\n", "", false},
		{"flags after endpoint", []string{"livez", "--socket", sock, "--verbose"}, "[+]refresh-loop ok\nlivez check passed\n", "", false},
		{"readyz fails", []string{"--socket", sock, "readyz"}, "[-]spdk failed: connection refused\nreadyz check failed\n", "readyz: 503 Service Unavailable", false},
		{"default is readyz", []string{"--socket=" + sock}, "[-]spdk failed: connection refused\nreadyz check failed\n", "readyz: 503", false},
		{"one check", []string{"--socket", sock, "livez/refresh-loop"}, "ok\n", "", false},
		{"unknown check", []string{"--socket", sock, "livez/nope"}, "livez: no check named \"nope\"\n", "livez/nope: 404 Not Found", false},
		{"unknown endpoint", []string{"--socket", sock, "metrics"}, "", "unknown endpoint \"metrics\"", true},
		{"two endpoints", []string{"--socket", sock, "livez", "readyz"}, "", "unexpected arguments", true},
		{"bad timeout", []string{"--socket", sock, "--timeout", "0s"}, "", "--timeout must be positive", true},
		{"absent socket", []string{"--socket", filepath.Join(t.TempDir(), "x.sock"), "livez"}, "",
			"health socket does not exist", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runProbe(context.Background(), tc.args, &out)
			if out.String() != tc.wantOut {
				t.Errorf("stdout = %q, want %q", out.String(), tc.wantOut)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if got := errors.Is(err, errUsage); got != tc.wantUsage {
				t.Errorf("usage error = %v, want %v (err %v)", got, tc.wantUsage, err)
			}
		})
	}
}

func TestRunProbe_envSocketAndExitCodes(t *testing.T) {
	sock := startHealth(t)
	t.Setenv("SPDK_AGENT_HEALTH_SOCKET", sock)
	var stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"probe", "livez"}, &stderr); code != 0 {
		t.Errorf("probe livez exit = %d, want 0 (stderr %q)", code, stderr.String())
	}
	stderr.Reset()
	if code := runMain(context.Background(), []string{"probe", "readyz"}, &stderr); code != 1 {
		t.Errorf("probe readyz exit = %d, want 1", code)
	}
	t.Setenv("SPDK_AGENT_HEALTH_SOCKET", filepath.Join(t.TempDir(), "gone.sock"))
	stderr.Reset()
	if code := runMain(context.Background(), []string{"probe", "livez"}, &stderr); code != 1 {
		t.Errorf("probe without agent exit = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "is the agent running") {
		t.Errorf("stderr does not say what to check: %q", stderr.String())
	}
}
