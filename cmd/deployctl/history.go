package main

import (
	"context"
	"errors"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/internal/cliout"
	"github.com/experts/platform/stacks"
)

func errorsIsNoTarget(err error) bool { return errors.Is(err, stacks.ErrNoRollbackTarget) }

type historyOptions struct {
	Stdout    io.Writer
	NewEngine func(dir, stack string) stacks.Engine

	Stack   string
	Service string
	JSON    bool
	Dir     string
}

func newCmdHistory(f *factory, runF func(context.Context, *historyOptions) error) *cobra.Command {
	opts := &historyOptions{Stdout: f.Stdout, NewEngine: f.NewEngine}
	cmd := &cobra.Command{
		Use:   "history --stack NAME [--service api|mcp] [--json] [--dir DIR]",
		Short: "the release ledger: one row per stack version",
		Long: `Prints the stack's release ledger, newest first: one row per stack version
(the ledger's own numbers; self-managed backends number nothing), with its
time, kind (release, rollback, infra), result, what each service ran
(version, sha, digest; "kept" for an update that kept the live release) and
the CI run that made it.

` + exitStatusHelp("printed", "the history could not be read", "usage or configuration error"),
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
	fl.StringVar(&opts.Stack, "stack", "", "stack whose ledger to print, such as dev or prod")
	fl.StringVar(&opts.Service, "service", "", "only the releases and rollbacks of this service (and infra updates)")
	fl.BoolVar(&opts.JSON, "json", false, "print the ledger as one JSON document on stdout")
	fl.StringVar(&opts.Dir, "dir", ".", "Pulumi project directory: holds Pulumi.yaml and the stack files")
	return cmd
}

func (o *historyOptions) validate() error {
	if err := requireStack(o.Stack); err != nil {
		return err
	}
	if o.Service != "" && !slices.Contains(infra.Services, o.Service) {
		return usageErrorf("--service %q is not a service (api or mcp)", o.Service)
	}
	return checkProjectDir("--dir", o.Dir)
}

func (o *historyOptions) run(ctx context.Context) error {
	hist, err := o.NewEngine(o.Dir, o.Stack).History(ctx)
	if err != nil {
		return automationError(err, o.Stack, o.Dir)
	}
	ledger, err := stacks.BuildLedger(hist)
	if err != nil {
		return err
	}
	ledger = ledger.Filter(o.Service)
	if o.JSON {
		if ledger == nil {
			ledger = stacks.Ledger{}
		}
		return cliout.WriteJSON(o.Stdout, ledger)
	}
	services := infra.Services
	if o.Service != "" {
		services = []string{o.Service}
	}
	return stacks.RenderLedger(o.Stdout, ledger, services)
}
