package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/experts/platform/smoke"
	"github.com/experts/platform/stacks/deploy"
)

func init() {
	register(command{
		name:    "smoke",
		summary: "check the API, MCP server and frontend of a deployment; exit 1 on any failure",
		run:     runSmoke,
	})
}

func runSmoke(ctx context.Context, s *streams, args []string) error {
	fs := newFlagSet(s, "smoke", `smoke [--api-url URL] [--mcp-url URL [--mcp-endpoint PATH]] [--frontend-url URL]
       [--expect-version SEMVER] [--expect-sha SHA] [--attempts N] [--timeout D] [--deadline D]
       [--json] [--junit FILE]

Checks a deployment from outside, the way users reach it, and decides
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

Exit status: 0 every check passed, 1 a check failed or the run was
interrupted, 2 usage error (nothing was checked).`)
	apiURL := fs.String("api-url", "", "base URL of the API, such as https://api.example.com")
	mcpURL := fs.String("mcp-url", "", "base URL of the MCP server, such as https://mcp.example.com")
	mcpEndpoint := fs.String("mcp-endpoint", "", "path of the MCP Streamable HTTP endpoint under --mcp-url, such as /mcp (empty: only /healthz)")
	frontendURL := fs.String("frontend-url", "", "URL of the frontend site, such as https://app.example.com")
	expectVersion := fs.String("expect-version", "", "semantic version that the API's /version must report, such as 1.4.2 (empty: any)")
	expectSHA := fs.String("expect-sha", "", "git sha that the API's /version must report, 7 to 64 hex digits, prefixes match (empty: any)")
	attempts := fs.Int("attempts", smoke.DefaultAttempts, "attempts per check, the first included")
	timeout := fs.Duration("timeout", smoke.DefaultTimeout, "timeout of one request, from connecting to the last byte of the body")
	deadline := fs.Duration("deadline", smoke.DefaultDeadline, "deadline of the whole run; checks still running then fail")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout instead of the summary")
	junit := fs.String("junit", "", "also write the report as JUnit XML to `FILE`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var problems []string
	if *attempts < 1 {
		problems = append(problems, fmt.Sprintf("--attempts must be 1 or more, not %d", *attempts))
	}
	if *timeout <= 0 {
		problems = append(problems, fmt.Sprintf("--timeout must be positive, not %s", *timeout))
	}
	if *deadline <= 0 {
		problems = append(problems, fmt.Sprintf("--deadline must be positive, not %s", *deadline))
	}
	checks, err := smoke.Plan(smoke.Targets{
		APIURL:        *apiURL,
		MCPURL:        *mcpURL,
		MCPEndpoint:   *mcpEndpoint,
		FrontendURL:   *frontendURL,
		ExpectVersion: *expectVersion,
		ExpectSHA:     *expectSHA,
	})
	if err != nil {
		problems = append(problems, strings.Split(err.Error(), "\n")...)
	}
	if len(problems) > 0 {
		return usageErrorf("%s (see --help)", strings.Join(problems, "; "))
	}

	log := s.logger()
	log.Info("smoke checks starting", "checks", len(checks), "attempts", *attempts,
		"timeout", timeout.String(), "deadline", deadline.String())
	runner := &smoke.Runner{
		Policy: smoke.Policy{Attempts: *attempts, Timeout: *timeout, Deadline: *deadline},
		Logger: log,
	}
	report, runErr := runner.Run(ctx, checks)
	if report == nil {
		return runErr
	}
	if err := writeSmokeReports(s, report, *asJSON, *junit); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

// writeSmokeReports prints the report and writes the files that were asked
// for, even when checks failed: that is when they are read.
func writeSmokeReports(s *streams, report *smoke.Report, asJSON bool, junitPath string) error {
	var errs []error
	if asJSON {
		errs = append(errs, report.WriteJSON(s.stdout))
	} else {
		errs = append(errs, report.WriteText(s.stdout))
	}
	if junitPath != "" {
		errs = append(errs, writeSmokeJUnit(junitPath, report))
	}
	if path := s.getenv("GITHUB_STEP_SUMMARY"); path != "" {
		var md strings.Builder
		if err := report.WriteMarkdown(&md); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, deploy.AppendStepSummary(path, md.String()))
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
