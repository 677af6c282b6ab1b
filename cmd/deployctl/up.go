package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/experts/platform/internal/cliout"
	"github.com/experts/platform/stacks"
)

type upOptions struct {
	Stdout    io.Writer
	Stderr    io.Writer
	Logger    *slog.Logger
	Getenv    func(string) string
	NewEngine func(dir, stack string) stacks.Engine

	Stack string
	JSON  bool
	Dir   string
}

func newCmdUp(f *factory, runF func(context.Context, *upOptions) error) *cobra.Command {
	opts := &upOptions{Stdout: f.Stdout, Stderr: f.Stderr, Logger: f.logger(), Getenv: f.Getenv, NewEngine: f.NewEngine}
	cmd := &cobra.Command{
		Use:   "up --stack NAME [--json] [--dir DIR]",
		Short: "apply infra changes: the live release is kept, no image changes",
		Long: `Previews the stack (the planned changes are printed), then updates it. The
program keeps the live release (the stack's own release output), so no
image or task definition of a service changes; a brand-new stack's first
update runs the bootstrap release of its stack file. The update is numbered
and recorded in the ledger (deployctl history), with the CI run when
GITHUB_RUN_ID is set.

` + exitStatusHelp("updated", "the preview or update failed", "usage or configuration error"),
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
	fl.StringVar(&opts.Stack, "stack", "", "stack to update, such as dev or prod")
	fl.BoolVar(&opts.JSON, "json", false, "print the outcome as one JSON document on stdout")
	fl.StringVar(&opts.Dir, "dir", ".", "Pulumi project directory: holds Pulumi.yaml and the stack files")
	return cmd
}

func (o *upOptions) validate() error {
	if err := requireStack(o.Stack); err != nil {
		return err
	}
	return checkProjectDir("--dir", o.Dir)
}

func (o *upOptions) run(ctx context.Context) error {
	d := &stacks.Driver{Stack: o.Stack, Engine: o.NewEngine(o.Dir, o.Stack), Logger: o.Logger, Progress: o.Stderr, Run: runFromEnv(o.Getenv)}
	out, err := d.Up(ctx)
	if err != nil {
		return automationError(err, o.Stack, o.Dir)
	}
	if o.JSON {
		return cliout.WriteJSON(o.Stdout, out)
	}
	for _, c := range out.Planned {
		if _, err := fmt.Fprintln(o.Stdout, c); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(o.Stdout, "stack %s updated: stack version %d, %s\n", o.Stack, out.StackVersion, stacks.FormatChanges(out.Changes))
	return err
}
