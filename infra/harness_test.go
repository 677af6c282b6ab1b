package infra

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/experts/platform/infra/mockaws"
	"github.com/experts/platform/infra/policy"
	"github.com/experts/platform/infra/stackfile"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/ with the current results")

// stackRun is the outcome of running the program, or a part of it, under
// the mocks with a stack's configuration.
type stackRun struct {
	cfg       *Config
	mocks     *mockaws.Mocks
	resources []policy.Resource
}

// loadValues returns the configuration of the repository's
// Pulumi.<stack>.yaml as the engine passes it to the program.
func loadValues(t *testing.T, stack string) map[string]string {
	t.Helper()
	sf, err := stackfile.Load("..", stack)
	if err != nil {
		t.Fatalf("load stack %s: %v", stack, err)
	}
	// What the release driver hands an update: the stack file plus the
	// release, here the stack file's bootstrap release.
	if _, ok := sf.Values[KeyRelease]; !ok {
		sf.Values[KeyRelease] = sf.Values[KeyBootstrapRelease]
	}
	return sf.Values
}

// runStack runs body under the mocks with the configuration of the
// repository's Pulumi.<stack>.yaml after mutate (may be nil) changed it.
// Use body = nil to run the whole program.
func runStack(t *testing.T, stack string, mutate func(values map[string]string), body func(ctx *pulumi.Context, cfg *Config) error) *stackRun {
	t.Helper()
	r, err := tryRunStack(t, stack, mutate, body)
	if err != nil {
		t.Fatalf("run stack %s: %v", stack, err)
	}
	return r
}

// tryRunStack is runStack for runs that are expected to fail.
func tryRunStack(t *testing.T, stack string, mutate func(values map[string]string), body func(ctx *pulumi.Context, cfg *Config) error) (*stackRun, error) {
	t.Helper()
	values := loadValues(t, stack)
	if mutate != nil {
		mutate(values)
	}
	run := &stackRun{}
	run.mocks = mockaws.New(Project, stack, values[KeyAccountID], values[KeyRegion])
	err := run.mocks.Run(values, nil, func(ctx *pulumi.Context) error {
		cfg, err := LoadConfig(ctx)
		if err != nil {
			return err
		}
		run.cfg = cfg
		if body == nil {
			return Program(ctx)
		}
		return body(ctx, cfg)
	})
	run.resources = run.mocks.PlainResources()
	return run, err
}

// tryRunComponent runs a component under the mocks like tryRunStack and
// resolves the outputs build returns.
func tryRunComponent(t *testing.T, stack string, mutate func(values map[string]string),
	build func(ctx *pulumi.Context, cfg *Config) (pulumi.Map, error),
) (*stackRun, map[string]any, error) {
	t.Helper()
	var outputs map[string]any
	run, err := tryRunStack(t, stack, mutate, func(ctx *pulumi.Context, cfg *Config) error {
		outs, err := build(ctx, cfg)
		if err != nil {
			return err
		}
		outputs, err = mockaws.AwaitOutputs(ctx.Context(), outs)
		return err
	})
	return run, outputs, err
}

// stringOutputs returns outputs that must all be strings as strings.
func stringOutputs(t *testing.T, outputs map[string]any) map[string]string {
	t.Helper()
	out := make(map[string]string, len(outputs))
	for k, v := range outputs {
		s, ok := v.(string)
		if !ok {
			t.Errorf("output %s is a %T, want a string", k, v)
			continue
		}
		out[k] = s
	}
	return out
}

// ofType returns the registered resources of one type token.
func (r *stackRun) ofType(typ string) []policy.Resource {
	var out []policy.Resource
	for _, res := range r.resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// one returns the resource of type typ with logical name name, failing the
// test when there is not exactly one.
func (r *stackRun) one(t *testing.T, typ, name string) policy.Resource {
	t.Helper()
	var found []policy.Resource
	for _, res := range r.ofType(typ) {
		if res.Name == name {
			found = append(found, res)
		}
	}
	if len(found) != 1 {
		var names []string
		for _, res := range r.ofType(typ) {
			names = append(names, res.Name)
		}
		t.Fatalf("want one %s named %q, found %d (names of that type: %s)", typ, name, len(found), strings.Join(names, ", "))
	}
	return found[0]
}

// violations evaluates rules (all of Policies() when nil) over the run.
func (r *stackRun) violations(rules []policy.Rule) []policy.Violation {
	if rules == nil {
		rules = Policies()
	}
	return policy.Evaluate(rules, &policy.Stack{Name: r.cfg.Stack, Environment: r.cfg.Environment, Resources: r.resources})
}

// cloneResources deep-copies resources so that a test may damage them
// without touching the run they came from.
func cloneResources(t *testing.T, rs []policy.Resource) []policy.Resource {
	t.Helper()
	b, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	var out []policy.Resource
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// setJSON changes one field inside an object-valued config key, at a dotted
// path such as "api.desiredCount"; value is any JSON-encodable value, or
// nil to delete the field.
func setJSON(t *testing.T, values map[string]string, key, path string, value any) {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal([]byte(values[key]), &root); err != nil {
		t.Fatalf("config %s is not an object: %v", key, err)
	}
	parts := strings.Split(path, ".")
	node := root
	for _, p := range parts[:len(parts)-1] {
		next, ok := node[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			node[p] = next
		}
		node = next
	}
	last := parts[len(parts)-1]
	if value == nil {
		delete(node, last)
	} else {
		node[last] = value
	}
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	values[key] = string(b)
}

// golden compares got, as a JSON value, with testdata/<name>.json, or
// rewrites the file under -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	path := filepath.Join("testdata", name+".json")
	gotJSON, err := json.MarshalIndent(normalizeJSON(t, got), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(gotJSON, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantText, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./infra -update to create it): %v", err)
	}
	var want any
	if err := json.Unmarshal(wantText, &want); err != nil {
		t.Fatalf("golden file %s: %v", path, err)
	}
	if diff := cmp.Diff(want, normalizeJSON(t, got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got); run go test ./infra -update if the change is intended:\n%s", path, diff)
	}
}

// normalizeJSON turns v into generic JSON values; strings that hold JSON
// documents (policies, container definitions) are parsed so that the
// comparison ignores formatting.
func normalizeJSON(t *testing.T, v any) any {
	t.Helper()
	if s, ok := v.(string); ok {
		var doc any
		if json.Unmarshal([]byte(s), &doc) == nil {
			if _, isObj := doc.(map[string]any); isObj {
				return doc
			}
			if _, isArr := doc.([]any); isArr {
				return doc
			}
		}
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
