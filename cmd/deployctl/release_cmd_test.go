package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/stacks"
)

// stackEngine is a test double of the Pulumi engine of one stack: its
// outputs and history as given; updates are refused.
type stackEngine struct {
	outputs stacks.Outputs
	history []stacks.HistoryEntry
}

func (e *stackEngine) Preview(context.Context, stacks.Update) (*stacks.PlanResult, error) {
	return nil, errors.New("preview refused in this test")
}

func (e *stackEngine) Up(context.Context, stacks.Update) (*stacks.UpResult, error) {
	return nil, errors.New("update refused in this test")
}

func (e *stackEngine) History(context.Context) ([]stacks.HistoryEntry, error) { return e.history, nil }
func (e *stackEngine) Outputs(context.Context) (stacks.Outputs, error)        { return e.outputs, nil }

var testSha = strings.Repeat("c", 40)

func TestReleaseParsesTheWorkflowsContract(t *testing.T) {
	c := newTestCLI(t)
	var got *releaseOptions
	root := newCmdRoot(c.F)
	for _, sub := range root.Commands() {
		if sub.Name() == "release" {
			root.RemoveCommand(sub)
		}
	}
	root.AddCommand(newCmdRelease(c.F, func(_ context.Context, o *releaseOptions) error { got = o; return nil }))
	root.SetArgs([]string{"release", "api", "--stack", "prod", "--version", "1.5.0", "--sha", testSha, "--ref", "api-v1.5.0",
		"--promote-from", "dev", "--json", "--artifacts", "out", "--dir", repoRoot})
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{"api", "prod", "1.5.0", testSha, "api-v1.5.0", "", "dev", "out", repoRoot}
	have := []string{got.Service, got.Stack, got.Version, got.Sha, got.Ref, got.ImageDigest, got.PromoteFrom, got.Artifacts, got.Dir}
	if diff := cmp.Diff(want, have); diff != "" || !got.JSON {
		t.Errorf("options (-want +got):\n%s json=%v", diff, got.JSON)
	}
}

func TestReleaseRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"refuses a release without a service", []string{"release", "--stack", "dev", "--version", "1.5.0", "--sha", testSha}, "give one service, api or mcp"},
		{"refuses an unknown service", []string{"release", "web", "--stack", "dev", "--version", "1.5.0", "--sha", testSha}, "give one service"},
		{"refuses a digest and a promotion at once", []string{"release", "api", "--stack", "prod", "--version", "1.5.0", "--sha", testSha,
			"--image-digest", "sha256:" + strings.Repeat("a", 64), "--promote-from", "dev"}, "not both"},
		{"refuses a rollback to two targets", []string{"rollback", "api", "--stack", "dev", "--to", "3", "--to-release", "1.4.2"}, "not both"},
		{"refuses history of an unknown service", []string{"history", "--stack", "dev", "--service", "web"}, "not a service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append(tt.args, "--dir", repoRoot)...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}

func TestFailedReleasePrintsJSONTheVerdictAndTheStepSummary(t *testing.T) {
	c := newTestCLI(t)
	summary := filepath.Join(t.TempDir(), "summary.md")
	c.Env["GITHUB_STEP_SUMMARY"] = summary
	c.F.NewDriver = func(_ context.Context, s driverSpec) (*stacks.Driver, error) {
		return &stacks.Driver{Stack: s.Stack, Engine: &stackEngine{outputs: stacks.Outputs{"region": "eu-west-1"}}}, nil
	}
	code := c.run(t.Context(), "release", "api", "--stack", "dev", "--version", "1.5.0", "--sha", testSha, "--json", "--dir", repoRoot)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, c.Stderr())
	}
	var res stacks.Result
	if err := json.Unmarshal([]byte(c.Stdout()), &res); err != nil {
		t.Fatalf("stdout is not one JSON result: %v\n%s", err, c.Stdout())
	}
	if res.Outcome != stacks.OutcomeFailed || res.FailedStep != stacks.StepPreflight {
		t.Errorf("result outcome %s at %s", res.Outcome, res.FailedStep)
	}
	if want := "release api 1.5.0 failed at preflight: preflight failed: stack dev has no live release"; !strings.Contains(c.Stderr(), want) {
		t.Errorf("stderr %q, want the verdict %q", c.Stderr(), want)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "| Step | Status | Duration | Detail |") || !strings.Contains(string(b), "| preflight | failed |") {
		t.Errorf("step summary:\n%s", b)
	}
}

func TestRunFromEnvRecordsTheGitHubRun(t *testing.T) {
	env := map[string]string{"GITHUB_RUN_ID": "4242", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "experts-app/experts",
		"GITHUB_ACTOR": "octocat", "GITHUB_SHA": testSha}
	got := runFromEnv(func(k string) string { return env[k] })
	want := &infra.Run{ID: "4242", URL: "https://github.com/experts-app/experts/actions/runs/4242", Repository: "experts-app/experts",
		Actor: "octocat", Commit: testSha}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	if runFromEnv(func(string) string { return "" }) != nil {
		t.Error("a run outside GitHub Actions")
	}
}

func TestHistoryPrintsTheLedger(t *testing.T) {
	c := newTestCLI(t)
	rel, _ := json.Marshal(map[string]infra.Release{"api": {Version: "1.4.2", GitSha: testSha, Ref: "main"}, "mcp": {Version: "1.1.0", GitSha: testSha, Ref: "main"}})
	dep, _ := json.Marshal(infra.Deployment{Sequence: 7, Kind: "release", Service: "api", Step: "rollout", Run: &infra.Run{ID: "9", Actor: "octocat"}})
	c.F.NewEngine = func(string, string) stacks.Engine {
		return &stackEngine{history: []stacks.HistoryEntry{{Kind: "update", Result: "succeeded", Start: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
			Config: map[string]string{infra.KeyRelease: string(rel), infra.KeyDeployment: string(dep)}}}}
	}
	if code := c.run(t.Context(), "history", "--stack", "dev", "--dir", repoRoot); code != exitOK {
		t.Fatalf("exit %d: %s", code, c.Stderr())
	}
	out := c.Stdout()
	for _, want := range []string{"VERSION", "7 ", "release/rollout api", "1.4.2 ccccccc", "run 9 by octocat"} {
		if !strings.Contains(out, want) {
			t.Errorf("history output lacks %q:\n%s", want, out)
		}
	}
}
