package stacks

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/infra/mockaws"
	"github.com/experts/platform/infra/policy"
	"github.com/experts/platform/infra/stackfile"
)

// Plan is the offline preview of one stack: every resource the program
// registers with its inputs, the stack outputs, and the policy verdicts.
type Plan struct {
	Project    string             `json:"project"`
	Stack      string             `json:"stack"`
	Resources  []policy.Resource  `json:"resources"`
	Outputs    map[string]any     `json:"outputs"`
	Violations []policy.Violation `json:"violations"`
	// Rules is how many policy rules were evaluated.
	Rules int `json:"rules"`
}

// Mandatory returns the violations that block a deployment.
func (p *Plan) Mandatory() []policy.Violation { return policy.MandatoryOnly(p.Violations) }

// ConfigError is a problem with the project or stack configuration: the
// preview never ran. Callers report it as a usage error.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// PreviewOffline runs the program of the project in dir for stack, with the
// configuration of its Pulumi.<stack>.yaml, under deterministic AWS mocks:
// no credentials, no provider plugins, no network. The same program and
// configuration always give the same plan.
func PreviewOffline(ctx context.Context, dir, stack string) (*Plan, error) {
	sf, err := stackfile.Load(dir, stack)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	if sf.Project != infra.Project {
		return nil, &ConfigError{Err: fmt.Errorf("%s/Pulumi.yaml is project %q, not %q", dir, sf.Project, infra.Project)}
	}
	cfg, err := infra.DecodeConfig(stack, sf.Values)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	mocks := mockaws.New(sf.Project, stack, cfg.AccountID, cfg.Region)
	var outputs map[string]any
	err = mocks.Run(sf.Values, sf.SecretKeys, func(pctx *pulumi.Context) error {
		outs, err := infra.Build(pctx)
		if err != nil {
			return err
		}
		outputs, err = mockaws.AwaitOutputs(pctx.Context(), outs)
		return err
	})
	if err != nil {
		var cerr *infra.ConfigError
		if errors.As(err, &cerr) {
			return nil, &ConfigError{Err: err}
		}
		return nil, fmt.Errorf("offline preview of %s: %w", stack, err)
	}

	rules := infra.Policies()
	resources := mocks.PlainResources()
	return &Plan{
		Project:    sf.Project,
		Stack:      stack,
		Resources:  resources,
		Outputs:    outputs,
		Violations: policy.Evaluate(rules, &policy.Stack{Name: stack, Environment: cfg.Environment, Resources: resources}),
		Rules:      len(rules),
	}, nil
}
