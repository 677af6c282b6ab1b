package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/experts/platform/internal/cliout"
	"github.com/experts/platform/smoke"
)

type smokeOptions struct {
	Stdout io.Writer
	Logger *slog.Logger
	Getenv func(string) string

	Targets  smoke.Targets
	Attempts int
	Timeout  time.Duration
	Deadline time.Duration
	JSON     bool
	JUnit    string

	checks []smoke.Check // planned by validate
}

func newCmdSmoke(f *factory, runF func(context.Context, *smokeOptions) error) *cobra.Command {
	opts := &smokeOptions{Stdout: f.Stdout, Logger: f.logger(), Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use: `smoke [--api-url URL] [--mcp-url URL [--mcp-endpoint PATH]] [--frontend-url URL]
       [--expect-version SEMVER] [--expect-sha SHA] [--attempts N] [--timeout D] [--deadline D]
       [--json] [--junit FILE]`,
		Short: "check the API, MCP server and frontend of a deployment; exit 1 on any failure",
		Long: `Checks a deployment from outside, the way users reach it, and decides
whether it may be promoted. At least one target URL is required; each URL is
a base (http or https, no query) under which these paths are checked:

  --api-url       GET /healthz is 200; GET /openapi.json is 200 with a JSON
                  document that has "openapi" and "paths"; GET /api/v1/experts
                  without credentials is 401 (a 2xx is a security failure);
                  GET /version is 200 JSON whose "version" and git sha
                  ("git_sha", "gitSha", "sha" or "commit") match
                  --expect-version and --expect-sha when given.
  --mcp-url       GET /healthz is 200; with --mcp-endpoint, an MCP session
                  over Streamable HTTP (initialize, notifications/initialized,
                  tools/list) returns at least one tool.
  --frontend-url  HEAD / is 200 with Cache-Control no-cache; GET / is HTML
                  and every script and stylesheet it references on its own
                  origin is 200 with the right Content-Type and an immutable
                  Cache-Control.

All checks run at once. A check is retried with exponential backoff and
jitter (--attempts in all) on connection errors, timeouts, 408, 429, 5xx and
a /version that still reports another release; a Retry-After header sets the
wait. Anything else fails it at once: other status codes, invalid JSON, a
TLS error, more than 5 redirects or one from https to http, a body over
4 MiB (of a script or stylesheet only the first 4 MiB are read: a larger
bundle passes). Each request has --timeout, from connecting to its last
byte; the run ends by --deadline whatever the servers do.

Progress goes to stderr; the summary (or with --json the report) to stdout.
--junit also writes the report as JUnit XML. When $GITHUB_STEP_SUMMARY is
set, a Markdown table is appended to that file.

` + exitStatusHelp("every check passed", "a check failed", "usage error (nothing was checked)"),
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
	fl.StringVar(&opts.Targets.APIURL, "api-url", "", "base URL of the API, such as https://api.example.com")
	fl.StringVar(&opts.Targets.MCPURL, "mcp-url", "", "base URL of the MCP server, such as https://mcp.example.com")
	fl.StringVar(&opts.Targets.MCPEndpoint, "mcp-endpoint", "", "path of the MCP Streamable HTTP endpoint under --mcp-url, such as /mcp (empty: only /healthz)")
	fl.StringVar(&opts.Targets.FrontendURL, "frontend-url", "", "URL of the frontend site, such as https://app.example.com")
	fl.StringVar(&opts.Targets.ExpectVersion, "expect-version", "", "semantic version that the API's /version must report, such as 1.4.2 (empty: any)")
	fl.StringVar(&opts.Targets.ExpectSHA, "expect-sha", "", "git sha that the API's /version must report, 7 to 64 hex digits, prefixes match (empty: any)")
	fl.IntVar(&opts.Attempts, "attempts", smoke.DefaultAttempts, "attempts per check, the first included")
	fl.DurationVar(&opts.Timeout, "timeout", smoke.DefaultTimeout, "timeout of one request, from connecting to the last byte of the body")
	fl.DurationVar(&opts.Deadline, "deadline", smoke.DefaultDeadline, "deadline of the whole run; checks still running then fail")
	fl.BoolVar(&opts.JSON, "json", false, "print the report as JSON on stdout instead of the summary")
	fl.StringVar(&opts.JUnit, "junit", "", "also write the report as JUnit XML to `FILE`")
	return cmd
}

// validate reports every problem of the flags at once.
func (o *smokeOptions) validate() error {
	var problems []string
	if o.Attempts < 1 {
		problems = append(problems, fmt.Sprintf("--attempts must be 1 or more, not %d", o.Attempts))
	}
	if o.Timeout <= 0 {
		problems = append(problems, fmt.Sprintf("--timeout must be positive, not %s", o.Timeout))
	}
	if o.Deadline <= 0 {
		problems = append(problems, fmt.Sprintf("--deadline must be positive, not %s", o.Deadline))
	}
	checks, err := smoke.Plan(o.Targets)
	if err != nil {
		problems = append(problems, strings.Split(err.Error(), "\n")...)
	}
	if len(problems) > 0 {
		return usageErrorf("%s (see --help)", strings.Join(problems, "; "))
	}
	o.checks = checks
	return nil
}

func (o *smokeOptions) run(ctx context.Context) error {
	o.Logger.Info("smoke checks starting", "checks", len(o.checks), "attempts", o.Attempts,
		"timeout", o.Timeout.String(), "deadline", o.Deadline.String())
	runner := &smoke.Runner{
		Policy: smoke.Policy{Attempts: o.Attempts, Timeout: o.Timeout, Deadline: o.Deadline},
		Logger: o.Logger,
	}
	report, runErr := runner.Run(ctx, o.checks)
	if report == nil {
		return runErr
	}
	if err := o.writeReports(report); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

// writeReports prints the report and writes the files that were asked
// for, even when checks failed: that is when they are read.
func (o *smokeOptions) writeReports(report *smoke.Report) error {
	var errs []error
	if o.JSON {
		errs = append(errs, report.WriteJSON(o.Stdout))
	} else {
		errs = append(errs, report.WriteText(o.Stdout))
	}
	if o.JUnit != "" {
		errs = append(errs, writeSmokeJUnit(o.JUnit, report))
	}
	if path := o.Getenv(cliout.EnvStepSummary); path != "" {
		var md strings.Builder
		if err := report.WriteMarkdown(&md); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, cliout.AppendStepSummary(path, md.String()))
		}
	}
	return errors.Join(errs...)
}

func writeSmokeJUnit(path string, report *smoke.Report) error {
	path = filepath.Clean(path)
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("write junit report: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	if err := report.WriteJUnit(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write junit report %s: %w", path, err)
	}
	return nil
}
