package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/experts/platform/stacks"
)

// fakePulumi is a pulumi executable that answers `pulumi version` and
// fails every stack command the way the Pulumi CLI does when mode is
// "no-stack" (the stack does not exist) or "locked" (another update holds
// the stack's lock).
const fakePulumi = `#!/bin/sh
case "$1" in
version) echo "v3.274.1"; exit 0 ;;
esac
case "$FAKE_PULUMI_MODE:$*" in
no-stack:*stack\ select*) echo "error: no stack named 'qa' found" >&2; exit 255 ;;
locked:*stack\ select*) exit 0 ;;
locked:*stack\ output*) echo "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with 'pulumi cancel'." >&2; exit 255 ;;
esac
echo "fake pulumi: unexpected: $*" >&2
exit 3
`

// TestAutomationErrorsFromThePulumiCLI reads stack outputs through the real
// Automation API with a PATH that holds no pulumi, or a fake one that
// fails as the Pulumi CLI does, and checks the exit code and the message.
// It sets PATH, so it cannot run in parallel.
func TestAutomationErrorsFromThePulumiCLI(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "pulumi"), []byte(fakePulumi), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULUMI_HOME", t.TempDir())
	t.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	t.Setenv("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", "true")
	tests := []struct {
		name     string
		path     string
		mode     string
		wantCode int
		want     []string
	}{
		{name: "exits 2 without the Pulumi CLI", path: t.TempDir(), wantCode: exitUsage,
			want: []string{"deployctl migrate: the Pulumi CLI is not installed (no pulumi on PATH): install it"}},
		{name: "exits 2 for a stack the backend does not have", path: bin, mode: "no-stack", wantCode: exitUsage,
			want: []string{`deployctl migrate: stack "qa" does not exist in the backend of the project in ../..: check --stack`, "pulumi login"}},
		{name: "exits 1 and says to wait for a locked stack", path: bin, mode: "locked", wantCode: exitFailed,
			want: []string{"deployctl migrate: stack qa is locked by another update: wait for it to finish", "pulumi cancel --stack qa"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			t.Setenv("FAKE_PULUMI_MODE", tt.mode)
			c := newTestCLI(t)
			c.F.ReadOutputs = stacks.ReadOutputs

			code := c.run(t.Context(), "migrate", "--stack", "qa", "--dir", repoRoot)

			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, c.Stderr())
			}
			for _, w := range tt.want {
				if !strings.Contains(c.Stderr(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, c.Stderr())
				}
			}
			if strings.Contains(c.Stderr(), "code: 255") {
				t.Errorf("stderr dumps the Automation API's error:\n%s", c.Stderr())
			}
		})
	}
}

func TestAutomationErrorLeavesOtherErrorsAlone(t *testing.T) {
	t.Parallel()
	err := errors.New("read outputs of stack dev: connection reset")
	if got := automationError(err, "dev", "."); got != err { //nolint:errorlint // the very same error is returned
		t.Errorf("automationError() = %v, want the error itself", got)
	}
	if got := exitCode(context.Background(), automationError(err, "dev", ".")); got != exitFailed {
		t.Errorf("exit code = %d, want %d", got, exitFailed)
	}
	if automationError(nil, "dev", ".") != nil {
		t.Error("automationError(nil) is not nil")
	}
}

func TestCheckStackName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"dev": true, "prod": true, "experts-org/experts/prod": true, "feature_1.2": true,
		"": false, "../dev": false, "dev stack": false, "a/b/c/d": false, "dev/..": false, strings.Repeat("a", 101): false,
	} {
		if err := checkStackName("--stack", name); (err == nil) != ok {
			t.Errorf("checkStackName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
