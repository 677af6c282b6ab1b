package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/experts/platform/internal/cliout"
	"github.com/experts/platform/stacks"
)

type previewOptions struct {
	Stdout      io.Writer
	Stderr      io.Writer
	PreviewLive func(ctx context.Context, dir, stack string, opts stacks.LivePreviewOptions) (map[string]int, error)

	Stack           string
	Offline         bool
	JSON            bool
	Dir             string
	ExpectNoChanges bool
	Refresh         bool
}

func newCmdPreview(f *factory, runF func(context.Context, *previewOptions) error) *cobra.Command {
	opts := &previewOptions{Stdout: f.Stdout, Stderr: f.Stderr, PreviewLive: f.PreviewLive}
	cmd := &cobra.Command{
		Use:   "preview --stack NAME [--offline] [--json] [--dir DIR] [--expect-no-changes] [--refresh]",
		Short: "show what a stack would deploy, with policy verdicts (--offline needs no AWS)",
		Long: `Offline (--offline): runs the program in-process with the configuration of
Pulumi.NAME.yaml under deterministic AWS mocks (no credentials, no provider
plugins, no network) and prints every resource with the inputs a reviewer
cares about, the stack outputs and the policy verdicts. Secure config values
are shown as [secret] and never decrypted. Same program and config, same
output.

Live (without --offline): runs pulumi preview of the existing stack through
the Automation API; needs the Pulumi CLI, the stack's backend and AWS
credentials.

` + exitStatusHelp("clean",
			"a mandatory policy violation (offline), changes found with --expect-no-changes or a failed preview (live)",
			"usage or configuration error: bad flags or config, unknown stack, no Pulumi CLI, no project in --dir"),
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
	fl.StringVar(&opts.Stack, "stack", "", "stack to preview, such as dev or prod (reads Pulumi.<stack>.yaml)")
	fl.BoolVar(&opts.Offline, "offline", false, "run under deterministic AWS mocks instead of against AWS")
	fl.BoolVar(&opts.JSON, "json", false, "offline: print the plan as one JSON document on stdout")
	fl.StringVar(&opts.Dir, "dir", ".", "Pulumi project directory: holds Pulumi.yaml and the stack files")
	fl.BoolVar(&opts.ExpectNoChanges, "expect-no-changes", false, "live: fail when the preview plans any change (drift detection)")
	fl.BoolVar(&opts.Refresh, "refresh", false, "live: read the actual state of every resource first, so that changes made outside Pulumi show as drift")
	return cmd
}

func (o *previewOptions) validate() error {
	if err := requireStack(o.Stack); err != nil {
		return err
	}
	if o.Offline && o.Refresh {
		return usageErrorf("--refresh reads the deployed resources: run it without --offline")
	}
	if o.Offline && o.ExpectNoChanges {
		return usageErrorf("--expect-no-changes compares with the deployed stack: run it without --offline")
	}
	if !o.Offline && o.JSON {
		return usageErrorf("--json is only available with --offline")
	}
	return checkProjectDir("--dir", o.Dir)
}

func (o *previewOptions) run(ctx context.Context) error {
	if !o.Offline {
		changes, err := o.PreviewLive(ctx, o.Dir, o.Stack, stacks.LivePreviewOptions{
			Progress: o.Stderr, ExpectNoChanges: o.ExpectNoChanges, Refresh: o.Refresh,
		})
		if err != nil {
			return automationError(err, o.Stack, o.Dir)
		}
		_, err = fmt.Fprintf(o.Stdout, "preview of %s: %s\n", o.Stack, stacks.FormatChanges(changes))
		return err
	}

	plan, err := stacks.PreviewOffline(ctx, o.Dir, o.Stack)
	if err != nil {
		var cerr *stacks.ConfigError
		if errors.As(err, &cerr) {
			return usageError(err)
		}
		return err
	}
	if o.JSON {
		if err := cliout.WriteJSON(o.Stdout, plan); err != nil {
			return err
		}
	} else if err := plan.WriteText(o.Stdout); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if m := plan.Mandatory(); len(m) > 0 {
		return failedf("%d mandatory policy violation(s) in stack %s (first: %s: %s)", len(m), o.Stack, m[0].Policy, m[0].Message)
	}
	return nil
}
