package stacks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/stacks/deploy"
)

// fakeEngine is a test double of the Pulumi engine for one stack: an update
// renders the outputs the program would export for the release it is
// handed (or keeps the live one), and appends a history entry with the
// update's configuration, the way a self-managed backend keeps it.
type fakeEngine struct {
	t     *testing.T
	mu    sync.Mutex
	stack string
	env   string
	now   time.Time

	outputs Outputs
	history []HistoryEntry // oldest first
	revs    map[string]int // task definition image → revision
	nextRev map[string]int // family → last revision

	// upErr, when set, decides whether the n-th update (1-based) fails;
	// a failed update leaves the outputs as they were.
	upErr func(n int, rel map[string]infra.Release) error
	// previewSteps are extra steps every preview reports.
	previewSteps []Step
	ups          []Update
	previews     []Update
}

const (
	testAccount = "210987654321"
	repoBase    = testAccount + ".dkr.ecr.eu-west-1.amazonaws.com/experts-"
)

func digestOf(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sha(c string) string { return strings.Repeat(c, 40) }

func rel(version, gitSha, digest string) infra.Release {
	return infra.Release{Version: version, GitSha: gitSha, Ref: "main", ImageDigest: digest}
}

// newFakeEngine returns a stack whose first update ran live.
func newFakeEngine(t *testing.T, env string, live map[string]infra.Release) *fakeEngine {
	f := &fakeEngine{
		t: t, stack: env, env: env, now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
		revs: map[string]int{}, nextRev: map[string]int{},
	}
	b, _ := json.Marshal(live)
	f.outputs = f.render(live)
	f.history = append(f.history, HistoryEntry{
		Kind: "update", Result: ResultSucceeded, Start: f.tick(), End: f.tick(),
		Config: map[string]string{infra.KeyBootstrapRelease: string(b)},
	})
	return f
}

func (f *fakeEngine) tick() time.Time {
	f.now = f.now.Add(time.Minute)
	return f.now
}

func (f *fakeEngine) taskDef(family, image string) string {
	key := family + " " + image
	if _, ok := f.revs[key]; !ok {
		f.nextRev[family]++
		f.revs[key] = f.nextRev[family]
	}
	return fmt.Sprintf("arn:aws:ecs:eu-west-1:%s:task-definition/%s:%d", testAccount, family, f.revs[key])
}

// render returns the outputs of the program for a release; a release
// without a digest is built, its digest derived from version and sha.
func (f *fakeEngine) render(release map[string]infra.Release) Outputs {
	out := Outputs{
		"environment":             f.env,
		OutputAccountID:           testAccount,
		OutputRegion:              "eu-west-1",
		OutputClusterName:         "experts-" + f.env,
		OutputTaskSubnetIDs:       []any{"subnet-0a", "subnet-0b"},
		OutputTaskSecurityGroupID: "sg-0123",
	}
	live := map[string]any{}
	pin := func(svc string, r infra.Release) (infra.Release, string) {
		if r.ImageDigest == "" {
			r.ImageDigest = digestOf(svc, r.Version, r.GitSha)
		}
		return r, repoBase + f.env + "-" + svc + "@" + r.ImageDigest
	}
	for _, svc := range infra.Services {
		r, image := pin(svc, release[svc])
		family := "experts-" + f.env + "-" + svc
		out[svc+SuffixServiceName] = family
		out[svc+SuffixImage] = image
		out[svc+SuffixTaskDefinitionArn] = f.taskDef(family, image)
		out[svc+SuffixRepositoryURL] = repoBase + f.env + "-" + svc
		out[svc+SuffixURL] = "https://" + svc + "." + f.env + ".experts.example.com"
		out[svc+SuffixTargetGroupArn] = "arn:aws:elasticloadbalancing:eu-west-1:" + testAccount + ":targetgroup/" + family + "/0123"
		entry := map[string]any{"version": r.Version, "gitSha": r.GitSha, "ref": r.Ref, "imageDigest": r.ImageDigest}
		if svc == infra.ServiceAPI {
			mr, mimage := r, image
			if r.Migrate != nil {
				mr, mimage = pin(svc, *r.Migrate)
				entry["migrate"] = map[string]any{"version": mr.Version, "gitSha": mr.GitSha, "ref": mr.Ref, "imageDigest": mr.ImageDigest}
			}
			out[svc+SuffixMigrationImage] = mimage
			out[svc+SuffixMigrationTaskDefinitionArn] = f.taskDef(family+"-migrate", mimage)
			out[svc+SuffixMigrationContainerName] = "migrate"
		}
		live[svc] = entry
	}
	out[infra.OutputRelease] = live
	return out
}

// handed returns the release an update runs: the driver's, else the live.
func (f *fakeEngine) handed(u Update) map[string]infra.Release {
	if text, ok := u.Config[infra.KeyRelease]; ok {
		r, err := decodeRelease(text)
		if err != nil {
			f.t.Fatalf("update config: %v", err)
		}
		return r
	}
	r, err := liveRelease(f.outputs, f.stack)
	if err != nil {
		f.t.Fatalf("live release: %v", err)
	}
	return r
}

func (f *fakeEngine) Preview(ctx context.Context, u Update) (*PlanResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.previews = append(f.previews, u)
	planned := f.render(f.handed(u))
	// The task definitions whose image changes are updated, the rest of
	// the stack stays the same.
	steps := []Step{{URN: "urn:pulumi:dev::experts::experts:infra:Runtime$aws:cloudwatch/logGroup:LogGroup::runtime-api-logs",
		Type: "aws:cloudwatch/logGroup:LogGroup", Op: "same"}}
	for key, name := range map[string]string{
		"apiTaskDefinitionArn": "runtime-api-taskdef", "apiMigrationTaskDefinitionArn": "runtime-api-migrate-taskdef",
		"mcpTaskDefinitionArn": "runtime-mcp-taskdef",
	} {
		op := "same"
		if planned[key] != f.outputs[key] {
			op = "update"
		}
		steps = append(steps, Step{URN: "urn:pulumi:dev::experts::experts:infra:Runtime$aws:ecs/taskDefinition:TaskDefinition::" + name,
			Type: "aws:ecs/taskDefinition:TaskDefinition", Op: op})
	}
	return &PlanResult{Steps: append(steps, f.previewSteps...)}, nil
}

func (f *fakeEngine) Up(ctx context.Context, u Update) (*UpResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("update stack %s: %w", f.stack, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ups = append(f.ups, u)
	release := f.handed(u)
	entry := HistoryEntry{Kind: "update", Start: f.tick(), Message: u.Message, Config: map[string]string{}}
	for k, v := range u.Config {
		entry.Config[k] = v
	}
	if f.upErr != nil {
		if err := f.upErr(len(f.ups), release); err != nil {
			if errors.Is(err, ErrConcurrentUpdate) {
				return nil, err // the lock refused the update: no history entry
			}
			entry.Result, entry.End = ResultFailed, f.tick()
			f.history = append(f.history, entry)
			return &UpResult{}, err
		}
	}
	f.outputs = f.render(release)
	entry.Result, entry.End = ResultSucceeded, f.tick()
	f.history = append(f.history, entry)
	return &UpResult{Outputs: f.outputs, Changes: map[string]int{"update": 1}}, nil
}

func (f *fakeEngine) History(ctx context.Context) ([]HistoryEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]HistoryEntry, 0, len(f.history))
	for i := len(f.history) - 1; i >= 0; i-- {
		out = append(out, f.history[i])
	}
	return out, nil
}

func (f *fakeEngine) Outputs(ctx context.Context) (Outputs, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outputs, nil
}

// live returns the release output as releases.
func (f *fakeEngine) live() map[string]infra.Release {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := liveRelease(f.outputs, f.stack)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// fakeDeployer answers for the ECS side: the migration result, and, per
// task definition, what verification finds.
type fakeDeployer struct {
	mu         sync.Mutex
	migration  func(spec deploy.MigrationSpec) (*deploy.MigrationResult, error)
	verifyErr  map[string]error // task definition ARN → error
	onVerify   func(ctx context.Context, spec deploy.VerifySpec) error
	verified   []string
	migrations []deploy.MigrationSpec
	bundles    []deploy.BundleSpec
}

func (d *fakeDeployer) RunMigration(_ context.Context, spec deploy.MigrationSpec) (*deploy.MigrationResult, error) {
	d.mu.Lock()
	d.migrations = append(d.migrations, spec)
	d.mu.Unlock()
	if d.migration != nil {
		return d.migration(spec)
	}
	zero := int32(0)
	return &deploy.MigrationResult{Succeeded: true, TaskArn: "arn:aws:ecs:eu-west-1:" + testAccount + ":task/experts-dev/0abc",
		TaskID: "0abc", Container: spec.Container, ExitCode: &zero, TaskDefinition: spec.TaskDefinition}, nil
}

func (d *fakeDeployer) VerifyDeployment(ctx context.Context, spec deploy.VerifySpec) error {
	if d.onVerify != nil {
		if err := d.onVerify(ctx, spec); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("verify service %s: %w", spec.Service, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.verifyErr[spec.TaskDefinition]; err != nil {
		return err
	}
	d.verified = append(d.verified, spec.TaskDefinition)
	return nil
}

func (d *fakeDeployer) CollectBundle(_ context.Context, spec deploy.BundleSpec) (*deploy.Bundle, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.bundles = append(d.bundles, spec)
	return &deploy.Bundle{Name: spec.Service, Reason: spec.Reason}, nil
}

// fakeSmoker serves, per service, the release that a URL reports; a
// release in fail fails its smoke checks.
type fakeSmoker struct {
	mu     sync.Mutex
	serves func(service string) infra.Release
	fail   map[string]error // version → error
	runs   []string
}

func (s *fakeSmoker) Smoke(_ context.Context, service, url string, want infra.Release) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, service+" "+want.Version)
	if err := s.fail[want.Version]; err != nil {
		return err
	}
	if s.serves != nil {
		if got := s.serves(service); got.Version != want.Version {
			return fmt.Errorf("%s/version reports %s, want %s", url, got.Version, want.Version)
		}
	}
	return nil
}

type fakeIdentity struct{ account string }

func (f fakeIdentity) Account(context.Context) (Caller, error) {
	return Caller{Account: f.account, Arn: "arn:aws:sts::" + f.account + ":assumed-role/experts-dev-api-deploy/gha"}, nil
}

type fakeImages struct{ present map[string]bool }

func (f fakeImages) CheckReleasable(_ context.Context, repo, digest string) error {
	if !f.present[repo+"@"+digest] {
		return fmt.Errorf("%w: %s is not in repository %s: backfill it from dev", infra.ErrImageNotReleasable, digest, repo)
	}
	return nil
}

// fakeTagger records the digests it tagged.
type fakeTagger struct{ tagged []string }

func (f *fakeTagger) TagRelease(_ context.Context, repo, digest string) error {
	f.tagged = append(f.tagged, repo+"@"+digest)
	return nil
}

type fakeDigests map[string]string // repository:tag → digest

func (f fakeDigests) DigestForTag(_ context.Context, repo, tag string) (string, error) {
	d, ok := f[repo+":"+tag]
	if !ok {
		return "", fmt.Errorf("no image tagged %s", tag)
	}
	return d, nil
}

type fakeOther map[string]*fakeEngine

func (f fakeOther) StackOutputs(ctx context.Context, stack string) (Outputs, error) {
	e, ok := f[stack]
	if !ok {
		return nil, fmt.Errorf("no stack %s", stack)
	}
	return e.Outputs(ctx)
}
