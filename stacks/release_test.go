package stacks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/stacks/deploy"
)

var (
	apiLive = rel("1.4.2", sha("a"), digestOf("api", "1.4.2"))
	mcpLive = rel("1.1.0", sha("b"), digestOf("mcp", "1.1.0"))
)

func liveReleases() map[string]infra.Release {
	return map[string]infra.Release{infra.ServiceAPI: apiLive, infra.ServiceMCP: mcpLive}
}

// fixture is one stack with a live release and a driver over it.
type fixture struct {
	engine   *fakeEngine
	deployer *fakeDeployer
	smoker   *fakeSmoker
	driver   *Driver
}

func newFixture(t *testing.T, env string) *fixture {
	t.Helper()
	f := &fixture{
		engine:   newFakeEngine(t, env, liveReleases()),
		deployer: &fakeDeployer{verifyErr: map[string]error{}},
		smoker:   &fakeSmoker{fail: map[string]error{}},
	}
	f.driver = &Driver{
		Stack: env, Engine: f.engine, Deployer: f.deployer, Smoker: f.smoker,
		Identity: fakeIdentity{account: testAccount},
		Run:      &infra.Run{ID: "4242", URL: "https://github.com/experts-app/experts/actions/runs/4242", Actor: "octocat", Commit: sha("c")},
	}
	return f
}

func apiRequest() ReleaseRequest {
	return ReleaseRequest{Service: infra.ServiceAPI, Version: "1.5.0", GitSha: sha("c"), Ref: "main"}
}

// ledger builds the ledger from the fake's history.
func (f *fixture) ledger(t *testing.T) Ledger {
	t.Helper()
	hist, err := f.engine.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l, err := BuildLedger(hist)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// kinds summarizes the ledger: "version kind/step service result".
func kinds(l Ledger) []string {
	var out []string
	for _, e := range l {
		s := fmt.Sprintf("%d %s", e.Version, e.Kind)
		if e.Step != "" {
			s += "/" + e.Step
		}
		if e.Service != "" {
			s += " " + e.Service
		}
		s += " " + e.Result
		if len(e.RolledBack) > 0 {
			s += " rolled-back"
		}
		out = append(out, s)
	}
	return out
}

func stepNames(r *Result) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name+" "+s.Status)
	}
	return out
}

func TestReleaseOfTheAPIMigratesRollsOutVerifiesAndSmokes(t *testing.T) {
	f := newFixture(t, "dev")
	tagger := &fakeTagger{}
	f.driver.Tagger = tagger
	res, err := f.driver.Release(context.Background(), apiRequest())
	if err != nil {
		t.Fatalf("Release: %v (%s)", err, res.OneLine())
	}
	wantSteps := []string{"preflight succeeded", "migration task definition succeeded", "migrate succeeded",
		"roll out succeeded", "verify succeeded", "smoke succeeded", "record succeeded"}
	if diff := cmp.Diff(wantSteps, stepNames(res)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	built := digestOf("api", "1.5.0", sha("c"))
	if diff := cmp.Diff([]string{repoBase + "dev-api@" + built}, tagger.tagged); diff != "" {
		t.Errorf("images tagged against the lifecycle policy (-want +got):\n%s", diff)
	}
	live := f.engine.live()
	if diff := cmp.Diff(infra.Release{Version: "1.5.0", GitSha: sha("c"), Ref: "main", ImageDigest: built}, live["api"]); diff != "" {
		t.Errorf("live api release (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(mcpLive, live["mcp"]); diff != "" {
		t.Errorf("the mcp release changed (-want +got):\n%s", diff)
	}
	// The roll-out deploys the digest the migration update built: nothing
	// is built twice.
	rollout, err := decodeRelease(f.engine.ups[1].Config[infra.KeyRelease])
	if err != nil {
		t.Fatal(err)
	}
	if rollout["api"].ImageDigest != built || rollout["api"].Migrate != nil {
		t.Errorf("roll-out release = %+v, want digest %s and no pending migration", rollout["api"], built)
	}
	if got, want := f.deployer.migrations[0].ExpectVersion, "1.5.0"; got != want {
		t.Errorf("migration checked version %q, want %q", got, want)
	}
	want := []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/rollout api succeeded"}
	if diff := cmp.Diff(want, kinds(f.ledger(t))); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
	if res.StackVersion != 3 || res.Outcome != OutcomeSucceeded {
		t.Errorf("stack version %d outcome %s", res.StackVersion, res.Outcome)
	}
	if got := res.OneLine(); got != "release api 1.5.0 succeeded (stack version 3, verified, smoke passed)" {
		t.Errorf("one-liner = %q", got)
	}
	if msg := f.engine.history[2].Message; !strings.Contains(msg, "[stack version 3]") || !strings.Contains(msg, "runs/4242") || !strings.Contains(msg, "octocat") {
		t.Errorf("update message = %q, want the stack version and the run", msg)
	}
}

func TestReleaseOfMCPInDevBuildsInTheRollout(t *testing.T) {
	f := newFixture(t, "dev")
	res, err := f.driver.Release(context.Background(), ReleaseRequest{Service: "mcp", Version: "1.2.0", GitSha: sha("d")})
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	if diff := cmp.Diff([]string{"preflight succeeded", "build skipped", "roll out succeeded", "verify succeeded", "smoke succeeded", "record succeeded"}, stepNames(res)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if res.Digest != digestOf("mcp", "1.2.0", sha("d")) {
		t.Errorf("digest = %s, want the one the roll-out built", res.Digest)
	}
	if len(f.deployer.migrations) != 0 {
		t.Error("mcp ran a migration")
	}
}

// TestReleaseFaults is the fault matrix: each fault ends with the one-line
// verdict, an error, the ledger intact and the previous release running.
func TestReleaseFaults(t *testing.T) {
	one := int32(1)
	tests := []struct {
		name  string
		env   string
		req   func() ReleaseRequest
		setup func(f *fixture, ctx context.Context, cancel context.CancelFunc)
		// wantLine is the start of the one-liner; wantOutcome the outcome.
		wantLine    string
		wantOutcome string
		wantIs      error
		// wantLedger is the ledger after the release.
		wantLedger []string
		// wantLive is the api version live afterwards.
		wantLive string
	}{
		{
			name: "fails at migrate when the migration exits 1, and clears the pending migration",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.deployer.migration = func(deploy.MigrationSpec) (*deploy.MigrationResult, error) {
					return &deploy.MigrationResult{TaskID: "0abc", ExitCode: &one, Reason: "container migrate exited with code 1"},
						fmt.Errorf("%w: task 0abc: container migrate exited with code 1", deploy.ErrMigrationFailed)
				}
			},
			wantLine:    "release api 1.5.0 failed at migrate: migration failed: task 0abc: container migrate exited with code 1; nothing rolled out, 1.4.2 still live",
			wantOutcome: OutcomeFailed, wantIs: deploy.ErrMigrationFailed,
			wantLedger: []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/clear api succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name: "fails at migrate when the migration never starts",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.deployer.migration = func(deploy.MigrationSpec) (*deploy.MigrationResult, error) {
					return &deploy.MigrationResult{TaskID: "0abc", StopCode: "TaskFailedToStart"},
						fmt.Errorf("%w: task 0abc: container migrate never exited with a code (stop code TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 5 time(s))", deploy.ErrMigrationFailed)
				}
			},
			wantLine:    "release api 1.5.0 failed at migrate: migration failed: task 0abc: container migrate never exited with a code (stop code TaskFailedToStart: CannotPullContainerError",
			wantOutcome: OutcomeFailed, wantIs: deploy.ErrMigrationFailed,
			wantLedger: []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/clear api succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name: "fails at migrate when the task never stops",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.deployer.migration = func(deploy.MigrationSpec) (*deploy.MigrationResult, error) {
					return &deploy.MigrationResult{TaskID: "0abc", TimedOut: true, StopRequested: true},
						fmt.Errorf("%w: %w: task 0abc did not stop within 30m0s (last status RUNNING); task arn:aws:ecs:eu-west-1:1:task/c/0abc was stopped (container migrate: exit code 137)",
							deploy.ErrMigrationFailed, deploy.ErrTimeout)
				}
			},
			wantLine:    "release api 1.5.0 failed at migrate: migration failed: deadline passed: task 0abc did not stop within 30m0s",
			wantOutcome: OutcomeFailed, wantIs: deploy.ErrTimeout,
			wantLedger: []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/clear api succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name: "rolls back when the service never stabilizes",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.failVerifyOf("1.5.0", fmt.Errorf("service experts-dev-api: %w: deployment not verified within 30m0s (last seen: IN_PROGRESS running=0 pending=1 desired=1 failedTasks=0)", deploy.ErrTimeout))
			},
			wantLine:    "release api 1.5.0 failed at verify: service experts-dev-api: deadline passed: deployment not verified within 30m0s (last seen: IN_PROGRESS running=0 pending=1 desired=1 failedTasks=0); rolled back to 1.4.2 (stack version 1, verified, smoke passed)",
			wantOutcome: OutcomeRolledBack, wantIs: deploy.ErrTimeout,
			wantLedger: []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/rollout api succeeded rolled-back", "4 rollback/rollout api succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name: "rolls back after a circuit-breaker rollback that ECS reports as stable",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.failVerifyOf("1.5.0", fmt.Errorf("service experts-dev-api: %w: PRIMARY deployment ecs-svc/2 runs experts-dev-api:1, not experts-dev-api:2; event: (service experts-dev-api) deployment failed: tasks failed to start. circuit breaker: rolling back", deploy.ErrRolledBack))
			},
			wantLine:    "release api 1.5.0 failed at verify: service experts-dev-api: deployment rolled back: PRIMARY deployment ecs-svc/2 runs",
			wantOutcome: OutcomeRolledBack, wantIs: deploy.ErrRolledBack,
			wantLedger: []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/rollout api succeeded rolled-back", "4 rollback/rollout api succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name: "rolls back when smoke finds the old version",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.smoker.serves = func(string) infra.Release { return apiLive }
			},
			wantLine:    "release api 1.5.0 failed at smoke: https://api.dev.experts.example.com/version reports 1.4.2, want 1.5.0; rolled back to 1.4.2 (stack version 1, verified, smoke passed)",
			wantOutcome: OutcomeRolledBack,
			wantLedger:  []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/rollout api succeeded rolled-back", "4 rollback/rollout api succeeded"},
			wantLive:    "1.4.2",
		},
		{
			name: "says so loudly when the rollback fails too",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.smoker.fail["1.5.0"] = errors.New("api/healthz: 503 after 5 attempts")
				f.smoker.fail["1.4.2"] = errors.New("api/healthz: 503 after 5 attempts")
			},
			wantLine:    "release api 1.5.0 failed at smoke: api/healthz: 503 after 5 attempts; ROLLBACK TO 1.4.2 FAILED at smoke: api/healthz: 503 after 5 attempts; the service may run either release: deployctl rollback api --stack dev --to 1",
			wantOutcome: OutcomeRollbackFailed,
			wantLedger:  []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/rollout api succeeded rolled-back", "4 rollback/rollout api succeeded"},
			wantLive:    "1.4.2",
		},
		{
			name: "rolls back when the roll-out update itself fails",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.engine.upErr = func(n int, _ map[string]infra.Release) error {
					if n == 2 {
						return errors.New("update stack dev: aws:ecs/service:Service runtime-api: operation timed out")
					}
					return nil
				}
			},
			wantLine:    "release api 1.5.0 failed at roll out: update stack dev: aws:ecs/service:Service runtime-api: operation timed out; rolled back to 1.4.2 (stack version 1, verified, smoke passed)",
			wantOutcome: OutcomeRolledBack,
			wantLedger:  []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/rollout api failed", "4 rollback/rollout api succeeded"},
			wantLive:    "1.4.2",
		},
		{
			name: "stops with the lock holder when another update runs",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.engine.upErr = func(int, map[string]infra.Release) error {
					return &ConcurrentUpdateError{Stack: "dev", Holder: "created by runner@fv-az123 (pid 4711) at 2026-11-30T09:00:00Z"}
				}
			},
			wantLine:    "release api 1.5.0 failed at migration task definition: stack dev is being updated by another run (lock created by runner@fv-az123 (pid 4711)",
			wantOutcome: OutcomeFailed, wantIs: ErrConcurrentUpdate,
			wantLedger: []string{"1 infra succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name: "rolls back and verifies when interrupted between roll-out and verify",
			setup: func(f *fixture, _ context.Context, cancel context.CancelFunc) {
				f.deployer.onVerify = func(vctx context.Context, spec deploy.VerifySpec) error {
					if strings.HasSuffix(spec.TaskDefinition, ":2") && vctx.Err() == nil {
						cancel() // SIGINT arrives as verification starts
						<-vctx.Done()
					}
					return nil
				}
			},
			wantLine:    "release api 1.5.0 failed at verify: verify service experts-dev-api: context canceled; rolled back to 1.4.2 (stack version 1, verified, smoke passed)",
			wantOutcome: OutcomeRolledBack, wantIs: context.Canceled,
			wantLedger: []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/rollout api succeeded rolled-back", "4 rollback/rollout api succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name: "says what to check when the AWS credentials expire",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.failVerifyOf("1.5.0", &deploy.CredentialsExpiredError{Op: "describe service experts-dev-api", Code: "ExpiredToken",
					Err: &smithy.GenericAPIError{Code: "ExpiredToken", Message: "The security token included in the request is expired"}})
			},
			wantLine:    "release api 1.5.0 failed at verify: describe service experts-dev-api: AWS credentials expired (ExpiredToken): the role session ended before the command did; check the role's session duration",
			wantOutcome: OutcomeRolledBack, wantIs: deploy.ErrCredentialsExpired,
			wantLedger: []string{"1 infra succeeded", "2 release/migrate api succeeded", "3 release/rollout api succeeded rolled-back", "4 rollback/rollout api succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name: "stops at preflight when an infra change is pending",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.engine.previewSteps = []Step{{
					URN:  "urn:pulumi:dev::experts::experts:infra:Runtime$aws:cloudwatch/logGroup:LogGroup::runtime-api-logs",
					Type: "aws:cloudwatch/logGroup:LogGroup", Op: "update",
				}}
			},
			wantLine:    "release api 1.5.0 failed at preflight: the release of api would also change 1 resources outside the service: update aws:cloudwatch/logGroup:LogGroup runtime-api-logs; these are infra changes that are not applied yet: run the infra pipeline (deployctl up) first",
			wantOutcome: OutcomeFailed, wantIs: ErrPreflight,
			wantLedger: []string{"1 infra succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name: "stops at preflight in prod when the digest is not in prod's registry",
			env:  "prod",
			setup: func(f *fixture, _ context.Context, _ context.CancelFunc) {
				f.driver.Images = fakeImages{present: map[string]bool{}}
			},
			req: func() ReleaseRequest {
				r := apiRequest()
				r.ImageDigest = digestOf("not", "replicated")
				return r
			},
			wantLine:    "release api 1.5.0 failed at preflight: image " + digestOf("not", "replicated") + " cannot be deployed from " + testAccount + ".dkr.ecr.eu-west-1.amazonaws.com/experts-prod-api (ECR replication is asynchronous",
			wantOutcome: OutcomeFailed, wantIs: ErrPreflight,
			wantLedger: []string{"1 infra succeeded"},
			wantLive:   "1.4.2",
		},
		{
			name:        "stops at preflight when prod would build",
			env:         "prod",
			wantLine:    "release api 1.5.0 failed at preflight: preflight failed: prod never builds: give --promote-from dev or --image-digest",
			wantOutcome: OutcomeFailed, wantIs: ErrPreflight,
			wantLedger: []string{"1 infra succeeded"},
			wantLive:   "1.4.2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == "" {
				env = "dev"
			}
			f := newFixture(t, env)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.setup != nil {
				tt.setup(f, ctx, cancel)
			}
			req := apiRequest()
			if tt.req != nil {
				req = tt.req()
			}
			res, err := f.driver.Release(ctx, req)
			if err == nil {
				t.Fatalf("Release succeeded: %s", res.OneLine())
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if got := res.OneLine(); !strings.HasPrefix(got, tt.wantLine) {
				t.Errorf("one-liner:\n got %q\nwant %q…", got, tt.wantLine)
			}
			if res.Outcome != tt.wantOutcome {
				t.Errorf("outcome = %q, want %q", res.Outcome, tt.wantOutcome)
			}
			if diff := cmp.Diff(tt.wantLedger, kinds(f.ledger(t))); diff != "" {
				t.Errorf("ledger (-want +got):\n%s", diff)
			}
			live := f.engine.live()
			if live["api"].Version != tt.wantLive || live["api"].Migrate != nil {
				t.Errorf("live api release = %+v, want %s without a pending migration", live["api"], tt.wantLive)
			}
			if diff := cmp.Diff(mcpLive, live["mcp"]); diff != "" {
				t.Errorf("the mcp release changed (-want +got):\n%s", diff)
			}
			if res.Outcome == OutcomeRolledBack {
				// The previous release runs again and was verified.
				want := f.engine.outputs.mustString(t, "apiTaskDefinitionArn")
				if len(f.deployer.verified) == 0 || f.deployer.verified[len(f.deployer.verified)-1] != want {
					t.Errorf("verified %v, want the rolled-back task definition %s last", f.deployer.verified, want)
				}
				if len(f.deployer.bundles) == 0 {
					t.Error("no failure bundle was collected")
				}
			}
		})
	}
}

// failVerifyOf makes verification of the api release version fail.
func (f *fixture) failVerifyOf(version string, err error) {
	f.deployer.onVerify = func(context.Context, deploy.VerifySpec) error {
		live := f.engine.live()
		if live["api"].Version == version {
			return err
		}
		return nil
	}
}

func (o Outputs) mustString(t *testing.T, key string) string {
	t.Helper()
	s, err := o.String(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReleasePromotesTheDigestDevVerified(t *testing.T) {
	dev := newFakeEngine(t, "dev", map[string]infra.Release{
		"api": rel("1.5.0", sha("c"), digestOf("api", "1.5.0", sha("c"))), "mcp": mcpLive,
	})
	tests := []struct {
		name    string
		gitSha  string
		present bool
		want    string
	}{
		{"deploys dev's digest when it is in prod's registry", sha("c"), true, ""},
		{"refuses another commit than dev runs", sha("e"), true, "stack dev runs api 1.5.0 at cccccccccccc, not eeeeeeeeeeee"},
		{"refuses a digest that has not replicated yet", sha("c"), false, "cannot be deployed from " + testAccount + ".dkr.ecr.eu-west-1.amazonaws.com/experts-prod-api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "prod")
			f.driver.Other = fakeOther{"dev": dev}
			f.driver.Images = fakeImages{present: map[string]bool{
				repoBase + "prod-api@" + digestOf("api", "1.5.0", sha("c")): tt.present,
			}}
			req := apiRequest()
			req.GitSha, req.PromoteFrom = tt.gitSha, "dev"
			res, err := f.driver.Release(context.Background(), req)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Release: %v", err)
				}
				if got := f.engine.live()["api"].ImageDigest; got != digestOf("api", "1.5.0", sha("c")) {
					t.Errorf("prod runs %s, want dev's digest", got)
				}
				return
			}
			if err == nil || !strings.Contains(res.OneLine(), tt.want) {
				t.Errorf("one-liner %q, want it to say %q", res.OneLine(), tt.want)
			}
			if len(f.engine.ups) != 0 {
				t.Errorf("%d updates ran, want none", len(f.engine.ups))
			}
		})
	}
}

func TestReleaseRefusesCredentialsOfAnotherAccount(t *testing.T) {
	f := newFixture(t, "dev")
	f.driver.Identity = fakeIdentity{account: "123456789012"}
	res, err := f.driver.Release(context.Background(), apiRequest())
	if !errors.Is(err, ErrAccountMismatch) {
		t.Fatalf("error = %v, want an account mismatch", err)
	}
	if res.FailedStep != StepPreflight || len(f.engine.ups) != 0 {
		t.Errorf("failed at %s after %d updates, want preflight and none", res.FailedStep, len(f.engine.ups))
	}
}

func TestReleaseRefusesABadRequest(t *testing.T) {
	f := newFixture(t, "dev")
	res, err := f.driver.Release(context.Background(), ReleaseRequest{Service: "web", Version: "v1", GitSha: "abc"})
	var re *RequestError
	if !errors.As(err, &re) || len(re.Problems) != 3 {
		t.Fatalf("error = %v, want three problems", err)
	}
	if res.Outcome != OutcomeFailed {
		t.Errorf("outcome = %s", res.Outcome)
	}
}
