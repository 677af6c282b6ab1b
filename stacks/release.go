package stacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/stacks/deploy"
)

// Deployer is the ECS side of a release; *deploy.Operator implements it.
type Deployer interface {
	RunMigration(ctx context.Context, spec deploy.MigrationSpec) (*deploy.MigrationResult, error)
	VerifyDeployment(ctx context.Context, spec deploy.VerifySpec) error
	CollectBundle(ctx context.Context, spec deploy.BundleSpec) (*deploy.Bundle, error)
}

// Smoker runs the smoke checks of one service against its public URL and
// requires its /version to report want.
type Smoker interface {
	Smoke(ctx context.Context, service, url string, want infra.Release) error
}

// AccountReader returns the AWS account of the current credentials.
type AccountReader interface {
	Account(ctx context.Context) (Caller, error)
}

// ImageChecker checks, before prod references a digest, that it is in the
// service's repository with its release tag (infra.CheckImageReleasable):
// replication fills prod's registry asynchronously. Its error wraps
// infra.ErrImageNotReleasable when the image is not there.
type ImageChecker interface {
	CheckReleasable(ctx context.Context, repositoryURL, digest string) error
}

// ImageTagger protects the digest a dev release ran from the lifecycle
// policy with its release tag (infra.TagReleaseImage); replication carries
// the tag to prod.
type ImageTagger interface {
	TagRelease(ctx context.Context, repositoryURL, digest string) error
}

// DigestResolver finds the digest a tag of a repository points at; a
// rollback uses it to pin a release that was built without one.
type DigestResolver interface {
	DigestForTag(ctx context.Context, repositoryURL, tag string) (string, error)
}

// OutputsReader reads the outputs of another stack (--promote-from).
type OutputsReader interface {
	StackOutputs(ctx context.Context, stack string) (Outputs, error)
}

// Driver runs releases and rollbacks of one stack's services. Engine,
// Deployer and Smoker are required; the other dependencies skip their check
// when nil (a check that is skipped is logged).
type Driver struct {
	Stack    string
	Engine   Engine
	Deployer Deployer
	Smoker   Smoker
	Identity AccountReader
	Images   ImageChecker
	Tagger   ImageTagger
	Digests  DigestResolver
	Other    OutputsReader

	Logger *slog.Logger
	// Progress receives the engine's output.
	Progress io.Writer
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Run is the CI run that drives the release, recorded with every
	// update it makes.
	Run *infra.Run
	// MigrationTimeout and VerifyTimeout bound the migration task and the
	// verification; zero means the deploy package's defaults.
	MigrationTimeout time.Duration
	VerifyTimeout    time.Duration
	// RollbackTimeout bounds the rollback, which runs on a context of its
	// own so that an interrupt still leaves the previous release running.
	RollbackTimeout time.Duration
}

// DefaultRollbackTimeout bounds a rollback after a failed release.
const DefaultRollbackTimeout = 30 * time.Minute

// ReleaseRequest is what `deployctl release` asks for.
type ReleaseRequest struct {
	Service string
	Version string
	GitSha  string
	Ref     string
	// ImageDigest deploys this digest; PromoteFrom takes the digest that
	// this stack's live release of the service runs. Neither: dev builds.
	ImageDigest string
	PromoteFrom string
}

// Release steps, in order.
const (
	StepPreflight = "preflight"
	StepBuild     = "build"
	StepMigration = "migration task definition"
	StepMigrate   = "migrate"
	StepRollout   = "roll out"
	StepVerify    = "verify"
	StepSmoke     = "smoke"
	StepRecord    = "record"
	StepRollback  = "rollback"
)

// Outcomes of a release or rollback.
const (
	OutcomeSucceeded      = "succeeded"
	OutcomeFailed         = "failed"      // nothing rolled out, or nothing to roll back
	OutcomeRolledBack     = "rolled back" // failed, and the previous release runs again, verified
	OutcomeRollbackFailed = "rollback failed"
)

// StepResult is one timed step.
type StepResult struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"` // succeeded, failed, skipped
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"durationNs"`
	Detail   string        `json:"detail,omitempty"`
}

// RollbackOutcome is what the rollback after a failed release did.
type RollbackOutcome struct {
	Version      string `json:"version"`
	StackVersion int    `json:"stackVersion"` // the stack version whose release was re-applied
	Update       int    `json:"update"`       // the stack version of the rollback's own update
	Verified     bool   `json:"verified"`
	SmokePassed  bool   `json:"smokePassed"`
	FailedStep   string `json:"failedStep,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// Result is the outcome of a release or rollback, for --json and the job
// summary.
type Result struct {
	Command  string       `json:"command"` // release or rollback
	Stack    string       `json:"stack"`
	Service  string       `json:"service"`
	Version  string       `json:"version"`
	GitSha   string       `json:"gitSha,omitempty"`
	Digest   string       `json:"imageDigest,omitempty"`
	Previous string       `json:"previousVersion,omitempty"`
	Outcome  string       `json:"outcome"`
	Steps    []StepResult `json:"steps"`
	// FailedStep and Reason say where and why it failed.
	FailedStep string `json:"failedStep,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// StackVersion is the ledger number of the update that rolled the
	// release out.
	StackVersion int                     `json:"stackVersion,omitempty"`
	Rollback     *RollbackOutcome        `json:"rollback,omitempty"`
	Migration    *deploy.MigrationResult `json:"migration,omitempty"`
	Warnings     []string                `json:"warnings,omitempty"`
	// NextCommand is what to run when the stack was left in doubt.
	NextCommand string `json:"nextCommand,omitempty"`
}

// OneLine is the verdict printed on stderr.
func (r *Result) OneLine() string {
	head := fmt.Sprintf("%s %s %s", r.Command, r.Service, r.Version)
	switch r.Outcome {
	case OutcomeSucceeded:
		return fmt.Sprintf("%s succeeded (stack version %d, verified, smoke passed)", head, r.StackVersion)
	case OutcomeRolledBack:
		rb := r.Rollback
		return fmt.Sprintf("%s failed at %s: %s; rolled back to %s (stack version %d, verified, smoke passed)",
			head, r.FailedStep, r.Reason, rb.Version, rb.StackVersion)
	case OutcomeRollbackFailed:
		rb := r.Rollback
		return fmt.Sprintf("%s failed at %s: %s; ROLLBACK TO %s FAILED at %s: %s; the service may run either release: %s",
			head, r.FailedStep, r.Reason, rb.Version, rb.FailedStep, rb.Reason, r.NextCommand)
	}
	line := fmt.Sprintf("%s failed at %s: %s", head, r.FailedStep, r.Reason)
	if r.Previous != "" {
		line += "; nothing rolled out, " + r.Previous + " still live"
	}
	return line
}

// releaseRun is the state of one release.
type releaseRun struct {
	d      *Driver
	req    ReleaseRequest
	res    *Result
	log    *slog.Logger
	start  time.Time
	ledger Ledger
	// outputs are the stack's outputs before the release.
	outputs Outputs
	// live is the release of every service before the release; good is
	// the ledger entry it came from.
	live map[string]infra.Release
	good LedgerEntry
	// next is the release being rolled out.
	next infra.Release
	seq  int
}

func (d *Driver) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return d.Logger
}

func (d *Driver) now() time.Time {
	if d.Clock == nil {
		return time.Now()
	}
	return d.Clock()
}

// step runs one timed step and records it.
func (r *releaseRun) step(name string, fn func() (string, error)) error {
	started := r.d.now()
	r.log.Info("step started", "step", name)
	detail, err := fn()
	s := StepResult{Name: name, Status: OutcomeSucceeded, Started: started, Duration: r.d.now().Sub(started), Detail: detail}
	if err != nil {
		s.Status = OutcomeFailed
		s.Detail = err.Error()
		r.log.Error("step failed", "step", name, "duration", s.Duration.Round(time.Millisecond).String(), "err", err)
	} else {
		r.log.Info("step done", "step", name, "duration", s.Duration.Round(time.Millisecond).String(), "detail", detail)
	}
	r.res.Steps = append(r.res.Steps, s)
	return err
}

func (r *releaseRun) skip(name, why string) {
	r.res.Steps = append(r.res.Steps, StepResult{Name: name, Status: "skipped", Started: r.d.now(), Detail: why})
}

// fail records the failure of step and returns the result with err.
func (r *releaseRun) fail(step string, err error) (*Result, error) {
	r.res.Outcome, r.res.FailedStep, r.res.Reason = OutcomeFailed, step, oneLine(err)
	return r.res, err
}

// Release runs one release of req.Service: preflight, build (dev), the
// migration task definition and the migration (api), the roll-out, verify
// and smoke. A failure after the roll-out began rolls the service back to
// the release that ran before. The result is complete also on failure.
func (d *Driver) Release(ctx context.Context, req ReleaseRequest) (*Result, error) {
	r := &releaseRun{
		d:     d,
		req:   req,
		log:   d.logger().With("stack", d.Stack, "service", req.Service, "version", req.Version),
		start: d.now(),
		res: &Result{Command: "release", Stack: d.Stack, Service: req.Service, Version: req.Version,
			GitSha: req.GitSha, Digest: req.ImageDigest},
	}
	if err := validateRequest(req); err != nil {
		return r.fail(StepPreflight, err)
	}
	if err := r.step(StepPreflight, func() (string, error) { return r.preflight(ctx) }); err != nil {
		return r.fail(StepPreflight, err)
	}
	r.res.Previous = r.live[req.Service].Version

	if infra.HasMigrations(req.Service) {
		if err := r.step(StepMigration, func() (string, error) { return r.prepareMigration(ctx) }); err != nil {
			return r.fail(StepMigration, err)
		}
		if err := r.step(StepMigrate, func() (string, error) { return r.migrate(ctx) }); err != nil {
			r.clearPending(ctx)
			return r.fail(StepMigrate, err)
		}
	} else if r.next.Builds() {
		r.skip(StepBuild, "the roll-out update builds the image")
	}

	rolloutStart := d.now()
	var taskDef string
	if err := r.step(StepRollout, func() (string, error) {
		var err error
		taskDef, err = r.rollout(ctx)
		return taskDef, err
	}); err != nil {
		return r.rollback(ctx, StepRollout, err)
	}
	if err := r.step(StepVerify, func() (string, error) { return r.verify(ctx, taskDef, rolloutStart) }); err != nil {
		return r.rollback(ctx, StepVerify, err)
	}
	if err := r.step(StepSmoke, func() (string, error) { return r.smoke(ctx, r.next) }); err != nil {
		return r.rollback(ctx, StepSmoke, err)
	}
	r.res.Outcome = OutcomeSucceeded
	_ = r.step(StepRecord, func() (string, error) {
		detail := fmt.Sprintf("stack version %d: %s %s %s", r.res.StackVersion, req.Service, req.Version, r.res.Digest)
		if tagged := r.protectImage(ctx); tagged != "" {
			detail += "; " + tagged
		}
		return detail, nil
	})
	return r.res, nil
}

func validateRequest(req ReleaseRequest) error {
	var problems []string
	if !slices.Contains(infra.Services, req.Service) {
		problems = append(problems, fmt.Sprintf("unknown service %q (the services are %s)", req.Service, strings.Join(infra.Services, ", ")))
	}
	if req.Version == "" || strings.HasPrefix(req.Version, "v") {
		problems = append(problems, fmt.Sprintf("version %q is not a semantic version without a leading v", req.Version))
	}
	if len(req.GitSha) != 40 {
		problems = append(problems, fmt.Sprintf("sha %q is not a full 40-character commit id", req.GitSha))
	}
	if req.ImageDigest != "" && req.PromoteFrom != "" {
		problems = append(problems, "give --image-digest or --promote-from, not both")
	}
	if len(problems) > 0 {
		return &RequestError{Problems: problems}
	}
	return nil
}

// RequestError is a release or rollback request that cannot run: nothing
// was attempted.
type RequestError struct{ Problems []string }

func (e *RequestError) Error() string { return strings.Join(e.Problems, "; ") }

// deployment renders the record of one update.
func (r *releaseRun) deployment(kind, step string, replaces int, reason string) string {
	b, _ := json.Marshal(infra.Deployment{
		Sequence: r.seq, Kind: kind, Service: r.req.Service, Step: step, Replaces: replaces,
		Reason: truncateText(reason, 300), Run: r.d.Run,
	})
	return string(b)
}

func releaseConfig(rel map[string]infra.Release) string {
	b, _ := json.Marshal(rel)
	return string(b)
}

// withService returns a copy of rel with service's release replaced.
func withService(rel map[string]infra.Release, service string, r infra.Release) map[string]infra.Release {
	out := make(map[string]infra.Release, len(rel))
	for k, v := range rel {
		out[k] = v
	}
	out[service] = r
	return out
}

// update runs one update of the release with its record, numbering it.
func (r *releaseRun) update(ctx context.Context, rel map[string]infra.Release, kind, step string, replaces int, reason string) (*UpResult, error) {
	r.seq++
	msg := updateMessage(r.seq, kind, step, r.req.Service, rel[r.req.Service], r.d.Run)
	res, err := r.d.Engine.Up(ctx, Update{
		Config: map[string]string{
			infra.KeyRelease:    releaseConfig(rel),
			infra.KeyDeployment: r.deployment(kind, step, replaces, reason),
		},
		Message:  msg,
		Progress: r.d.Progress,
	})
	return res, err
}

// updateMessage is the history message of an update the driver makes.
func updateMessage(seq int, kind, step, service string, rel infra.Release, run *infra.Run) string {
	var msg string
	switch kind {
	case infra.DeploymentInfra:
		msg = fmt.Sprintf("deployctl up [stack version %d]", seq)
	default:
		msg = fmt.Sprintf("deployctl %s %s %s", kind, service, rel.Version)
		if step != "" {
			msg += " (" + step + ")"
		}
		msg += fmt.Sprintf(" [stack version %d]", seq)
	}
	if run != nil {
		if run.URL != "" {
			msg += " run " + run.URL
		}
		if run.Actor != "" {
			msg += " by " + run.Actor
		}
		if run.Commit != "" {
			msg += " at " + run.Commit
		}
	}
	return msg
}

// prepareMigration registers the migration task definition of the new
// release (building its image in dev) while the service keeps its
// release, and checks what it runs.
func (r *releaseRun) prepareMigration(ctx context.Context) (string, error) {
	svc := r.req.Service
	cur := r.live[svc]
	pending := r.next
	cur.Migrate = &pending
	up, err := r.update(ctx, withService(r.live, svc, cur), infra.DeploymentRelease, infra.StepMigrate, 0, "")
	if err != nil {
		return "", err
	}
	image, err := up.Outputs.String(ServiceOutput(svc, SuffixMigrationImage))
	if err != nil {
		return "", err
	}
	digest := infra.ImageDigest(image)
	if digest == "" {
		return "", fmt.Errorf("migration image %q holds no digest", image)
	}
	if r.next.ImageDigest != "" && r.next.ImageDigest != digest {
		return "", fmt.Errorf("migration task definition runs %s, not the release's %s", digest, r.next.ImageDigest)
	}
	r.next.ImageDigest, r.res.Digest = digest, digest
	r.outputs = up.Outputs
	if changed := foreignChanges(up.Steps, svc); len(changed) > 0 {
		r.res.Warnings = append(r.res.Warnings, "the migration update changed resources outside "+svc+": "+strings.Join(changed, ", "))
	}
	return fmt.Sprintf("stack version %d: %s runs %s %s", r.seq, ServiceOutput(svc, SuffixMigrationTaskDefinitionArn), r.next.Version, image), nil
}

// migrate runs the migration task of the pending release.
func (r *releaseRun) migrate(ctx context.Context) (string, error) {
	svc := r.req.Service
	spec, err := migrationSpec(r.outputs, svc)
	if err != nil {
		return "", err
	}
	spec.Release = fmt.Sprintf("%s-%s-%s", r.d.Stack, svc, r.next.Version)
	spec.Timeout = r.d.MigrationTimeout
	spec.ExpectImage, _ = r.outputs.String(ServiceOutput(svc, SuffixMigrationImage))
	spec.ExpectVersion, spec.ExpectGitSha = r.next.Version, r.next.GitSha
	res, err := r.d.Deployer.RunMigration(ctx, spec)
	r.res.Migration = res
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("task %s: container %s exited with code 0", res.TaskID, res.Container), nil
}

// migrationSpec reads where the migration task runs from the outputs.
func migrationSpec(outputs Outputs, service string) (deploy.MigrationSpec, error) {
	spec := deploy.MigrationSpec{Service: service} // tags the task for the deploy role's IAM
	var err error
	get := func(dst *string, key string) {
		if err == nil {
			*dst, err = outputs.String(key)
		}
	}
	get(&spec.Cluster, OutputClusterName)
	get(&spec.TaskDefinition, ServiceOutput(service, SuffixMigrationTaskDefinitionArn))
	get(&spec.Container, ServiceOutput(service, SuffixMigrationContainerName))
	var sg string
	get(&sg, OutputTaskSecurityGroupID)
	if err == nil {
		spec.SecurityGroups = []string{sg}
		spec.Subnets, err = outputs.Strings(OutputTaskSubnetIDs)
	}
	return spec, err
}

// clearPending drops the pending release after a failed migration, so that
// the next update is clean. Its failure is a warning: the services were
// never touched.
func (r *releaseRun) clearPending(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.d.rollbackTimeout())
	defer cancel()
	err := r.step("clear pending migration", func() (string, error) {
		if _, err := r.update(cctx, r.live, infra.DeploymentRelease, infra.StepClear, 0, "migration failed"); err != nil {
			return "", err
		}
		return fmt.Sprintf("stack version %d: %s %s stays live", r.seq, r.req.Service, r.live[r.req.Service].Version), nil
	})
	if err != nil {
		r.res.Warnings = append(r.res.Warnings, "the pending migration could not be cleared: "+oneLine(err)+
			"; the next deployctl release or rollback clears it")
	}
}

// rollout points the service at the new release and returns the task
// definition it must run.
func (r *releaseRun) rollout(ctx context.Context) (string, error) {
	svc := r.req.Service
	up, err := r.update(ctx, withService(r.live, svc, r.next), infra.DeploymentRelease, infra.StepRollout, 0, "")
	r.res.StackVersion = r.seq
	if err != nil {
		return "", err
	}
	r.outputs = up.Outputs
	if r.next.ImageDigest == "" {
		image, err := up.Outputs.String(ServiceOutput(svc, SuffixImage))
		if err != nil {
			return "", err
		}
		r.next.ImageDigest, r.res.Digest = infra.ImageDigest(image), infra.ImageDigest(image)
	}
	return up.Outputs.String(ServiceOutput(svc, SuffixTaskDefinitionArn))
}

// verify checks that the service runs the task definition, COMPLETED.
func (r *releaseRun) verify(ctx context.Context, taskDef string, since time.Time) (string, error) {
	cluster, err := r.outputs.String(OutputClusterName)
	if err != nil {
		return "", err
	}
	name, err := r.outputs.String(ServiceOutput(r.req.Service, SuffixServiceName))
	if err != nil {
		return "", err
	}
	err = r.d.Deployer.VerifyDeployment(ctx, deploy.VerifySpec{
		Cluster: cluster, Service: name, TaskDefinition: taskDef, Since: since, Timeout: r.d.VerifyTimeout,
	})
	if err != nil {
		return "", err
	}
	return "PRIMARY deployment runs " + taskDef + ", rollout COMPLETED", nil
}

// smoke runs the smoke checks against the service's public URL.
func (r *releaseRun) smoke(ctx context.Context, want infra.Release) (string, error) {
	url, err := r.outputs.String(ServiceOutput(r.req.Service, SuffixURL))
	if err != nil {
		return "", err
	}
	if err := r.d.Smoker.Smoke(ctx, r.req.Service, url, want); err != nil {
		return "", err
	}
	return url + " serves " + want.Version + " " + short(want.GitSha, 7), nil
}

func (d *Driver) rollbackTimeout() time.Duration {
	if d.RollbackTimeout <= 0 {
		return DefaultRollbackTimeout
	}
	return d.RollbackTimeout
}

// rollback re-applies the release that ran before, then verifies and smokes
// it, on a context of its own: an interrupt of the release must still
// leave the previous release running.
func (r *releaseRun) rollback(ctx context.Context, failedStep string, cause error) (*Result, error) {
	r.res.FailedStep, r.res.Reason = failedStep, oneLine(cause)
	r.collectBundle(ctx, cause)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.d.rollbackTimeout())
	defer cancel()
	prev := r.live[r.req.Service]
	rb := &RollbackOutcome{Version: prev.Version, StackVersion: r.good.Version}
	r.res.Rollback = rb
	failedSeq := r.res.StackVersion
	reason := fmt.Sprintf("release %s failed at %s: %s", r.next.Version, failedStep, r.res.Reason)
	err := r.step(StepRollback, func() (string, error) {
		taskDef, since, err := r.reapply(rctx, r.live, failedSeq, reason)
		rb.Update = r.seq
		if err != nil {
			rb.FailedStep = StepRollout
			return "", err
		}
		if _, err := r.verify(rctx, taskDef, since); err != nil {
			rb.FailedStep = StepVerify
			return "", err
		}
		rb.Verified = true
		if _, err := r.smoke(rctx, prev); err != nil {
			rb.FailedStep = StepSmoke
			return "", err
		}
		rb.SmokePassed = true
		return fmt.Sprintf("stack version %d re-applied the release of stack version %d: %s %s, verified, smoke passed",
			r.seq, r.good.Version, r.req.Service, prev.Version), nil
	})
	if err != nil {
		rb.Reason = oneLine(err)
		r.res.Outcome = OutcomeRollbackFailed
		r.res.NextCommand = fmt.Sprintf("deployctl rollback %s --stack %s --to %d", r.req.Service, r.d.Stack, r.good.Version)
		return r.res, errors.Join(cause, fmt.Errorf("rollback: %w", err))
	}
	r.res.Outcome = OutcomeRolledBack
	return r.res, cause
}

// reapply runs the update of a rollback and returns the task definition
// the service must run and when the update began.
func (r *releaseRun) reapply(ctx context.Context, rel map[string]infra.Release, replaces int, reason string) (string, time.Time, error) {
	since := r.d.now()
	up, err := r.update(ctx, rel, infra.DeploymentRollback, infra.StepRollout, replaces, reason)
	if err != nil {
		return "", since, err
	}
	r.outputs = up.Outputs
	taskDef, err := up.Outputs.String(ServiceOutput(r.req.Service, SuffixTaskDefinitionArn))
	return taskDef, since, err
}

// collectBundle gathers the failure bundle of the service; its own failure
// is only logged.
func (r *releaseRun) collectBundle(ctx context.Context, cause error) {
	cluster, err1 := r.outputs.String(OutputClusterName)
	name, err2 := r.outputs.String(ServiceOutput(r.req.Service, SuffixServiceName))
	if err1 != nil || err2 != nil {
		return
	}
	tg, _ := r.outputs.String(ServiceOutput(r.req.Service, SuffixTargetGroupArn))
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if _, err := r.d.Deployer.CollectBundle(bctx, deploy.BundleSpec{
		Reason: oneLine(cause), Cluster: cluster, Service: name, TargetGroupArn: tg,
	}); err != nil {
		r.log.Warn("could not collect the failure bundle", "err", err)
	}
}

// protectImage puts the release tag on the digest a dev release ran, so
// that the lifecycle policy keeps it for rollbacks and replication brings
// it to prod tagged. A failure is a warning: the release itself is live
// and verified.
func (r *releaseRun) protectImage(ctx context.Context) string {
	env, _ := r.outputs[OutputEnvironment].(string)
	if env != infra.EnvDev || r.d.Tagger == nil || r.res.Digest == "" {
		return ""
	}
	repo, err := r.outputs.String(ServiceOutput(r.req.Service, SuffixRepositoryURL))
	if err == nil {
		err = r.d.Tagger.TagRelease(ctx, repo, r.res.Digest)
	}
	if err != nil {
		r.res.Warnings = append(r.res.Warnings, "the released image is not protected from the lifecycle policy: "+oneLine(err))
		return ""
	}
	tag, _ := infra.ReleaseTag(r.res.Digest)
	return "image tagged " + tag
}

// oneLine flattens an error message to one line.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
