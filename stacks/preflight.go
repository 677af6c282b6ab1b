package stacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/experts/platform/infra"
)

// ErrPreflight marks a release that stopped before it changed anything.
var ErrPreflight = errors.New("preflight failed")

// ForeignChangesError lists what an update would change outside the
// service being released: an infra change merged but not applied.
type ForeignChangesError struct {
	Service string
	Changes []string // "update aws:cloudwatch/logGroup:LogGroup runtime-api-logs"
}

func (e *ForeignChangesError) Error() string {
	return fmt.Sprintf("the release of %s would also change %d resources outside the service: %s; "+
		"these are infra changes that are not applied yet: run the infra pipeline (deployctl up) first",
		e.Service, len(e.Changes), strings.Join(e.Changes, ", "))
}

// Unwrap lets errors.Is match ErrPreflight.
func (e *ForeignChangesError) Unwrap() error { return ErrPreflight }

// MissingImageError says that the digest to deploy is not in the stack's
// registry with its release tag, and how to get it there.
type MissingImageError struct {
	Repository string
	Digest     string
	Err        error // infra.CheckImageReleasable's, with the backfill
}

func (e *MissingImageError) Error() string {
	return fmt.Sprintf("image %s cannot be deployed from %s (ECR replication is asynchronous and copies only images "+
		"pushed after it was set up: wait a few minutes and run again): %v", e.Digest, e.Repository, e.Err)
}

// Unwrap lets errors.Is match ErrPreflight and infra.ErrImageNotReleasable.
func (e *MissingImageError) Unwrap() []error { return []error{ErrPreflight, e.Err} }

// allowedChange reports whether a step of a release of service touches only
// that service: its images, its task definitions (service and migration)
// and its ECS service, plus the stack's outputs.
func allowedChange(s Step, service string) bool {
	name := s.Name()
	prefix := "runtime-" + service
	switch {
	case s.Type == "pulumi:pulumi:Stack", s.Type == "pulumi:pulumi:StackReference", strings.HasPrefix(s.Type, "pulumi:providers:"):
		return true
	case s.Op == "delete" && (s.Type == "experts:infra:Image" || strings.HasPrefix(s.Type, "docker:")):
		// Another service's build resources go once its release is
		// pinned by digest (after a dev build): no image changes.
		return true
	case s.Type == "aws:ecs/taskDefinition:TaskDefinition":
		return name == prefix+"-taskdef" || name == prefix+"-migrate-taskdef"
	case s.Type == "aws:ecs/service:Service":
		return name == prefix
	case s.Type == "experts:infra:Image", strings.HasPrefix(s.Type, "docker:"):
		return name == prefix+"-image" || strings.HasPrefix(name, prefix+"-image-") ||
			name == prefix+"-migrate-image" || strings.HasPrefix(name, prefix+"-migrate-image-")
	}
	return false
}

// foreignChanges lists the changing steps that are not the service's.
func foreignChanges(steps []Step, service string) []string {
	var out []string
	for _, s := range steps {
		if s.Changed() && !allowedChange(s, service) {
			out = append(out, s.Op+" "+s.Type+" "+s.Name())
		}
	}
	slices.Sort(out)
	return out
}

// liveRelease reads the live release from the stack's outputs.
func liveRelease(outputs Outputs, stack string) (map[string]infra.Release, error) {
	v, ok := outputs[infra.OutputRelease]
	if !ok {
		return nil, fmt.Errorf("%w: stack %s has no live release (output %q): run deployctl up --stack %s first; "+
			"a new stack's first update runs the bootstrap release of its stack file", ErrPreflight, stack, infra.OutputRelease, stack)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("read the live release: %w", err)
	}
	var rel map[string]infra.Release
	if err := json.Unmarshal(b, &rel); err != nil {
		return nil, fmt.Errorf("read the live release (output %q): %w", infra.OutputRelease, err)
	}
	for _, svc := range infra.Services {
		if _, ok := rel[svc]; !ok {
			return nil, fmt.Errorf("%w: the live release of stack %s names no %s release", ErrPreflight, stack, svc)
		}
	}
	return rel, nil
}

// preflight checks everything a release needs before it changes anything.
func (r *releaseRun) preflight(ctx context.Context) (string, error) {
	d, svc := r.d, r.req.Service
	outputs, err := d.Engine.Outputs(ctx)
	if err != nil {
		return "", err
	}
	r.outputs = outputs
	if r.live, err = liveRelease(outputs, d.Stack); err != nil {
		return "", err
	}
	if err := r.checkAccount(ctx); err != nil {
		return "", err
	}
	hist, err := d.Engine.History(ctx)
	if err != nil {
		return "", err
	}
	if r.ledger, err = BuildLedger(hist); err != nil {
		return "", err
	}
	if n := len(r.ledger); n > 0 && r.ledger[n-1].Result == ResultInProgress {
		last := r.ledger[n-1]
		return "", &ConcurrentUpdateError{Stack: d.Stack, Holder: fmt.Sprintf("stack version %d, started %s %s",
			last.Version, last.Start.Format("15:04:05Z"), runCell(last.Run))}
	}
	good, ok := r.ledger.LastGood()
	if !ok {
		return "", fmt.Errorf("%w: stack %s has no successful update in its history to roll back to", ErrPreflight, d.Stack)
	}
	r.good, r.seq = good, r.ledger.NextVersion()-1

	cur := r.live[svc]
	if cur.Migrate != nil {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("a pending migration of %s %s was left by an earlier release: this release replaces it",
			svc, cur.Migrate.Version))
		cur.Migrate = nil
		r.live[svc] = cur
	}
	r.next = infra.Release{Version: r.req.Version, GitSha: r.req.GitSha, Ref: r.req.Ref, ImageDigest: r.req.ImageDigest}
	if r.next.Ref == "" {
		r.next.Ref = "main"
	}
	if r.req.PromoteFrom != "" {
		if err := r.promote(ctx); err != nil {
			return "", err
		}
	}
	r.res.Digest = r.next.ImageDigest
	if err := r.checkImage(ctx); err != nil {
		return "", err
	}

	// The first update must change nothing but this service.
	first := withService(r.live, svc, r.next)
	if infra.HasMigrations(svc) {
		pending := r.next
		staying := cur
		staying.Migrate = &pending
		first = withService(r.live, svc, staying)
	}
	plan, err := d.Engine.Preview(ctx, Update{Config: map[string]string{
		infra.KeyRelease:    releaseConfig(first),
		infra.KeyDeployment: r.deploymentAt(r.seq+1, infra.DeploymentRelease, ""),
	}})
	if err != nil {
		return "", err
	}
	if foreign := foreignChanges(plan.Steps, svc); len(foreign) > 0 {
		return "", &ForeignChangesError{Service: svc, Changes: foreign}
	}
	return fmt.Sprintf("live %s %s (stack version %d is the last good one); the preview changes only %s",
		svc, cur.Version, good.Version, svc), nil
}

func (r *releaseRun) deploymentAt(seq int, kind, step string) string {
	saved := r.seq
	r.seq = seq
	defer func() { r.seq = saved }()
	return r.deployment(kind, step, 0, "")
}

// checkAccount requires the credentials to be for the stack's account.
func (r *releaseRun) checkAccount(ctx context.Context) error {
	if r.d.Identity == nil {
		r.log.Warn("caller identity not checked: no STS client")
		return nil
	}
	want, err := r.outputs.String(OutputAccountID)
	if err != nil {
		return err
	}
	caller, err := r.d.Identity.Account(ctx)
	if err != nil {
		return err
	}
	if caller.Account != want {
		return &AccountMismatchError{Caller: caller, Expected: want}
	}
	return nil
}

// promote takes the digest that the other stack's live release of the
// service runs; it must be the same commit.
func (r *releaseRun) promote(ctx context.Context) error {
	if r.d.Other == nil {
		return errors.New("--promote-from needs access to the other stack's outputs")
	}
	outs, err := r.d.Other.StackOutputs(ctx, r.req.PromoteFrom)
	if err != nil {
		return fmt.Errorf("read the live release of stack %s: %w", r.req.PromoteFrom, err)
	}
	rel, err := liveRelease(outs, r.req.PromoteFrom)
	if err != nil {
		return err
	}
	src := rel[r.req.Service]
	switch {
	case src.ImageDigest == "":
		return fmt.Errorf("%w: stack %s's live %s release names no digest", ErrPreflight, r.req.PromoteFrom, r.req.Service)
	case src.GitSha != r.req.GitSha:
		return fmt.Errorf("%w: stack %s runs %s %s at %s, not %s: release that commit to %s first, or give --image-digest",
			ErrPreflight, r.req.PromoteFrom, r.req.Service, src.Version, short(src.GitSha, 12), short(r.req.GitSha, 12), r.req.PromoteFrom)
	}
	r.next.ImageDigest = src.ImageDigest
	r.log.Info("promoting the digest of another stack", "from", r.req.PromoteFrom, "digest", src.ImageDigest, "version", src.Version)
	return nil
}

// checkImage requires a digest in prod and checks that it is in prod's own
// registry with its release tag.
func (r *releaseRun) checkImage(ctx context.Context) error {
	env, _ := r.outputs[OutputEnvironment].(string)
	if env != infra.EnvProd {
		return nil
	}
	if r.next.ImageDigest == "" {
		return fmt.Errorf("%w: prod never builds: give --promote-from dev or --image-digest", ErrPreflight)
	}
	if r.d.Images == nil {
		r.log.Warn("registry not checked for the digest: no ECR client")
		return nil
	}
	repo, err := r.outputs.String(ServiceOutput(r.req.Service, SuffixRepositoryURL))
	if err != nil {
		return err
	}
	err = r.d.Images.CheckReleasable(ctx, repo, r.next.ImageDigest)
	if errors.Is(err, infra.ErrImageNotReleasable) {
		return &MissingImageError{Repository: repo, Digest: r.next.ImageDigest, Err: err}
	}
	return err
}
