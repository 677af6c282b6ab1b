package rehearsal

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/experts/platform/stacks"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// offlineURNs are the URNs of the offline preview of a stack.
func offlineURNs(t *testing.T, r *Rehearsal, stack string) []string {
	t.Helper()
	plan, err := stacks.PreviewOffline(context.Background(), r.Dir, stack)
	if err != nil {
		t.Fatal(err)
	}
	var urns []string
	for _, res := range plan.Resources {
		urns = append(urns, res.URN)
	}
	sort.Strings(urns)
	return urns
}

// created are the URNs an update created, without the stack and its
// default providers, which the offline preview does not list.
func created(res *Result) []string {
	var urns []string
	for _, s := range res.Steps {
		if s.Op != apitype.OpCreate || s.Type == "pulumi:pulumi:Stack" || strings.HasPrefix(s.Type, "pulumi:providers:") {
			continue
		}
		urns = append(urns, s.URN)
	}
	sort.Strings(urns)
	return urns
}

// step is an operation on a resource, by the resource's name.
type step struct {
	Op   apitype.OpType
	Name string
}

func steps(res *Result) []step {
	var out []step
	for _, s := range res.Changed() {
		if s.Type == "pulumi:pulumi:Stack" {
			continue
		}
		out = append(out, step{Op: s.Op, Name: s.URN[strings.LastIndex(s.URN, "::")+2:]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Op < out[j].Op
	})
	return out
}

func setConfig(t *testing.T, st auto.Stack, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if err := st.SetConfigWithOptions(context.Background(), kv[i], auto.ConfigValue{Value: kv[i+1]}, &auto.ConfigOptions{Path: true}); err != nil {
			t.Fatalf("set %s: %v", kv[i], err)
		}
	}
}

// replaced are the steps the engine takes to replace a resource that is
// created before its predecessor is deleted.
func replaced(name string) []step {
	return []step{{apitype.OpCreateReplacement, name}, {apitype.OpReplace, name}, {apitype.OpDeleteReplaced, name}}
}

// TestTheProgramRunsInTheEngine runs the real program through the
// Automation API for both stacks: an update from empty, an unchanged
// update, a release, an infra-only change, a replacement of a named
// resource, the history and a destroy.
func TestTheProgramRunsInTheEngine(t *testing.T) {
	tests := []struct {
		stack string
		// release is the config of an api release.
		release []string
		// releaseSteps is what an api release changes.
		releaseSteps []step
		destroy      func(*testing.T, *Rehearsal, auto.Stack)
	}{
		{
			stack:   "dev",
			release: []string{"release.api.version", "0.9.1", "release.api.gitSha", "1111111111111111111111111111111111111111"},
			releaseSteps: concat(
				[]step{{apitype.OpUpdate, "runtime-api"}},
				replaced("runtime-api-image-branch"), // the docker tag
				replaced("runtime-api-image-branch"), // its push
				[]step{{apitype.OpUpdate, "runtime-api-image"}},
				replaced("runtime-api-migrate-taskdef"),
				replaced("runtime-api-taskdef"),
			),
			destroy: destroyDev,
		},
		{
			stack: "prod",
			release: []string{"release.api.version", "0.9.1", "release.api.gitSha", "1111111111111111111111111111111111111111",
				"release.api.ref", "api-v0.9.1", "release.api.imageDigest", "sha256:" + strings.Repeat("ab", 32)},
			releaseSteps: concat(
				[]step{{apitype.OpUpdate, "runtime-api"}},
				replaced("runtime-api-migrate-taskdef"),
				replaced("runtime-api-taskdef"),
			),
			destroy: destroyProd,
		},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			r := New(t, Options{})
			st, err := r.Stack(ctx, tt.stack)
			if err != nil {
				t.Fatal(err)
			}

			first, err := r.Up(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(offlineURNs(t, r, tt.stack), created(first)); diff != "" {
				t.Fatalf("the first update created other resources than the offline preview lists (-preview +created):\n%s", diff)
			}

			again, err := r.Up(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if got := steps(again); len(got) != 0 {
				t.Fatalf("an update with the same config changed %v", got)
			}

			setConfig(t, st, tt.release...)
			release, err := r.Up(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sortedSteps(tt.releaseSteps), steps(release)); diff != "" {
				t.Errorf("an api release's steps (-want +got):\n%s", diff)
			}

			setConfig(t, st, "logRetentionDays", "60")
			retention, err := r.Up(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			want := []step{{apitype.OpUpdate, "runtime-api-logs"}, {apitype.OpUpdate, "runtime-mcp-logs"}}
			if diff := cmp.Diff(want, steps(retention)); diff != "" {
				t.Errorf("a log retention change's steps (-want +got):\n%s", diff)
			}

			// A new container port replaces the api's target group, which
			// has a fixed name: it must be deleted before its successor is
			// created, or AWS answers "already exists" halfway through.
			setConfig(t, st, "services.api.containerPort", "8001")
			port, err := r.Up(ctx, st)
			if err != nil {
				t.Fatalf("replacing the api target group: %v", err)
			}
			var ops []apitype.OpType
			for _, s := range port.Changed() {
				if strings.HasSuffix(s.URN, "::runtime-alb-api") && strings.Contains(s.URN, "TargetGroup") {
					ops = append(ops, s.Op)
				}
			}
			sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
			if diff := cmp.Diff([]apitype.OpType{apitype.OpCreateReplacement, apitype.OpDeleteReplaced, apitype.OpReplace}, ops); diff != "" {
				t.Errorf("target group steps (-want +got):\n%s", diff)
			}

			history, err := st.History(ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var versions []string
			for i := len(history) - 1; i >= 0; i-- {
				versions = append(versions, history[i].Config["experts:release"].Value)
			}
			if len(versions) != 5 || !strings.Contains(versions[1], `"version":"0.9.0"`) || !strings.Contains(versions[2], `"version":"0.9.1"`) {
				t.Errorf("history configs of experts:release, oldest first:\n%s", strings.Join(versions, "\n"))
			}
			if got, _ := release.Outputs["release"].Value.(map[string]any); got == nil || got["api"].(map[string]any)["version"] != "0.9.1" {
				t.Errorf("release output after the release = %v, want api 0.9.1", release.Outputs["release"].Value)
			}

			tt.destroy(t, r, st)
		})
	}
}

// destroyDev destroys dev as AWS allows it: the repositories keep their
// images (forceDelete is off, so that a release's digest is never lost),
// and are deleted once an operator has emptied them.
func destroyDev(t *testing.T, r *Rehearsal, st auto.Stack) {
	ctx := context.Background()
	_, err := r.Destroy(ctx, st)
	if err == nil || !strings.Contains(err.Error(), "RepositoryNotEmptyException") {
		t.Fatalf("destroy with images in the repositories: %v, want RepositoryNotEmptyException", err)
	}
	account, err := r.Account("dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range r.Sim.Repositories(account) {
		r.Sim.DeleteImages(account, repo)
	}
	if _, err := r.Destroy(ctx, st); err != nil {
		t.Fatal(err)
	}
	if eps := r.Sim.Endpoints(); len(eps) != 0 {
		t.Errorf("services still answer after destroy: %v", eps)
	}
	if repos := r.Sim.Repositories(account); len(repos) != 0 {
		t.Errorf("repositories left after destroy: %v", repos)
	}
}

// destroyProd shows that prod's load balancer refuses to be destroyed:
// deletion protection is on in prod.
func destroyProd(t *testing.T, r *Rehearsal, st auto.Stack) {
	_, err := r.Destroy(context.Background(), st)
	if err == nil || !strings.Contains(err.Error(), "deletion protection is enabled") {
		t.Fatalf("destroy of prod: %v, want the load balancer's deletion protection to refuse it", err)
	}
}

func concat(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func sortedSteps(in []step) []step {
	out := append([]step(nil), in...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Op < out[j].Op
	})
	return out
}

// BenchmarkUnchangedUp is an update of the dev stack that changes
// nothing: the engine, the program and the fake plugins.
func BenchmarkUnchangedUp(b *testing.B) {
	ctx := context.Background()
	r := New(b, Options{})
	st, err := r.Stack(ctx, "dev")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Up(ctx, st); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.Up(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
}
