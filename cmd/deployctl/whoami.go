package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/experts/platform/internal/cliout"
	"github.com/experts/platform/stacks"
)

// whoamiTimeout bounds the one STS call, retries included.
const whoamiTimeout = 30 * time.Second

type whoamiOptions struct {
	Stdout         io.Writer
	CallerIdentity func(ctx context.Context) (stacks.CallerIdentityAPI, error)

	ExpectAccount string
	JSON          bool
}

// whoamiResult is what whoami prints with --json.
type whoamiResult struct {
	stacks.Caller
	ExpectedAccount string `json:"expectedAccount,omitempty"`
	Matches         *bool  `json:"matches,omitempty"`
}

func newCmdWhoami(f *factory, runF func(context.Context, *whoamiOptions) error) *cobra.Command {
	opts := &whoamiOptions{Stdout: f.Stdout, CallerIdentity: f.CallerIdentity}
	cmd := &cobra.Command{
		Use:   "whoami [--expect-account ID] [--json]",
		Short: "print the AWS account and ARN of the current credentials; check the account",
		Long: `Asks AWS STS (GetCallerIdentity) who the current credentials are and prints
the account and ARN. With --expect-account it fails when they belong to any
other account: run it right after configure-aws-credentials so that a job
never deploys with another environment's credentials.

AWS credentials, region and endpoints come from the SDK's default chain
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, ...).

` + exitStatusHelp("the credentials work (and are for the expected account)",
			"they are for another account, expired, were rejected, or AWS could not be reached",
			"usage error (nothing was asked)"),
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
	cmd.Flags().StringVar(&opts.ExpectAccount, "expect-account", "", "12-digit AWS account id the credentials must belong to")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as one JSON document on stdout")
	return cmd
}

func (o *whoamiOptions) validate() error {
	if o.ExpectAccount != "" {
		if err := stacks.CheckAccountID(o.ExpectAccount); err != nil {
			return usageErrorf("--expect-account: %w", err)
		}
	}
	return nil
}

func (o *whoamiOptions) run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, whoamiTimeout)
	defer cancel()
	client, err := o.CallerIdentity(ctx)
	if err != nil {
		return err
	}
	caller, err := stacks.Whoami(ctx, client, o.ExpectAccount)
	var mismatch *stacks.AccountMismatchError
	if err != nil && !errors.As(err, &mismatch) {
		return err
	}
	res := whoamiResult{Caller: caller, ExpectedAccount: o.ExpectAccount}
	if o.ExpectAccount != "" {
		matches := mismatch == nil
		res.Matches = &matches
	}
	if err := o.print(res); err != nil {
		return err
	}
	if mismatch != nil {
		return failedf("%w", mismatch)
	}
	return nil
}

func (o *whoamiOptions) print(res whoamiResult) error {
	if o.JSON {
		return cliout.WriteJSON(o.Stdout, res)
	}
	lines := fmt.Sprintf("account  %s\narn      %s\nuser id  %s\n", res.Account, res.Arn, res.UserID)
	if res.Matches != nil {
		verdict := "matches"
		if !*res.Matches {
			verdict = "DOES NOT MATCH"
		}
		lines += fmt.Sprintf("expected %s (%s)\n", res.ExpectedAccount, verdict)
	}
	if _, err := fmt.Fprint(o.Stdout, lines); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
