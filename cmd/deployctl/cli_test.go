package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

func TestTopLevelUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no command is a usage error", nil, 2, "Usage: deployctl <command>"},
		{"--help lists every command and exits 0", []string{"--help"}, 0, "publish-frontend"},
		{"an unknown command is a usage error", []string{"deploy"}, 2, `unknown command "deploy"`},
		{"a positional argument is refused", []string{"whoami", "prod"}, 2, `unexpected argument "prod"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
		})
	}
	for name := range commands {
		code, _, stderr := runCLI(t, "--help")
		if code != 0 || !strings.Contains(stderr, name) {
			t.Errorf("--help does not list %s", name)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{flag.ErrHelp, exitOK},
		{usageErrorf("bad flag"), exitUsage},
		{fmt.Errorf("wrapped: %w", usageErrorf("bad flag")), exitUsage},
		{failedf("check failed"), exitFailed},
		{errors.New("aws unreachable"), exitFailed},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
