package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/experts/platform/stacks"
)

// stackDir returns a directory with the repository's Pulumi.yaml and its
// dev stack file after edit changed it.
func stackDir(t *testing.T, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"Pulumi.yaml", "Pulumi.dev.yaml"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if name != "Pulumi.yaml" {
			text = edit(text)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPreviewExitCodes(t *testing.T) {
	t.Parallel()
	keep := func(s string) string { return s }
	tests := []struct {
		name       string
		args       func(t *testing.T) []string
		wantCode   int
		wantStderr string
	}{
		{
			name: "a clean stack exits 0",
			args: func(*testing.T) []string {
				return []string{"preview", "--stack", "dev", "--offline", "--dir", repoRoot}
			},
			wantCode: 0,
		},
		{
			name: "a plaintext credential is a mandatory violation and exits 1",
			args: func(t *testing.T) []string {
				dir := stackDir(t, func(s string) string {
					return strings.Replace(s, "LOG_LEVEL: debug", "LOG_LEVEL: debug\n        DB_PASSWORD: hunter2", 1)
				})
				return []string{"preview", "--stack", "dev", "--offline", "--dir", dir}
			},
			wantCode:   1,
			wantStderr: "no-plaintext-credentials",
		},
		{
			name: "a bad config value exits 2 and names the key",
			args: func(t *testing.T) []string {
				dir := stackDir(t, func(s string) string {
					return strings.Replace(s, `experts:accountId: "210987654321"`, `experts:accountId: "21098765432"`, 1)
				})
				return []string{"preview", "--stack", "dev", "--offline", "--dir", dir}
			},
			wantCode:   2,
			wantStderr: "config experts:accountId = \"21098765432\": must be exactly 12 digits",
		},
		{
			name: "a stack without a file exits 2",
			args: func(t *testing.T) []string {
				return []string{"preview", "--stack", "qa", "--offline", "--dir", stackDir(t, keep)}
			},
			wantCode:   2,
			wantStderr: "Pulumi.qa.yaml does not exist",
		},
		{
			name:       "a missing --stack exits 2",
			args:       func(*testing.T) []string { return []string{"preview", "--offline"} },
			wantCode:   2,
			wantStderr: "--stack is required",
		},
		{
			name:       "an unknown flag exits 2",
			args:       func(*testing.T) []string { return []string{"preview", "--stack", "dev", "--ofline"} },
			wantCode:   2,
			wantStderr: "deployctl preview: unknown flag: --ofline\nsee 'deployctl preview --help'\n",
		},
		{
			name: "a stack name Pulumi refuses exits 2",
			args: func(*testing.T) []string {
				return []string{"preview", "--stack", "../dev", "--offline", "--dir", repoRoot}
			},
			wantCode:   2,
			wantStderr: `--stack "../dev" is not a stack name`,
		},
		{
			name: "a missing project directory exits 2",
			args: func(t *testing.T) []string {
				return []string{"preview", "--stack", "dev", "--offline", "--dir", filepath.Join(t.TempDir(), "nope")}
			},
			wantCode:   2,
			wantStderr: "does not exist: give the directory that holds Pulumi.yaml",
		},
		{
			name:       "a directory without Pulumi.yaml exits 2",
			args:       func(t *testing.T) []string { return []string{"preview", "--stack", "dev", "--dir", t.TempDir()} },
			wantCode:   2,
			wantStderr: "holds no Pulumi.yaml",
		},
		{
			name:       "--json without --offline exits 2",
			args:       func(*testing.T) []string { return []string{"preview", "--stack", "dev", "--json", "--dir", repoRoot} },
			wantCode:   2,
			wantStderr: "--json is only available with --offline",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, tt.args(t)...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, stderr)
			}
		})
	}
}

func TestPreviewJSONShape(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, "preview", "--stack", stack, "--offline", "--json", "--dir", repoRoot)
			if code != 0 {
				t.Fatalf("exit code %d: %s", code, stderr)
			}
			var doc struct {
				Project   string `json:"project"`
				Stack     string `json:"stack"`
				Resources []struct {
					URN    *string         `json:"urn"`
					Type   *string         `json:"type"`
					Name   *string         `json:"name"`
					Parent *string         `json:"parent"`
					Inputs *map[string]any `json:"inputs"`
				} `json:"resources"`
				Outputs    map[string]any `json:"outputs"`
				Violations []struct {
					Policy      string `json:"policy"`
					Enforcement string `json:"enforcement"`
					URN         string `json:"urn"`
					Message     string `json:"message"`
				} `json:"violations"`
			}
			dec := json.NewDecoder(strings.NewReader(stdout))
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("stdout is not one JSON document: %v", err)
			}
			if dec.More() {
				t.Error("stdout holds more than the JSON document")
			}
			if doc.Project != "experts" || doc.Stack != stack {
				t.Errorf("project/stack = %q/%q", doc.Project, doc.Stack)
			}
			if len(doc.Resources) == 0 {
				t.Fatal("no resources")
			}
			for _, r := range doc.Resources {
				if r.URN == nil || r.Type == nil || r.Name == nil || r.Parent == nil || r.Inputs == nil {
					t.Fatalf("resource lacks one of urn, type, name, parent, inputs: %+v", r)
				}
				if !strings.Contains(*r.Type, ":") {
					t.Errorf("type %q is not a Pulumi type token", *r.Type)
				}
			}
			if doc.Outputs["accountId"] == nil {
				t.Error("outputs lack accountId")
			}
			for _, v := range doc.Violations {
				if v.Enforcement != "mandatory" && v.Enforcement != "advisory" {
					t.Errorf("violation %+v has enforcement %q", v, v.Enforcement)
				}
			}
		})
	}
}

func TestPreviewTextShowsTheVerdict(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, "preview", "--stack", "prod", "--offline", "--dir", repoRoot)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	for _, want := range []string{"Offline preview of experts/prod", "Outputs:", "Result: no mandatory violations"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestPreviewLive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		changes    map[string]int
		err        error
		wantCode   int
		wantStdout string
		wantStderr string
		wantOpts   stacks.LivePreviewOptions
	}{
		{
			name:       "prints the planned changes and exits 0",
			args:       []string{"--expect-no-changes"},
			changes:    map[string]int{"same": 40, "update": 1},
			wantCode:   0,
			wantStdout: "preview of dev: 40 same, 1 update\n",
			wantOpts:   stacks.LivePreviewOptions{ExpectNoChanges: true},
		},
		{
			name:       "exits 2 and says what to install without the Pulumi CLI",
			err:        fmt.Errorf("select stack dev: failed to run `pulumi version`: %w", &exec.Error{Name: "pulumi", Err: exec.ErrNotFound}),
			wantCode:   2,
			wantStderr: "deployctl preview: the Pulumi CLI is not installed (no pulumi on PATH): install it",
		},
		{
			name:       "exits 1 when the preview fails",
			err:        errors.New("preview stack dev: exit status 255"),
			wantCode:   1,
			wantStderr: "deployctl preview: preview stack dev: exit status 255\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newTestCLI(t)
			var gotDir, gotStack string
			var gotOpts stacks.LivePreviewOptions
			c.F.PreviewLive = func(_ context.Context, dir, stack string, opts stacks.LivePreviewOptions) (map[string]int, error) {
				gotDir, gotStack, gotOpts = dir, stack, opts
				return tt.changes, tt.err
			}
			code := c.run(t.Context(), append([]string{"preview", "--stack", "dev", "--dir", repoRoot}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, c.Stderr())
			}
			if gotDir != repoRoot || gotStack != "dev" {
				t.Errorf("previewed %q in %q, want dev in %q", gotStack, gotDir, repoRoot)
			}
			if gotOpts.Progress == nil {
				t.Error("the engine's progress goes nowhere")
			}
			if gotOpts.ExpectNoChanges != tt.wantOpts.ExpectNoChanges {
				t.Errorf("ExpectNoChanges = %v, want %v", gotOpts.ExpectNoChanges, tt.wantOpts.ExpectNoChanges)
			}
			if c.Stdout() != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", c.Stdout(), tt.wantStdout)
			}
			if !strings.Contains(c.Stderr(), tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, c.Stderr())
			}
		})
	}
}
