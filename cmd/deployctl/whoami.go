package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/experts/platform/stacks"
)

func init() {
	register(command{
		name:    "whoami",
		summary: "print the AWS account and ARN of the current credentials; check the account",
		run:     runWhoami,
	})
}

// whoamiLoadClient builds the STS client from the SDK's default
// configuration; tests replace it with a fake.
var whoamiLoadClient = func(ctx context.Context) (stacks.CallerIdentityAPI, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		// Who the credentials are does not depend on the region; STS
		// answers in every region, so a laptop without one still works.
		cfg.Region = "us-east-1"
	}
	return sts.NewFromConfig(cfg), nil
}

// whoamiTimeout bounds the one STS call, retries included.
const whoamiTimeout = 30 * time.Second

// whoamiResult is what whoami prints with --json.
type whoamiResult struct {
	stacks.Caller
	ExpectedAccount string `json:"expectedAccount,omitempty"`
	Matches         *bool  `json:"matches,omitempty"`
}

func runWhoami(ctx context.Context, s *streams, args []string) error {
	fs := newFlagSet(s, "whoami", `whoami [--expect-account ID] [--json]

Asks AWS STS (GetCallerIdentity) who the current credentials are and prints
the account and ARN. With --expect-account it fails when they belong to any
other account: run it right after configure-aws-credentials so that a job
never deploys with another environment's credentials.

AWS credentials, region and endpoints come from the SDK's default chain
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, ...).

Exit status: 0 the credentials work (and are for the expected account),
1 they are for another account, expired, were rejected, or AWS could not
be reached, 2 usage error (nothing was asked).`)
	expect := fs.String("expect-account", "", "12-digit AWS account id the credentials must belong to")
	asJSON := fs.Bool("json", false, "print the result as one JSON document on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *expect != "" {
		if err := stacks.CheckAccountID(*expect); err != nil {
			return usageErrorf("--expect-account: %w", err)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, whoamiTimeout)
	defer cancel()
	client, err := whoamiLoadClient(ctx)
	if err != nil {
		return err
	}
	caller, err := stacks.Whoami(ctx, client, *expect)
	var mismatch *stacks.AccountMismatchError
	if err != nil && !errors.As(err, &mismatch) {
		return err
	}
	res := whoamiResult{Caller: caller, ExpectedAccount: *expect}
	if *expect != "" {
		matches := mismatch == nil
		res.Matches = &matches
	}
	if err := printWhoami(s, res, *asJSON); err != nil {
		return err
	}
	if mismatch != nil {
		return failedf("%w", mismatch)
	}
	return nil
}

func printWhoami(s *streams, res whoamiResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(s.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		return nil
	}
	lines := fmt.Sprintf("account  %s\narn      %s\nuser id  %s\n", res.Account, res.Arn, res.UserID)
	if res.Matches != nil {
		verdict := "matches"
		if !*res.Matches {
			verdict = "DOES NOT MATCH"
		}
		lines += fmt.Sprintf("expected %s (%s)\n", res.ExpectedAccount, verdict)
	}
	if _, err := fmt.Fprint(s.stdout, lines); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
