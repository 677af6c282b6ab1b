package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const repoRoot = "../.."

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

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &streams{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

func TestPreviewExitCodes(t *testing.T) {
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
			wantStderr: "flag provided but not defined: -ofline",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
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
