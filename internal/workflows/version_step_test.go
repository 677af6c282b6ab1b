package workflows

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stepJob returns a one-job workflow holding only step id of job in file,
// so that a script step can be rehearsed on its own.
func stepJob(t *testing.T, file, job, id string) *Workflow {
	t.Helper()
	w := loadRepoWorkflows(t)[file]
	if w == nil || w.Jobs[job] == nil {
		t.Fatalf("%s has no job %s", file, job)
	}
	for _, s := range w.Jobs[job].Steps {
		if s.ID == id {
			j := &Job{ID: job, Steps: []Step{s}, Outputs: map[string]string{}}
			for k, v := range w.Jobs[job].Outputs {
				if strings.Contains(v, "steps."+id+".") {
					j.Outputs[k] = v
				}
			}
			return &Workflow{File: file, DefaultShell: w.DefaultShell, Jobs: map[string]*Job{job: j}, JobOrder: []string{job}}
		}
	}
	t.Fatalf("%s job %s has no step %s", file, job, id)
	return nil
}

// gitRepo makes a repository with one commit and the given tags.
func gitRepo(t *testing.T, tags ...string) string {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=r", "-c", "user.email=r@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("commit", "-q", "--allow-empty", "-m", "one")
	for _, tag := range tags {
		git("tag", tag)
	}
	return dir
}

func TestReleaseVersionStep(t *testing.T) {
	tests := []struct {
		name, file, ref string
		tags            []string
		want            map[string]string // job outputs; nil: the step fails
		wantError       string
	}{
		{name: "releases X.Y.Z of an api tag and promotes it", file: "backend.yml", ref: "refs/tags/api-v1.5.0",
			want: map[string]string{"version": "1.5.0", "promote": "true"}},
		{name: "releases a prerelease tag to dev only", file: "backend.yml", ref: "refs/tags/api-v1.5.0-rc.1",
			want: map[string]string{"version": "1.5.0-rc.1", "promote": "false"}},
		{name: "numbers main after the highest api release", file: "backend.yml", ref: "refs/heads/main",
			tags: []string{"api-v1.4.2", "api-v1.10.0", "api-v1.9.9", "mcp-v7.0.0", "api-v2.0.0-rc.1"},
			want: map[string]string{"version": "1.10.1-main.57", "promote": "false"}},
		{name: "numbers main from 0.0.1 before any release", file: "backend.yml", ref: "refs/heads/main",
			want: map[string]string{"version": "0.0.1-main.57", "promote": "false"}},
		{name: "refuses a tag that is not a version", file: "backend.yml", ref: "refs/tags/api-vnext",
			wantError: "api-vnext is not api-vX.Y.Z"},
		{name: "refuses a leading zero", file: "backend.yml", ref: "refs/tags/api-v1.05.0",
			wantError: "is not api-vX.Y.Z"},
		{name: "releases X.Y.Z of an mcp tag and promotes it", file: "mcp.yml", ref: "refs/tags/mcp-v0.3.1",
			want: map[string]string{"version": "0.3.1", "promote": "true"}},
		{name: "numbers mcp's main after mcp's releases only", file: "mcp.yml", ref: "refs/heads/main",
			tags: []string{"api-v3.0.0", "mcp-v0.3.1"},
			want: map[string]string{"version": "0.3.2-main.57", "promote": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := stepJob(t, tt.file, "release-dev", "version")
			r := newRunner(t, "push", tt.ref, nil, ActionOptions{})
			r.Dir = gitRepo(t, tt.tags...)
			r.Prepare = nil
			res, err := r.RunJob(context.Background(), w, "release-dev", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if res.Result != "failure" {
					t.Fatalf("result %s, want failure\n%s", res.Result, res.Log)
				}
				if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], tt.wantError) {
					t.Errorf("error annotations %q, want one containing %q", res.Errors, tt.wantError)
				}
				return
			}
			if res.Result != "success" {
				t.Fatalf("result %s\n%s", res.Result, res.Log)
			}
			if diff := cmp.Diff(tt.want, res.Outputs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFrontendPromoteStep(t *testing.T) {
	for ref, want := range map[string]string{
		"refs/tags/fe-v2.1.0":      "true",
		"refs/tags/fe-v2.1.0-rc.1": "false",
		"refs/heads/main":          "false",
		"refs/tags/api-v2.1.0":     "false",
	} {
		t.Run(ref, func(t *testing.T) {
			w := stepJob(t, "frontend.yml", "test", "version")
			r := newRunner(t, "push", ref, nil, ActionOptions{})
			r.Prepare = nil
			res, err := r.RunJob(context.Background(), w, "test", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Result != "success" || res.Outputs["promote"] != want {
				t.Errorf("result %s, promote %q, want %q\n%s", res.Result, res.Outputs["promote"], want, res.Log)
			}
		})
	}
}
