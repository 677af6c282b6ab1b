package stacks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/experts/platform/infra"
)

// RollbackRequest is what `deployctl rollback` asks for. Zero ToVersion and
// empty ToRelease choose the default target.
type RollbackRequest struct {
	Service   string
	ToVersion int    // a stack version of the ledger
	ToRelease string // a release version of the service
}

// ErrNoRollbackTarget reports a ledger without an update to roll back to.
var ErrNoRollbackTarget = errors.New("no rollback target")

// SelectRollbackTarget chooses the stack version whose release of service
// a rollback re-applies: the one asked for, or by default the newest
// successful update whose release of service differs from the live one,
// skipping failed and rolled-back updates. The warnings say when the target
// is older than a migration that ran: the database is never rolled back.
func SelectRollbackTarget(l Ledger, req RollbackRequest, live infra.Release) (LedgerEntry, []string, error) {
	target, err := pickTarget(l, req, live)
	if err != nil {
		return LedgerEntry{}, nil, err
	}
	var warnings []string
	for _, e := range l {
		if e.Version < target.Version || e.Result != ResultSucceeded || e.Step != infra.StepMigrate || e.Service != req.Service {
			continue
		}
		if m := e.Release[req.Service].Migrate; m != nil {
			warnings = append(warnings, fmt.Sprintf("stack version %d ran the migrations of %s %s, at or after stack version %d: "+
				"the database is not rolled back, so %s %s runs against the newer schema (migrations must be expand-only)",
				e.Version, req.Service, m.Version, target.Version, req.Service, target.Release[req.Service].Version))
		}
	}
	return target, warnings, nil
}

func pickTarget(l Ledger, req RollbackRequest, live infra.Release) (LedgerEntry, error) {
	usable := func(e LedgerEntry) bool {
		_, ok := e.Release[req.Service]
		return e.Result == ResultSucceeded && ok
	}
	switch {
	case req.ToVersion > 0:
		e, ok := l.Find(req.ToVersion)
		if !ok {
			return LedgerEntry{}, fmt.Errorf("%w: stack version %d is not in the ledger (deployctl history lists them)", ErrNoRollbackTarget, req.ToVersion)
		}
		if !usable(e) {
			return LedgerEntry{}, fmt.Errorf("%w: stack version %d %s and ran no known %s release", ErrNoRollbackTarget, e.Version, e.Result, req.Service)
		}
		return e, nil
	case req.ToRelease != "":
		for i := len(l) - 1; i >= 0; i-- {
			if e := l[i]; usable(e) && e.Release[req.Service].Version == req.ToRelease {
				return e, nil
			}
		}
		return LedgerEntry{}, fmt.Errorf("%w: no successful update ran %s %s", ErrNoRollbackTarget, req.Service, req.ToRelease)
	}
	for i := len(l) - 1; i >= 0; i-- {
		e := l[i]
		if !usable(e) || slices.Contains(e.RolledBack, req.Service) || sameRelease(e.Release[req.Service], live) {
			continue
		}
		return e, nil
	}
	return LedgerEntry{}, fmt.Errorf("%w: no successful, not rolled-back update ran another %s release than the live %s",
		ErrNoRollbackTarget, req.Service, live.Version)
}

// Rollback re-applies the release of service from an earlier stack version,
// then verifies and smokes it. Only that service changes: the other
// services keep their live release.
func (d *Driver) Rollback(ctx context.Context, req RollbackRequest) (*Result, error) {
	r := &releaseRun{
		d:     d,
		req:   ReleaseRequest{Service: req.Service},
		log:   d.logger().With("stack", d.Stack, "service", req.Service),
		start: d.now(),
		res:   &Result{Command: "rollback", Stack: d.Stack, Service: req.Service},
	}
	var target LedgerEntry
	if err := r.step(StepPreflight, func() (string, error) {
		var err error
		target, err = r.rollbackPreflight(ctx, req)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("re-apply %s %s of stack version %d over the live %s", req.Service, r.next.Version, target.Version, r.res.Previous), nil
	}); err != nil {
		return r.fail(StepPreflight, err)
	}
	liveSeq := 0
	if since, ok := r.ledger.Since(req.Service); ok {
		liveSeq = since.Version
	}
	var taskDef string
	rolloutStart := d.now()
	reason := fmt.Sprintf("rollback of %s %s to stack version %d", req.Service, r.res.Previous, target.Version)
	if err := r.step(StepRollout, func() (string, error) {
		var err error
		taskDef, _, err = r.reapply(ctx, withService(r.live, req.Service, r.next), liveSeq, reason)
		r.res.StackVersion = r.seq
		return taskDef, err
	}); err != nil {
		return r.fail(StepRollout, err)
	}
	if err := r.step(StepVerify, func() (string, error) { return r.verify(ctx, taskDef, rolloutStart) }); err != nil {
		r.collectBundle(ctx, err)
		return r.fail(StepVerify, err)
	}
	if err := r.step(StepSmoke, func() (string, error) { return r.smoke(ctx, r.next) }); err != nil {
		return r.fail(StepSmoke, err)
	}
	r.res.Outcome = OutcomeSucceeded
	return r.res, nil
}

// rollbackPreflight reads the live release and the ledger, chooses the
// target and pins its digest.
func (r *releaseRun) rollbackPreflight(ctx context.Context, req RollbackRequest) (LedgerEntry, error) {
	d := r.d
	outputs, err := d.Engine.Outputs(ctx)
	if err != nil {
		return LedgerEntry{}, err
	}
	r.outputs = outputs
	if r.live, err = liveRelease(outputs, d.Stack); err != nil {
		return LedgerEntry{}, err
	}
	if err := r.checkAccount(ctx); err != nil {
		return LedgerEntry{}, err
	}
	hist, err := d.Engine.History(ctx)
	if err != nil {
		return LedgerEntry{}, err
	}
	if r.ledger, err = BuildLedger(hist); err != nil {
		return LedgerEntry{}, err
	}
	r.seq = r.ledger.NextVersion() - 1
	cur := r.live[req.Service]
	cur.Migrate = nil
	r.live[req.Service] = cur
	r.res.Previous = cur.Version
	target, warnings, err := SelectRollbackTarget(r.ledger, req, cur)
	if err != nil {
		return LedgerEntry{}, err
	}
	for _, w := range warnings {
		r.log.Warn(w)
	}
	r.res.Warnings = append(r.res.Warnings, warnings...)
	r.next = target.Release[req.Service]
	r.next.Migrate = nil
	r.good = target
	r.res.Version, r.res.GitSha = r.next.Version, r.next.GitSha
	if r.next.ImageDigest == "" {
		if err := r.pinDigest(ctx); err != nil {
			return LedgerEntry{}, err
		}
	}
	r.res.Digest = r.next.ImageDigest
	if err := r.checkImage(ctx); err != nil {
		return LedgerEntry{}, err
	}
	return target, nil
}

// pinDigest finds the digest of a release that was built without one
// (a dev build records its digest only in the stack's outputs): the image
// its build pushed under the :<sha> tag. A rollback never builds.
func (r *releaseRun) pinDigest(ctx context.Context) error {
	if r.d.Digests == nil {
		return fmt.Errorf("%s %s was built without a recorded digest and no registry client is available to find it", r.req.Service, r.next.Version)
	}
	repo, err := r.outputs.String(ServiceOutput(r.req.Service, SuffixRepositoryURL))
	if err != nil {
		return err
	}
	tag := infra.ImageTags(r.req.Service, r.next)[0]
	digest, err := r.d.Digests.DigestForTag(ctx, repo, tag)
	if err != nil {
		return fmt.Errorf("find the image of %s %s (%s:%s): %w", r.req.Service, r.next.Version, repo, tag, err)
	}
	if !strings.HasPrefix(digest, "sha256:") {
		return fmt.Errorf("find the image of %s %s: %s:%s points at %q, not a digest", r.req.Service, r.next.Version, repo, tag, digest)
	}
	r.next.ImageDigest = digest
	return nil
}
