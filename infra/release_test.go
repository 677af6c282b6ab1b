package infra

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/experts/platform/infra/mockaws"
	"github.com/experts/platform/infra/stackfile"
)

// releaseRun is one run of the whole program under the mocks.
type releaseRun struct {
	outputs map[string]any
	images  map[string]string // task definition family → image of its container
}

// runWithLive runs the program with the configuration of the committed
// stack file (changed by mutate), and with live as the "release" output of
// the stack's previous update (nil: a brand-new stack).
func runWithLive(t *testing.T, stack string, mutate func(map[string]string), live map[string]any) *releaseRun {
	t.Helper()
	sf, err := stackfile.Load("..", stack)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(sf.Values)
	}
	mocks := mockaws.New(Project, stack, sf.Values[KeyAccountID], sf.Values[KeyRegion])
	if live != nil {
		mocks.WithStackOutputs("organization/"+Project+"/"+stack, map[string]any{OutputRelease: live})
	}
	run := &releaseRun{images: map[string]string{}}
	err = mocks.Run(sf.Values, sf.SecretKeys, func(ctx *pulumi.Context) error {
		outs, err := Build(ctx)
		if err != nil {
			return err
		}
		run.outputs, err = mockaws.AwaitOutputs(ctx.Context(), outs)
		return err
	})
	if err != nil {
		t.Fatalf("run %s: %v", stack, err)
	}
	for _, r := range mocks.PlainResources() {
		if r.Type != "aws:ecs/taskDefinition:TaskDefinition" {
			continue
		}
		var defs []struct {
			Image string `json:"image"`
		}
		if err := json.Unmarshal([]byte(r.Inputs["containerDefinitions"].(string)), &defs); err != nil {
			t.Fatalf("containerDefinitions of %s: %v", r.Name, err)
		}
		run.images[r.Inputs["family"].(string)] = defs[0].Image
	}
	return run
}

func releaseValue(t *testing.T, v any) map[string]Release {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]Release
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("release output %s: %v", b, err)
	}
	return out
}

const (
	liveAPIDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	liveMCPDigest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	newAPIDigest  = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

func liveRelease() map[string]any {
	return map[string]any{
		"api": map[string]any{"version": "1.4.2", "gitSha": strings.Repeat("a", 40), "ref": "api-v1.4.2", "imageDigest": liveAPIDigest},
		"mcp": map[string]any{"version": "1.1.0", "gitSha": strings.Repeat("b", 40), "ref": "main", "imageDigest": liveMCPDigest},
	}
}

func TestCommittedStackFilesHoldOnlyTheBootstrapRelease(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			sf, err := stackfile.Load("..", stack)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{KeyRelease, KeyDeployment} {
				if _, ok := sf.Values[key]; ok {
					t.Errorf("Pulumi.%s.yaml sets %s: only the release driver hands it to an update", stack, key)
				}
			}
			if _, ok := sf.Values[KeyBootstrapRelease]; !ok {
				t.Errorf("Pulumi.%s.yaml has no %s: a new stack's first update needs it", stack, KeyBootstrapRelease)
			}
		})
	}
}

func TestProgramKeepsTheLiveRelease(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			run := runWithLive(t, stack, nil, liveRelease())
			repo := func(svc string) string {
				return run.outputs[svc+"RepositoryUrl"].(string)
			}
			want := map[string]string{
				"experts-" + stack + "-api":         repo("api") + "@" + liveAPIDigest,
				"experts-" + stack + "-api-migrate": repo("api") + "@" + liveAPIDigest,
				"experts-" + stack + "-mcp":         repo("mcp") + "@" + liveMCPDigest,
			}
			if diff := cmp.Diff(want, run.images); diff != "" {
				t.Errorf("images of the task definitions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(releaseValue(t, liveRelease()), releaseValue(t, run.outputs[OutputRelease])); diff != "" {
				t.Errorf("release output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgramRunsTheBootstrapReleaseOnANewStack(t *testing.T) {
	run := runWithLive(t, "prod", nil, nil)
	sf, err := stackfile.Load("..", "prod")
	if err != nil {
		t.Fatal(err)
	}
	var bootstrap map[string]Release
	if err := json.Unmarshal([]byte(sf.Values[KeyBootstrapRelease]), &bootstrap); err != nil {
		t.Fatal(err)
	}
	if got, want := run.images["experts-prod-api"], run.outputs["apiRepositoryUrl"].(string)+"@"+bootstrap["api"].ImageDigest; got != want {
		t.Errorf("api image = %q, want the bootstrap digest %q", got, want)
	}
	if diff := cmp.Diff(bootstrap, releaseValue(t, run.outputs[OutputRelease])); diff != "" {
		t.Errorf("release output (-want +got):\n%s", diff)
	}
}

func TestProgramRunsTheReleaseTheDriverHandsIt(t *testing.T) {
	handed := liveRelease()
	handed["api"] = map[string]any{
		"version": "1.4.2", "gitSha": strings.Repeat("a", 40), "ref": "api-v1.4.2", "imageDigest": liveAPIDigest,
		"migrate": map[string]any{"version": "1.5.0", "gitSha": strings.Repeat("c", 40), "ref": "api-v1.5.0", "imageDigest": newAPIDigest},
	}
	text, err := json.Marshal(handed)
	if err != nil {
		t.Fatal(err)
	}
	deployment := `{"sequence":42,"kind":"release","service":"api","step":"migrate","run":{"id":"123","actor":"octocat"}}`
	run := runWithLive(t, "prod", func(v map[string]string) {
		v[KeyRelease] = string(text)
		v[KeyDeployment] = deployment
	}, liveRelease())
	repo := run.outputs["apiRepositoryUrl"].(string)
	want := map[string]string{
		"experts-prod-api":         repo + "@" + liveAPIDigest,
		"experts-prod-api-migrate": repo + "@" + newAPIDigest,
		"experts-prod-mcp":         run.outputs["mcpRepositoryUrl"].(string) + "@" + liveMCPDigest,
	}
	if diff := cmp.Diff(want, run.images); diff != "" {
		t.Errorf("images of the task definitions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(releaseValue(t, handed), releaseValue(t, run.outputs[OutputRelease])); diff != "" {
		t.Errorf("release output (-want +got):\n%s", diff)
	}
}

func TestReleaseOutputRecordsTheDigestOfABuild(t *testing.T) {
	run := runWithLive(t, "dev", nil, nil)
	rel := releaseValue(t, run.outputs[OutputRelease])
	for _, svc := range Services {
		image := run.images["experts-dev-"+svc]
		if d := rel[svc].ImageDigest; d == "" || !strings.HasSuffix(image, "@"+d) {
			t.Errorf("release output of %s records digest %q, task definition runs %q", svc, d, image)
		}
	}
}

func TestDecodeConfigChecksTheDeploymentRecord(t *testing.T) {
	tests := []struct {
		name, record, wantKey string
	}{
		{"fails when the sequence is missing", `{"kind":"release"}`, KeyDeployment + ".sequence"},
		{"fails when the kind is unknown", `{"sequence":1,"kind":"deploy"}`, KeyDeployment + ".kind"},
		{"fails when the step is unknown", `{"sequence":1,"kind":"release","step":"verify"}`, KeyDeployment + ".step"},
		{"fails when the run id is not a number", `{"sequence":1,"kind":"release","run":{"id":"x;y"}}`, KeyDeployment + ".run.id"},
		{"fails on an unknown field", `{"sequence":1,"kind":"release","what":1}`, KeyDeployment},
		{"passes a complete record", `{"sequence":7,"kind":"rollback","service":"mcp","step":"rollout","replaces":6,"run":{"id":"99","commit":"` + strings.Repeat("d", 40) + `"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := loadValues(t, "dev")
			values[KeyDeployment] = tt.record
			_, err := DecodeConfig("dev", values)
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("DecodeConfig: %v", err)
				}
				return
			}
			var keys []string
			for _, e := range unjoin(err) {
				var ce *ConfigError
				if errors.As(e, &ce) {
					keys = append(keys, ce.Key)
				}
			}
			if !strings.Contains(strings.Join(keys, " "), tt.wantKey) {
				t.Errorf("error keys = %v, want %s (error: %v)", keys, tt.wantKey, err)
			}
		})
	}
}

func TestDecodeConfigFallsBackToTheBootstrapRelease(t *testing.T) {
	sf, err := stackfile.Load("..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := DecodeConfig("dev", sf.Values)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReleaseSource != ReleaseFromBootstrap {
		t.Errorf("release source = %q, want %q", cfg.ReleaseSource, ReleaseFromBootstrap)
	}
	delete(sf.Values, KeyBootstrapRelease)
	_, err = DecodeConfig("dev", sf.Values)
	if err == nil || !strings.Contains(err.Error(), KeyBootstrapRelease) {
		t.Errorf("error = %v, want one that names %s", err, KeyBootstrapRelease)
	}
}
