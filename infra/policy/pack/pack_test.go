package pack

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/infra/mockaws"
	"github.com/experts/platform/infra/policy"
	"github.com/experts/platform/infra/stackfile"
)

type reported struct{ Message, URN string }

type recorder struct{ got []reported }

func (r *recorder) ReportViolation(message, urn string) {
	r.got = append(r.got, reported{Message: message, URN: urn})
}

// engineView runs the program for stack under the mocks and returns its
// resources as the engine hands them to an analyzer, with the violations
// the offline preview finds in the same run.
func engineView(t *testing.T, stack string, edit func(values map[string]string)) ([]policyx.AnalyzerResource, []policy.Violation) {
	t.Helper()
	sf, err := stackfile.Load("../../..", stack)
	if err != nil {
		t.Fatal(err)
	}
	edit(sf.Values)
	m := mockaws.New(infra.Project, stack, sf.Values[infra.KeyAccountID], sf.Values[infra.KeyRegion])
	if err := m.Run(sf.Values, sf.SecretKeys, infra.Program); err != nil {
		t.Fatal(err)
	}
	var view []policyx.AnalyzerResource
	for _, r := range m.Resources() {
		view = append(view, policyx.AnalyzerResource{
			Type: r.Type, URN: r.URN, Name: r.Name, Parent: r.Parent,
			Properties: resource.FromResourcePropertyMap(r.Inputs),
		})
	}
	offline := policy.Evaluate(infra.Policies(), &policy.Stack{Name: stack, Environment: stack, Resources: m.PlainResources()})
	return view, offline
}

// TestPackReportsWhatTheOfflinePreviewFinds runs every policy of the pack
// the way the engine's analyzer does and checks that it reports exactly the
// violations the offline preview finds in the same stack.
func TestPackReportsWhatTheOfflinePreviewFinds(t *testing.T) {
	tests := []struct {
		name     string
		stack    string
		edit     func(values map[string]string)
		wantRule string
	}{
		{name: "a clean prod stack reports nothing", stack: "prod", edit: func(map[string]string) {}},
		{
			name:  "a plaintext credential is reported by its rule",
			stack: "dev",
			edit: func(v map[string]string) {
				v[infra.KeyServices] = strings.Replace(v[infra.KeyServices], `"LOG_LEVEL":"debug"`, `"LOG_LEVEL":"debug","DB_PASSWORD":"x"`, 1)
			},
			wantRule: "no-plaintext-credentials",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view, offline := engineView(t, tt.stack, tt.edit)
			p, err := New(infra.Project, infra.Policies())
			if err != nil {
				t.Fatal(err)
			}
			var got, want []reported
			for _, pol := range p.Policies() {
				rec := &recorder{}
				if err := pol.(policyx.StackValidationPolicy).Validate(context.Background(),
					policyx.StackValidationArgs{Manager: rec, Resources: view}); err != nil {
					t.Fatalf("policy %s: %v", pol.Name(), err)
				}
				got = append(got, rec.got...)
			}
			sawRule := false
			for _, v := range offline {
				want = append(want, reported{Message: v.Message, URN: v.URN})
				sawRule = sawRule || v.Policy == tt.wantRule
			}
			if tt.wantRule != "" && !sawRule {
				t.Fatalf("the offline preview found no %s violation: the case does not exercise the rule", tt.wantRule)
			}
			sortReported(got)
			sortReported(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("reported violations (-offline preview +policy pack):\n%s", diff)
			}
		})
	}
}

func TestPackKeepsEnforcementLevels(t *testing.T) {
	p, err := New(infra.Project, infra.Policies())
	if err != nil {
		t.Fatal(err)
	}
	levels := map[string]policyx.EnforcementLevel{}
	for _, pol := range p.Policies() {
		levels[pol.Name()] = pol.EnforcementLevel()
	}
	for _, rule := range infra.Policies() {
		if got, want := levels[rule.Name], level(rule.Enforcement); got != want {
			t.Errorf("policy %s has level %v, want %v", rule.Name, got, want)
		}
	}
}

func sortReported(rs []reported) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].URN != rs[j].URN {
			return rs[i].URN < rs[j].URN
		}
		return rs[i].Message < rs[j].Message
	})
}
