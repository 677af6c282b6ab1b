package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/internal/cliout"
	"github.com/experts/platform/stacks"
)

// releaseDeadline bounds a whole release, rollback included, from the
// command's start.
const releaseDeadline = 90 * time.Minute

type releaseOptions struct {
	Stdout    io.Writer
	Stderr    io.Writer
	Logger    *slog.Logger
	Getenv    func(string) string
	NewDriver func(ctx context.Context, d driverSpec) (*stacks.Driver, error)

	Service     string
	Stack       string
	Version     string
	Sha         string
	Ref         string
	ImageDigest string
	PromoteFrom string
	JSON        bool
	Artifacts   string
	Dir         string
	Deadline    time.Duration
}

func newCmdRelease(f *factory, runF func(context.Context, *releaseOptions) error) *cobra.Command {
	opts := &releaseOptions{Stdout: f.Stdout, Stderr: f.Stderr, Logger: f.logger(), Getenv: f.Getenv, NewDriver: f.NewDriver}
	cmd := &cobra.Command{
		Use:   "release api|mcp --stack NAME --version V --sha SHA [--ref REF] [--image-digest D | --promote-from STACK] [--json] [--artifacts DIR] [--dir DIR]",
		Short: "release one service: migrate, roll out, verify, smoke, and roll back on failure",
		Long: `Releases one service of the stack, each step timed:

  preflight   the credentials are the stack's account, no other update runs,
              the live release and the last good stack version are known, in
              prod the digest is in prod's registry, and a preview changes
              nothing outside the service (else it stops and lists what would
              change: run the infra pipeline first)
  build       dev without --image-digest: the update builds and pushes the image
  migration   api: an update registers the migration task definition on the
              new image while the service keeps serving the old one; the
              migration task runs and must exit 0 (a failure stops here, the
              service untouched, the pending migration cleared)
  roll out    an update points the service at the new task definition
  verify      the PRIMARY deployment runs it, rollout COMPLETED
  smoke       the smoke checks against the service's URL; /version must be
              the new version and sha
  record      the ledger (deployctl history) holds the release

Any failure after the roll-out began rolls the service back to the release
that ran before, and verifies and smokes it. The verdict is one line on
stderr, such as "release api 1.5.0 failed at verify: ...; rolled back to
1.4.2 (stack version 41, verified, smoke passed)". --json prints one result
object on stdout, also on failure. The step table is appended to
$GITHUB_STEP_SUMMARY when it is set; GITHUB_RUN_ID, GITHUB_SERVER_URL,
GITHUB_REPOSITORY, GITHUB_ACTOR and GITHUB_SHA are recorded with every update
the release makes.

Prod never builds: give --promote-from dev (the digest that dev's live
release of the service runs, which must be the same --sha) or
--image-digest.

` + exitStatusHelp("released, verified and smoked",
			"the release failed (rolled back or not: see the verdict)",
			"usage or configuration error: bad flags, unknown stack, no Pulumi CLI (nothing was changed)"),
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
	fl.StringVar(&opts.Stack, "stack", "", "stack to release to, such as dev or prod")
	fl.StringVar(&opts.Version, "version", "", "semantic version of the release, without a leading v (1.5.0)")
	fl.StringVar(&opts.Sha, "sha", "", "the full 40-character commit id of the release")
	fl.StringVar(&opts.Ref, "ref", "main", "branch or <service>-vX.Y.Z tag the release was built from")
	fl.StringVar(&opts.ImageDigest, "image-digest", "", "deploy this image digest (sha256:...) instead of building")
	fl.StringVar(&opts.PromoteFrom, "promote-from", "", "deploy the digest that this stack's live release of the service runs (prod: dev)")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as one JSON document on stdout")
	fl.StringVar(&opts.Artifacts, "artifacts", ".artifacts", "directory for the migration log, smoke reports and failure bundles (empty: none)")
	fl.StringVar(&opts.Dir, "dir", ".", "Pulumi project directory: holds Pulumi.yaml and the stack files")
	fl.DurationVar(&opts.Deadline, "deadline", releaseDeadline, "how long the whole release, rollback included, may take")
	return cmd
}

// exactlyOneService takes the service as the one positional argument.
func exactlyOneService(c *cobra.Command, args []string) error {
	if len(args) != 1 || !slices.Contains(infra.Services, args[0]) {
		return usageErrorf("give one service, %s, as the first argument\nsee '%s --help'", strings.Join(infra.Services, " or "), c.CommandPath())
	}
	return nil
}

func (o *releaseOptions) validate() error {
	if err := requireStack(o.Stack); err != nil {
		return err
	}
	if o.Version == "" || o.Sha == "" {
		return usageErrorf("--version and --sha are required")
	}
	if o.ImageDigest != "" && o.PromoteFrom != "" {
		return usageErrorf("give --image-digest or --promote-from, not both")
	}
	if o.PromoteFrom == o.Stack {
		return usageErrorf("--promote-from %s is the stack being released", o.PromoteFrom)
	}
	if o.Deadline <= 0 {
		return usageErrorf("--deadline must be positive, not %s", o.Deadline)
	}
	return checkProjectDir("--dir", o.Dir)
}

func (o *releaseOptions) run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Deadline)
	defer cancel()
	d, err := o.NewDriver(ctx, driverSpec{Dir: o.Dir, Stack: o.Stack, Logger: o.Logger, Progress: o.Stderr,
		Artifacts: o.Artifacts, Run: runFromEnv(o.Getenv)})
	if err != nil {
		return err
	}
	res, err := d.Release(ctx, stacks.ReleaseRequest{Service: o.Service, Version: o.Version, GitSha: o.Sha, Ref: o.Ref,
		ImageDigest: o.ImageDigest, PromoteFrom: o.PromoteFrom})
	return reportResult(ctx, o.Stdout, o.Getenv, o.JSON, o.Stack, o.Dir, res, err)
}

// reportResult prints a release or rollback result (JSON or the step
// table), appends the step table to the job summary and turns a failure
// into the verdict line.
func reportResult(ctx context.Context, stdout io.Writer, getenv func(string) string, asJSON bool, stack, dir string, res *stacks.Result, runErr error) error {
	var out error
	if asJSON {
		out = cliout.WriteJSON(stdout, res)
	} else {
		out = writeSteps(stdout, res)
	}
	out = errors.Join(out, cliout.AppendStepSummary(getenv(cliout.EnvStepSummary), stepsMarkdown(res)))
	if runErr == nil {
		if out != nil {
			return out
		}
		_, err := fmt.Fprintln(stdout, res.OneLine())
		return err
	}
	var req *stacks.RequestError
	if errors.As(runErr, &req) {
		return usageError(runErr)
	}
	if res.FailedStep == stacks.StepPreflight && res.Outcome == stacks.OutcomeFailed {
		if classified := automationError(runErr, stack, dir); classified != runErr { //nolint:errorlint // identity: did the classifier give a new error
			return classified
		}
	}
	_ = ctx
	return errors.Join(&exitError{code: exitFailed, err: errors.New(res.OneLine())}, out)
}

func writeSteps(w io.Writer, res *stacks.Result) error {
	var b strings.Builder
	for _, s := range res.Steps {
		fmt.Fprintf(&b, "%-28s %-9s %8s  %s\n", s.Name, s.Status, s.Duration.Round(time.Millisecond), s.Detail)
	}
	for _, warn := range res.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// stepsMarkdown is the job summary of a release or rollback.
func stepsMarkdown(res *stacks.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s %s %s on %s: %s\n\n| Step | Status | Duration | Detail |\n|---|---|---|---|\n",
		res.Command, res.Service, res.Version, res.Stack, res.Outcome)
	for _, s := range res.Steps {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", s.Name, s.Status, s.Duration.Round(time.Millisecond), mdCell(s.Detail))
	}
	if res.Outcome != stacks.OutcomeSucceeded {
		fmt.Fprintf(&b, "\n**%s**\n", mdCell(res.OneLine()))
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(&b, "\n> warning: %s\n", mdCell(w))
	}
	return b.String()
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// runFromEnv is the GitHub Actions run that drives the command, nil
// outside Actions.
func runFromEnv(getenv func(string) string) *infra.Run {
	id := getenv("GITHUB_RUN_ID")
	if id == "" {
		return nil
	}
	r := &infra.Run{ID: id, Repository: getenv("GITHUB_REPOSITORY"), Actor: getenv("GITHUB_ACTOR"), Commit: getenv("GITHUB_SHA")}
	if server := getenv("GITHUB_SERVER_URL"); server != "" && r.Repository != "" {
		r.URL = strings.TrimSuffix(server, "/") + "/" + r.Repository + "/actions/runs/" + id
	}
	return r
}
