package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunMain_unknownCommand(t *testing.T) {
	var stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"nope"}, &stderr); code != 2 {
		t.Fatalf("exit code = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), `unknown command "nope"`) {
		t.Errorf("stderr does not name the command: %q", stderr.String())
	}
}

func TestRunMain_helpListsCommands(t *testing.T) {
	var stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"help"}, &stderr); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	if !strings.Contains(stderr.String(), "version") {
		t.Errorf("help does not list the version command: %q", stderr.String())
	}
}

func TestEnvDefault(t *testing.T) {
	t.Setenv("SPDK_AGENT_TEST_ENV", "")
	if got := envDefault("SPDK_AGENT_TEST_ENV", "def"); got != "def" {
		t.Errorf("empty variable: got %q, want the default", got)
	}
	t.Setenv("SPDK_AGENT_TEST_ENV", "/tmp/x.sock")
	if got := envDefault("SPDK_AGENT_TEST_ENV", "def"); got != "/tmp/x.sock" {
		t.Errorf("set variable: got %q, want its value", got)
	}
}
