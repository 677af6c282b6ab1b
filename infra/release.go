package infra

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Where an update's release came from (Config.ReleaseSource).
const (
	// ReleaseFromDriver: the release driver handed this update its release
	// (experts:release in the update's configuration).
	ReleaseFromDriver = "driver"
	// ReleaseFromLive: the release the stack runs now, read from the
	// stack's own last "release" output. Every update that the driver did
	// not start (deployctl up, pulumi preview, pulumi up) keeps it.
	ReleaseFromLive = "live"
	// ReleaseFromBootstrap: a brand-new stack without a live release runs
	// the bootstrap release of its stack file.
	ReleaseFromBootstrap = "bootstrap"
)

// Deployment kinds the release driver records.
const (
	DeploymentRelease  = "release"
	DeploymentRollback = "rollback"
	DeploymentInfra    = "infra"
)

// Steps of a release that make an update.
const (
	// StepMigrate registers the migration task definition of the pending
	// release (and builds its image in dev) while the services keep
	// serving the live one.
	StepMigrate = "migrate"
	// StepRollout points the service at the new release.
	StepRollout = "rollout"
	// StepClear drops a pending release whose migration failed.
	StepClear = "clear"
)

// Deployment is the release driver's record of one update, handed to the
// update as experts:deployment so that the stack's history keeps it with
// the update's configuration. Self-managed backends number no updates:
// Sequence is the ledger's own number of the update.
type Deployment struct {
	Sequence int    `json:"sequence"`
	Kind     string `json:"kind"`
	Service  string `json:"service,omitempty"`
	Step     string `json:"step,omitempty"`
	// Replaces is the sequence of the update whose release a rollback
	// replaced: that release is marked rolled back in the ledger.
	Replaces int `json:"replaces,omitempty"`
	// Reason says why a rollback ran.
	Reason string `json:"reason,omitempty"`
	Run    *Run   `json:"run,omitempty"`
}

// Run is the CI run that made an update.
type Run struct {
	ID         string `json:"id,omitempty"`
	URL        string `json:"url,omitempty"`
	Repository string `json:"repository,omitempty"`
	Actor      string `json:"actor,omitempty"`
	Commit     string `json:"commit,omitempty"`
}

var runIDPattern = regexp.MustCompile(`^[0-9]{1,20}$`)

func validateDeployment(d *decoder, dep *Deployment) {
	if dep == nil {
		return
	}
	key := KeyDeployment
	if dep.Sequence < 1 {
		d.fail(key+".sequence", strconv.Itoa(dep.Sequence), "must be 1 or more", "set only by deployctl: remove the key")
	}
	if !slices.Contains([]string{DeploymentRelease, DeploymentRollback, DeploymentInfra}, dep.Kind) {
		d.fail(key+".kind", dep.Kind, `must be "release", "rollback" or "infra"`, "set only by deployctl: remove the key")
	}
	if dep.Service != "" && !slices.Contains(Services, dep.Service) {
		d.fail(key+".service", dep.Service, "unknown service", "the services are "+strings.Join(Services, ", "))
	}
	if dep.Step != "" && !slices.Contains([]string{StepMigrate, StepRollout, StepClear}, dep.Step) {
		d.fail(key+".step", dep.Step, `must be "migrate", "rollout" or "clear"`, "set only by deployctl: remove the key")
	}
	if dep.Run != nil && dep.Run.ID != "" && !runIDPattern.MatchString(dep.Run.ID) {
		d.fail(key+".run.id", dep.Run.ID, "not a GitHub Actions run id", "set only by deployctl from GITHUB_RUN_ID")
	}
	if dep.Run != nil && dep.Run.Commit != "" && !gitShaPattern.MatchString(dep.Run.Commit) {
		d.fail(key+".run.commit", dep.Run.Commit, "not a full commit id", "set only by deployctl from GITHUB_SHA")
	}
}

// SelfReference is the name of the stack's reference to itself:
// "<organization>/<project>/<stack>" ("organization" on a self-managed
// backend).
func SelfReference(ctx *pulumi.Context) string {
	org := ctx.Organization()
	if org == "" {
		org = "organization"
	}
	return fmt.Sprintf("%s/%s/%s", org, ctx.Project(), ctx.Stack())
}

// readLiveRelease returns the stack's live release as JSON text, read
// through a StackReference to the stack itself (which yields the outputs of
// the stack's previous update), or "" when the stack has no release output
// yet.
func readLiveRelease(ctx *pulumi.Context) (string, error) {
	ref, err := pulumi.NewStackReference(ctx, "live-release", &pulumi.StackReferenceArgs{
		Name: pulumi.String(SelfReference(ctx)),
	})
	if err != nil {
		return "", fmt.Errorf("reference the stack's own outputs: %w", err)
	}
	details, err := ref.GetOutputDetails(OutputRelease)
	if err != nil {
		return "", fmt.Errorf("read the live release (output %q of %s): %w", OutputRelease, SelfReference(ctx), err)
	}
	v := details.Value
	if v == nil {
		v = details.SecretValue
	}
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("read the live release: %w", err)
	}
	return string(b), nil
}
