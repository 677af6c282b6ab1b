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

// isBuildResource reports whether urn is one of the image build and push
// resources (the Image component and its pulumi-docker children) that an
// update drops once the release pins their digests.
func isBuildResource(urn string) bool {
	return strings.Contains(urn, "experts:infra:Image") || strings.Contains(urn, "docker:") ||
		strings.Contains(urn, "pulumi:providers:docker")
}

// TestTheProgramRunsInTheEngine runs the real program through the
// Automation API for both stacks: an update from empty, unchanged updates,
// an infra-only change, a replacement of a named resource, the history and
// a destroy. Releases are handed to an update only by the release driver;
// stacks/e2e runs those in the engine.
func TestTheProgramRunsInTheEngine(t *testing.T) {
	tests := []struct {
		stack   string
		destroy func(*testing.T, *Rehearsal, auto.Stack)
	}{
		{
			stack:   "dev",
			destroy: destroyDev,
		},
		{
			stack:   "prod",
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
			// A first update that built images records their digests in the
			// release output; the next update runs those digests and drops
			// the build resources once. Nothing else may change.
			for _, s := range again.Changed() {
				if s.Op != apitype.OpDelete || !isBuildResource(s.URN) {
					t.Fatalf("an update with the same config changed %v", steps(again))
				}
			}
			third, err := r.Up(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if got := steps(third); len(got) != 0 {
				t.Fatalf("a third update with the same config changed %v", got)
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
			if len(history) != 5 {
				t.Errorf("history has %d entries, want 5 (one per update)", len(history))
			}
			for _, h := range history {
				if _, ok := h.Config["experts:bootstrapRelease"]; !ok {
					t.Errorf("history entry %s %s lacks the config it ran with (experts:bootstrapRelease)", h.Kind, h.StartTime)
				}
			}
			if got, _ := first.Outputs["release"].Value.(map[string]any); got == nil || got["api"].(map[string]any)["version"] != "0.9.0" {
				t.Errorf("release output after the first update = %v, want api 0.9.0 (the bootstrap release)", first.Outputs["release"].Value)
			}

			tt.destroy(t, r, st)
		})
	}
}

// destroyDev shows that dev's image repositories refuse to be destroyed:
// they are protected, so that a released digest is never lost.
func destroyDev(t *testing.T, r *Rehearsal, st auto.Stack) {
	_, err := r.Destroy(context.Background(), st)
	if err == nil || !strings.Contains(err.Error(), "runtime-registry-api\" cannot be deleted") {
		t.Fatalf("destroy of dev: %v, want the protected repositories to refuse it", err)
	}
}

// destroyProd shows that prod refuses to be destroyed: its ECS services are
// protected.
func destroyProd(t *testing.T, r *Rehearsal, st auto.Stack) {
	_, err := r.Destroy(context.Background(), st)
	if err == nil || !strings.Contains(err.Error(), "because it is protected") {
		t.Fatalf("destroy of prod: %v, want the protected ECS services to refuse it", err)
	}
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
