package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/experts/platform/stacks"
)

type rollbackOptions struct {
	Stdout    io.Writer
	Stderr    io.Writer
	Logger    *slog.Logger
	Getenv    func(string) string
	NewDriver func(ctx context.Context, d driverSpec) (*stacks.Driver, error)

	Service   string
	Stack     string
	To        int
	ToRelease string
	JSON      bool
	Artifacts string
	Dir       string
	Deadline  time.Duration
}

func newCmdRollback(f *factory, runF func(context.Context, *rollbackOptions) error) *cobra.Command {
	opts := &rollbackOptions{Stdout: f.Stdout, Stderr: f.Stderr, Logger: f.logger(), Getenv: f.Getenv, NewDriver: f.NewDriver}
	cmd := &cobra.Command{
		Use:   "rollback api|mcp --stack NAME [--to STACK_VERSION | --to-release VERSION] [--json] [--dir DIR]",
		Short: "re-apply an earlier release of one service, then verify and smoke it",
		Long: `Re-applies the release of one service from an earlier stack version of the
ledger (deployctl history), with its pinned digest (nothing is built), then
verifies and smokes it. The other services keep their live release.

Without --to or --to-release the target is the newest successful update
whose release of the service differs from the live one, skipping failed
updates and releases a rollback already replaced. The database is never
rolled back: a warning says when the target is older than a migration that
ran (migrations must be expand-only).

` + exitStatusHelp("rolled back, verified and smoked", "the rollback failed",
			"usage or configuration error, or no such target (nothing was changed)"),
		Args: exactlyOneService,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Service = args[0]
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
	fl.StringVar(&opts.Stack, "stack", "", "stack to roll back, such as dev or prod")
	fl.IntVar(&opts.To, "to", 0, "stack version (deployctl history) whose release to re-apply")
	fl.StringVar(&opts.ToRelease, "to-release", "", "release version of the service to re-apply (its newest successful update)")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as one JSON document on stdout")
	fl.StringVar(&opts.Artifacts, "artifacts", ".artifacts", "directory for smoke reports and failure bundles (empty: none)")
	fl.StringVar(&opts.Dir, "dir", ".", "Pulumi project directory: holds Pulumi.yaml and the stack files")
	fl.DurationVar(&opts.Deadline, "deadline", releaseDeadline, "how long the rollback may take")
	return cmd
}

func (o *rollbackOptions) validate() error {
	if err := requireStack(o.Stack); err != nil {
		return err
	}
	if o.To < 0 {
		return usageErrorf("--to must be a stack version (1 or more), not %d", o.To)
	}
	if o.To > 0 && o.ToRelease != "" {
		return usageErrorf("give --to or --to-release, not both")
	}
	if o.Deadline <= 0 {
		return usageErrorf("--deadline must be positive, not %s", o.Deadline)
	}
	return checkProjectDir("--dir", o.Dir)
}

func (o *rollbackOptions) run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Deadline)
	defer cancel()
	d, err := o.NewDriver(ctx, driverSpec{Dir: o.Dir, Stack: o.Stack, Logger: o.Logger, Progress: o.Stderr,
		Artifacts: o.Artifacts, Run: runFromEnv(o.Getenv)})
	if err != nil {
		return err
	}
	res, err := d.Rollback(ctx, stacks.RollbackRequest{Service: o.Service, ToVersion: o.To, ToRelease: o.ToRelease})
	if errorsIsNoTarget(err) {
		return usageError(err)
	}
	return reportResult(ctx, o.Stdout, o.Getenv, o.JSON, o.Stack, o.Dir, res, err)
}
