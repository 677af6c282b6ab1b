package stacks

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/experts/platform/infra"
)

// UpOutcome is what an infra-only update did.
type UpOutcome struct {
	Stack        string         `json:"stack"`
	StackVersion int            `json:"stackVersion"`
	Planned      []string       `json:"planned"` // the changes the preview showed
	Changes      map[string]int `json:"changes,omitempty"`
}

// Up runs an infra-only update: a preview first (its changes are logged and
// returned), then the update, which keeps the live release (the program
// reads it from the stack's own outputs): no image changes. The update is
// numbered and recorded in the ledger.
func (d *Driver) Up(ctx context.Context) (*UpOutcome, error) {
	log := d.logger().With("stack", d.Stack)
	hist, err := d.Engine.History(ctx)
	if err != nil {
		return nil, err
	}
	ledger, err := BuildLedger(hist)
	if err != nil {
		return nil, err
	}
	out := &UpOutcome{Stack: d.Stack, StackVersion: ledger.NextVersion()}
	b, err := json.Marshal(infra.Deployment{Sequence: out.StackVersion, Kind: infra.DeploymentInfra, Run: d.Run})
	if err != nil {
		return nil, fmt.Errorf("record the update: %w", err)
	}
	u := Update{
		Config:   map[string]string{infra.KeyDeployment: string(b)},
		Message:  updateMessage(out.StackVersion, infra.DeploymentInfra, "", "", infra.Release{}, d.Run),
		Progress: d.Progress,
	}
	plan, err := d.Engine.Preview(ctx, u)
	if err != nil {
		return nil, err
	}
	for _, s := range plan.Steps {
		if s.Changed() {
			out.Planned = append(out.Planned, s.Op+" "+s.Type+" "+s.Name())
		}
	}
	sort.Strings(out.Planned)
	log.Info("preview of the infra update", "changes", len(out.Planned), "summary", FormatChanges(plan.Changes))
	for _, c := range out.Planned {
		log.Info("planned change", "change", c)
	}
	res, err := d.Engine.Up(ctx, u)
	if err != nil {
		return out, err
	}
	out.Changes = res.Changes
	return out, nil
}
