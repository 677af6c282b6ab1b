package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/experts/platform/internal/cliout"
	"github.com/experts/platform/stacks"
)

type statusOptions struct {
	Stdout        io.Writer
	NewEngine     func(dir, stack string) stacks.Engine
	ServiceClient func(ctx context.Context, region string) (stacks.ServicesAPI, error)

	Stack string
	JSON  bool
	Dir   string
}

func newCmdStatus(f *factory, runF func(context.Context, *statusOptions) error) *cobra.Command {
	opts := &statusOptions{Stdout: f.Stdout, NewEngine: f.NewEngine, ServiceClient: f.ServiceClient}
	cmd := &cobra.Command{
		Use:   "status --stack NAME [--json] [--dir DIR]",
		Short: "what each service runs now, since when, from which run, and whether ECS agrees",
		Long: `Prints, per service, the live release (the stack's own release output:
version, sha, digest), the stack version and time it went live and the CI
run that released it, and whether ECS agrees: the PRIMARY deployment runs
the stack's task definition, rollout COMPLETED.

` + exitStatusHelp("printed, ECS agrees", "ECS disagrees or the stack could not be read", "usage or configuration error"),
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return opts.run(c.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Stack, "stack", "", "stack to read, such as dev or prod")
	fl.BoolVar(&opts.JSON, "json", false, "print the status as one JSON document on stdout")
	fl.StringVar(&opts.Dir, "dir", ".", "Pulumi project directory: holds Pulumi.yaml and the stack files")
	return cmd
}

func (o *statusOptions) validate() error {
	if err := requireStack(o.Stack); err != nil {
		return err
	}
	return checkProjectDir("--dir", o.Dir)
}

func (o *statusOptions) run(ctx context.Context) error {
	engine := o.NewEngine(o.Dir, o.Stack)
	outputs, err := engine.Outputs(ctx)
	if err != nil {
		return automationError(err, o.Stack, o.Dir)
	}
	region, _ := outputs[stacks.OutputRegion].(string)
	api, err := o.ServiceClient(ctx, region)
	if err != nil {
		return err
	}
	st, err := stacks.ReadStatus(ctx, o.Stack, engine, api)
	if err != nil {
		return automationError(err, o.Stack, o.Dir)
	}
	if o.JSON {
		err = cliout.WriteJSON(o.Stdout, st)
	} else {
		err = stacks.RenderStatus(o.Stdout, st)
	}
	if err != nil {
		return err
	}
	for _, s := range st.Services {
		if s.ECS != nil && !s.ECS.Agrees {
			return failedf("ECS does not run the stack's %s task definition: %s", s.Service, orReason(s.ECS))
		}
	}
	return nil
}

func orReason(v *stacks.ECSView) string {
	if v.Error != "" {
		return v.Error
	}
	return "PRIMARY runs " + v.PrimaryTaskDefinition + ", rollout " + v.RolloutState
}
