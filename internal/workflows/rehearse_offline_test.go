package workflows

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestMain removes the deployctl build the rehearsals share.
func TestMain(m *testing.M) {
	code := m.Run()
	if deployctlCache.dir != "" {
		_ = os.RemoveAll(deployctlCache.dir)
	}
	os.Exit(code)
}

// deployctlCache holds one build of deployctl made the way the workflows'
// "Build deployctl" step makes it. Each rehearsed job starts with a copy in
// its RUNNER_TEMP, as a restored tool cache would: the step's own go build
// then finds the binary up to date (same build ID) and does not link it
// again, which would take minutes on a loaded machine. A step that built
// something else, or from another package, would still replace or fail it.
var deployctlCache struct {
	once sync.Once
	dir  string
	err  error
}

func seedDeployctl(t *testing.T) func(jobTemp string) error {
	t.Helper()
	deployctlCache.once.Do(func() {
		dir, err := os.MkdirTemp("", "deployctl-rehearsal-")
		if err != nil {
			deployctlCache.err = err
			return
		}
		deployctlCache.dir = dir
		root, err := filepath.Abs(repoRoot)
		if err != nil {
			deployctlCache.err = err
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "deployctl"), "./cmd/deployctl")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			deployctlCache.err = fmt.Errorf("go build deployctl: %w\n%s", err, out)
		}
	})
	if deployctlCache.err != nil {
		t.Fatal(deployctlCache.err)
	}
	return func(jobTemp string) error {
		return copyFile(filepath.Join(deployctlCache.dir, "deployctl"), filepath.Join(jobTemp, "deployctl"))
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// newRunner returns a runner in the repository with GitHub's context for
// event on ref, and the given variables.
func newRunner(t *testing.T, event, ref string, vars map[string]string, opts ActionOptions) *Runner {
	t.Helper()
	dir, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		// The runner starts from a clean AWS and Pulumi environment: what a
		// step gets is what the workflow gives it.
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "PULUMI_") || strings.HasPrefix(k, "GITHUB_") {
			continue
		}
		env[k] = v
	}
	tmp := t.TempDir()
	return &Runner{
		Dir:  dir,
		Temp: tmp,
		Env:  env,
		GitHub: map[string]any{
			"event_name": event, "ref": ref, "sha": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
			"repository": "experts-app/experts", "repository_owner": "experts-app", "actor": "rehearsal",
			"run_id": "1001", "run_number": "57", "run_attempt": "1", "server_url": "https://github.com",
			"event": map[string]any{},
		},
		Vars:      vars,
		Secrets:   map[string]string{"GITHUB_TOKEN": "rehearsal-token"},
		Actions:   StandardActions(opts),
		Artifacts: &ArtifactStore{Dir: filepath.Join(tmp, "artifacts")},
		Prepare:   seedDeployctl(t),
	}
}

// TestRehearseOfflinePreviewFromAFork runs infra.yml's offline-preview job
// as a pull request from a fork gets it: no variables, no secrets, no
// credentials. Its summary must hold the plan.
func TestRehearseOfflinePreviewFromAFork(t *testing.T) {
	ws := loadRepoWorkflows(t)
	r := newRunner(t, "pull_request", "refs/pull/7/merge", nil, ActionOptions{})
	r.Secrets = nil
	r.GitHub["event"] = map[string]any{"pull_request": map[string]any{"number": 7.0,
		"head": map[string]any{"repo": map[string]any{"full_name": "someone/experts"}}}}
	ctx := context.Background()
	res, err := r.RunJob(ctx, ws["infra.yml"], "offline-preview", map[string]string{"stack": "prod"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != "success" {
		t.Fatalf("offline preview: %s\n%s", res.Result, res.Log)
	}
	for _, want := range []string{"### Offline preview of prod", "experts-prod"} {
		if !strings.Contains(res.Summary, want) {
			t.Errorf("job summary lacks %q:\n%.2000s", want, res.Summary)
		}
	}
	// The same pull request's real preview needs the repository's
	// credentials: a fork's run skips it.
	skipped, err := r.RunJob(ctx, ws["infra.yml"], "preview", map[string]string{"stack": "prod", "vars": "PROD"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if skipped.Result != "skipped" {
		t.Errorf("preview on a fork's pull request: %s, want skipped", skipped.Result)
	}
}

// TestRehearsalFailsAWrongCommand: the same job with a misspelled flag or a
// variable the step does not define must fail.
func TestRehearsalFailsAWrongCommand(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, ".github", "workflows", "infra.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new string }{
		{"fails on a wrong flag", `preview --stack "$STACK" --offline >`, `preview --stack "$STACK" --offline-mode >`},
		{"fails on a variable the step does not set", `preview --stack "$STACK" --offline >`, `preview --stack "$STAK" --offline >`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(src), tt.old) {
				t.Fatalf("infra.yml lacks %q", tt.old)
			}
			w, err := Parse("infra.yml", []byte(strings.Replace(string(src), tt.old, tt.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			r := newRunner(t, "pull_request", "refs/pull/7/merge", nil, ActionOptions{})
			res, err := r.RunJob(context.Background(), w, "offline-preview", map[string]string{"stack": "dev"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Result != "failure" {
				t.Fatalf("result %s, want failure\n%s", res.Result, res.Log)
			}
		})
	}
}
