package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/experts/platform/stacks"
)

func init() {
	register(command{
		name:    "preview",
		summary: "show what a stack would deploy, with policy verdicts (--offline needs no AWS)",
		run:     runPreview,
	})
}

func runPreview(ctx context.Context, s *streams, args []string) error {
	fs := newFlagSet(s, "preview", `preview --stack NAME [--offline] [--json] [--dir DIR] [--expect-no-changes]

Offline (--offline): runs the program in-process with the configuration of
Pulumi.NAME.yaml under deterministic AWS mocks (no credentials, no provider
plugins, no network) and prints every resource with the inputs a reviewer
cares about, the stack outputs and the policy verdicts. Secure config values
are shown as [secret] and never decrypted. Same program and config, same
output.

Live (without --offline): runs pulumi preview of the existing stack through
the Automation API; needs the Pulumi CLI, the stack's backend and AWS
credentials.

Exit status: 0 clean, 1 a mandatory policy violation (offline) or changes
found with --expect-no-changes (live), 2 usage or configuration error.`)
	stack := fs.String("stack", "", "stack to preview, such as dev or prod (reads Pulumi.<stack>.yaml)")
	offline := fs.Bool("offline", false, "run under deterministic AWS mocks instead of against AWS")
	asJSON := fs.Bool("json", false, "offline: print the plan as one JSON document on stdout")
	dir := fs.String("dir", ".", "directory that holds Pulumi.yaml and the stack files")
	expectNoChanges := fs.Bool("expect-no-changes", false, "live: fail when the preview plans any change (drift detection)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *stack == "" {
		return usageErrorf("--stack is required (for example --stack dev)")
	}
	if !*offline {
		if *asJSON {
			return usageErrorf("--json is only available with --offline")
		}
		changes, err := stacks.PreviewLive(ctx, *dir, *stack, stacks.LivePreviewOptions{
			Progress: s.stderr, ExpectNoChanges: *expectNoChanges,
		})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(s.stdout, "preview of %s: %s\n", *stack, stacks.FormatChanges(changes))
		return err
	}
	if *expectNoChanges {
		return usageErrorf("--expect-no-changes compares with the deployed stack: run it without --offline")
	}

	plan, err := stacks.PreviewOffline(ctx, *dir, *stack)
	if err != nil {
		var cerr *stacks.ConfigError
		if errors.As(err, &cerr) {
			return usageError(err)
		}
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(s.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(plan); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
	} else if err := plan.WriteText(s.stdout); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if m := plan.Mandatory(); len(m) > 0 {
		return failedf("%d mandatory policy violation(s) in stack %s (first: %s: %s)", len(m), *stack, m[0].Policy, m[0].Message)
	}
	return nil
}
