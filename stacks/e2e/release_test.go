// Package e2e runs the release driver against the real program in the real
// Pulumi engine (the rehearsal: fake provider plugins, a local AWS
// simulator), through the Automation API, as deployctl does. It needs the
// Pulumi CLI that `bash .ci/test` builds (EXPERTS_PULUMI_CLI).
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/internal/awssim"
	"github.com/experts/platform/internal/rehearsal"
	"github.com/experts/platform/smoke"
	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/deploy"
)

func TestMain(m *testing.M) { os.Exit(rehearsal.Main(m)) }

// rig is one rehearsal stack with a release driver over it.
type rig struct {
	r      *rehearsal.Rehearsal
	engine *stacks.LocalEngine
	driver *stacks.Driver
	ecs    *ecs.Client
}

// simSmoker runs the real smoke gate against the simulator's endpoint of
// the service (the public URL does not resolve on loopback).
type simSmoker struct {
	sim  *awssim.Simulator
	gate *stacks.SmokeGate
	env  string
}

func (s simSmoker) Smoke(ctx context.Context, service, _ string, want infra.Release) error {
	url, ok := s.sim.Endpoints()["experts-"+s.env+"-"+service]
	if !ok {
		return errors.New("the simulator serves no service " + service)
	}
	return s.gate.Smoke(ctx, service, url, want)
}

func newRig(t testing.TB, stack string) *rig {
	t.Helper()
	ctx := t.Context()
	r := rehearsal.New(t, rehearsal.Options{})
	st, err := r.Stack(ctx, stack)
	if err != nil {
		t.Fatal(err)
	}
	env, err := r.Env(stack)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(env["AWS_REGION"]),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], "")),
		config.WithBaseEndpoint(r.Sim.URL()),
		config.WithRetryMaxAttempts(8),
	)
	if err != nil {
		t.Fatal(err)
	}
	ecsClient := ecs.NewFromConfig(cfg)
	clients := deploy.WithCallLimits(deploy.Clients{
		ECS: ecsClient, Logs: cloudwatchlogs.NewFromConfig(cfg), TargetHealth: elbv2.NewFromConfig(cfg),
	}, deploy.CallLimits{})
	engine := stacks.EngineFor(st, r.Dir)
	op := &deploy.Operator{Clients: clients, PollInterval: 50 * time.Millisecond, Heartbeat: time.Second, LogLag: time.Second}
	policy := smoke.DefaultPolicy()
	policy.Deadline = 10 * time.Second
	return &rig{r: r, engine: engine, ecs: ecsClient, driver: &stacks.Driver{
		Stack: stack, Engine: engine, Deployer: op,
		Smoker:           simSmoker{sim: r.Sim, env: stack, gate: &stacks.SmokeGate{Policy: policy}},
		Identity:         stacks.STSAccount{API: sts.NewFromConfig(cfg)},
		Images:           stacks.Registry{API: ecr.NewFromConfig(cfg)},
		Tagger:           stacks.Registry{API: ecr.NewFromConfig(cfg)},
		Digests:          stacks.Registry{API: ecr.NewFromConfig(cfg)},
		MigrationTimeout: 20 * time.Second, VerifyTimeout: 20 * time.Second, RollbackTimeout: 2 * time.Minute,
		Run: &infra.Run{ID: "101", URL: "https://github.com/experts-app/experts/actions/runs/101", Actor: "octocat"},
	}}
}

func (g *rig) ledger(t *testing.T) stacks.Ledger {
	t.Helper()
	h, err := g.engine.History(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	l, err := stacks.BuildLedger(h)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (g *rig) outputs(t *testing.T) stacks.Outputs {
	t.Helper()
	o, err := g.engine.Outputs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (g *rig) liveVersion(t *testing.T, svc string) string {
	t.Helper()
	rel, _ := g.outputs(t)[infra.OutputRelease].(map[string]any)
	entry, _ := rel[svc].(map[string]any)
	v, _ := entry["version"].(string)
	return v
}

var releaseSha = strings.Repeat("c", 40)

func apiRelease() stacks.ReleaseRequest {
	return stacks.ReleaseRequest{Service: "api", Version: "1.5.0", GitSha: releaseSha, Ref: "main"}
}

// bootstrap runs the stack's first update, as deployctl up does.
func (g *rig) bootstrap(t testing.TB) {
	t.Helper()
	d := *g.driver
	var progress strings.Builder
	d.Progress = &progress
	if _, err := d.Up(t.Context()); err != nil {
		t.Fatalf("first update: %v\n%s", err, progress.String())
	}
}

func TestReleaseChangesOnlyItsServiceAndEveryOtherUpdateKeepsIt(t *testing.T) {
	g := newRig(t, "dev")
	ctx := t.Context()
	g.bootstrap(t)
	before := g.outputs(t)

	res, err := g.driver.Release(ctx, apiRelease())
	if err != nil {
		t.Fatalf("release: %v\n%s", err, res.OneLine())
	}
	after := g.outputs(t)
	for _, key := range []string{"mcpTaskDefinitionArn", "mcpImage", "clusterArn", "apiServiceArn"} {
		if before[key] != after[key] {
			t.Errorf("%s changed from %v to %v: the release of api touched it", key, before[key], after[key])
		}
	}
	if before["apiTaskDefinitionArn"] == after["apiTaskDefinitionArn"] {
		t.Error("apiTaskDefinitionArn did not change: nothing was rolled out")
	}
	if got := g.liveVersion(t, "api"); got != "1.5.0" {
		t.Errorf("live api = %s, want 1.5.0", got)
	}

	// An infra change through deployctl up keeps the released image.
	released := after["apiTaskDefinitionArn"]
	setLogRetention(t, g.r.Dir, "dev", 30)
	up, err := g.driver.Up(ctx)
	if err != nil {
		t.Fatalf("infra update: %v", err)
	}
	if !slices.ContainsFunc(up.Planned, func(c string) bool { return strings.Contains(c, "aws:cloudwatch/logGroup:LogGroup") }) {
		t.Errorf("the infra update planned %v, want the log groups' retention", up.Planned)
	}
	if got := g.outputs(t)["apiTaskDefinitionArn"]; got != released {
		t.Errorf("after deployctl up api runs %v, want %v", got, released)
	}
	// The program run with only the committed stack file (a plain
	// pulumi up) keeps it too.
	st, err := g.r.Stack(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.r.Up(ctx, st); err != nil {
		t.Fatalf("plain up: %v", err)
	}
	if got := g.outputs(t)["apiTaskDefinitionArn"]; got != released {
		t.Errorf("after a plain pulumi up api runs %v, want %v", got, released)
	}

	l := g.ledger(t)
	var kinds []string
	for _, e := range l {
		kinds = append(kinds, e.Kind+"/"+e.Step+" "+e.Release["api"].Version+" "+e.Result)
	}
	want := []string{"infra/ 0.9.0 succeeded", "release/migrate 0.9.0 succeeded", "release/rollout 1.5.0 succeeded",
		"infra/ 1.5.0 succeeded", "infra/ 1.5.0 succeeded"}
	if strings.Join(kinds, "; ") != strings.Join(want, "; ") {
		t.Errorf("ledger:\n got %q\nwant %q", kinds, want)
	}
	if l[len(l)-1].Version != 5 || l[2].Run == nil || l[2].Run.Actor != "octocat" {
		t.Errorf("ledger numbering or run: %+v", l[len(l)-1])
	}
}

// setLogRetention changes the stack file's log retention: an infra change
// merged but not applied.
func setLogRetention(t *testing.T, dir, stack string, days int) {
	t.Helper()
	path := dir + "/Pulumi." + stack + ".yaml"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(\s*)experts:logRetentionDays:\s*"?[0-9]+"?\s*$`)
	if !re.Match(b) {
		t.Fatalf("%s sets no experts:logRetentionDays", path)
	}
	out := re.ReplaceAll(b, []byte(fmt.Sprintf("${1}experts:logRetentionDays: %d", days)))
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
