package smoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Runner runs checks under a retry policy. The zero Runner uses the
// default policy and logs nothing.
type Runner struct {
	Policy Policy
	// Logger receives progress: each failed attempt that will be retried,
	// and each verdict. Nil discards it.
	Logger *slog.Logger
}

// Result is the verdict on one check.
type Result struct {
	Check    string // Check.Name
	URL      string // Check.Target
	Passed   bool
	Detail   string        // what a passing check saw, such as "1.4.2 sha 3f2c9e1"
	Attempts int           // attempts made, the first included
	Duration time.Duration // from the first attempt to the verdict
	// Definitive is true when the check failed on an answer that retrying
	// cannot fix, such as a 200 from the protected endpoint.
	Definitive bool
	Err        error // why the check failed; nil when it passed
}

// Report is the outcome of one run, results in the order of the checks.
type Report struct {
	Started  time.Time
	Duration time.Duration
	Results  []Result
}

// Passed reports whether every check passed.
func (r *Report) Passed() bool {
	for _, res := range r.Results {
		if !res.Passed {
			return false
		}
	}
	return len(r.Results) > 0
}

// Failed returns the results of the checks that failed.
func (r *Report) Failed() []Result {
	var failed []Result
	for _, res := range r.Results {
		if !res.Passed {
			failed = append(failed, res)
		}
	}
	return failed
}

// Run runs checks concurrently until each passes, fails definitively, uses
// up its attempts, or the policy's deadline passes, and always returns the
// report. The error is nil when every check passed, wraps ErrFailed when
// one failed, and wraps the cause of ctx (such as context.Canceled) when
// ctx ended first.
func (r *Runner) Run(ctx context.Context, checks []Check) (*Report, error) {
	if err := r.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("smoke policy: %w", err)
	}
	if len(checks) == 0 {
		return nil, errors.New("no smoke checks to run")
	}
	p := r.Policy.withDefaults()
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	report := &Report{Started: time.Now(), Results: make([]Result, len(checks))}
	runCtx, cancel := context.WithTimeoutCause(ctx, p.Deadline, errDeadline)
	defer cancel()
	c := newClient(p)
	defer c.closeIdle()

	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() { report.Results[i] = runCheck(ctx, runCtx, c, p, log, check) })
	}
	wg.Wait()
	report.Duration = time.Since(report.Started)

	if ctx.Err() != nil {
		return report, fmt.Errorf("smoke checks interrupted: %w", context.Cause(ctx))
	}
	if failed := report.Failed(); len(failed) > 0 {
		names := make([]string, len(failed))
		for i, f := range failed {
			names[i] = f.Check
		}
		return report, fmt.Errorf("%w: %d of %d (%s)", ErrFailed, len(failed), len(report.Results), strings.Join(names, ", "))
	}
	return report, nil
}

// runCheck retries one check until a verdict. parent is the caller's
// context, ctx the run's (parent plus the overall deadline).
func runCheck(parent, ctx context.Context, c *client, p Policy, log *slog.Logger, check Check) Result {
	res := Result{Check: check.Name(), URL: check.Target()}
	start := time.Now()
	// last is the failure of the last attempt that completed; interrupted
	// the failure of an attempt that the end of ctx cut short.
	var last, interrupted error
	op := func() (string, error) {
		if err := ctx.Err(); err != nil {
			return "", backoff.Permanent(context.Cause(ctx))
		}
		res.Attempts++
		detail, err := check.attempt(ctx, c)
		switch {
		case err == nil:
			return detail, nil
		case ctx.Err() != nil:
			interrupted = err
			return "", backoff.Permanent(err)
		case isDefinitive(err):
			last = err
			res.Definitive = true
			return "", backoff.Permanent(err)
		default:
			last = err
			return "", err
		}
	}
	notify := func(err error, next time.Duration) {
		log.Warn("smoke attempt failed, retrying", "check", res.Check, "attempt", res.Attempts,
			"retry_in", next.Round(time.Millisecond).String(), "error", err.Error())
	}
	tries := uint(1)
	if p.Attempts > 1 {
		tries = uint(p.Attempts)
	}
	budget := time.Nanosecond
	if deadline, ok := ctx.Deadline(); ok {
		budget = max(time.Until(deadline), budget)
	}
	detail, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(p.newBackOff()),
		backoff.WithMaxTries(tries),
		backoff.WithMaxElapsedTime(budget),
		backoff.WithNotify(notify),
	)
	res.Duration = time.Since(start)
	if err == nil {
		res.Passed = true
		res.Detail = detail
		log.Info("smoke check passed", "check", res.Check, "attempts", res.Attempts,
			"duration", res.Duration.Round(time.Millisecond).String(), "detail", detail)
		return res
	}
	res.Err = verdict(parent, ctx, p, res.Attempts, res.Definitive, last, interrupted)
	log.Error("smoke check failed", "check", res.Check, "attempts", res.Attempts,
		"duration", res.Duration.Round(time.Millisecond).String(), "error", res.Err.Error())
	return res
}

// verdict says why a check failed. A definitive failure and used-up
// attempts are decided before the context is looked at, so that a deadline
// passing just after the verdict does not rewrite it.
func verdict(parent, ctx context.Context, p Policy, attempts int, definitive bool, last, interrupted error) error {
	tried := plural(attempts, "attempt")
	switch {
	case definitive:
		return last
	case parent.Err() != nil:
		if last != nil {
			return fmt.Errorf("interrupted after %s: %w (last failure: %w)", tried, context.Cause(parent), last)
		}
		return fmt.Errorf("interrupted after %s: %w", tried, context.Cause(parent))
	case attempts >= p.Attempts && interrupted == nil && last != nil:
		return fmt.Errorf("gave up after %s: %w", tried, last)
	case ctx.Err() != nil:
		switch {
		case last != nil:
			return fmt.Errorf("overall deadline of %s reached after %s; last failure: %w", p.Deadline, tried, last)
		case interrupted != nil:
			return fmt.Errorf("overall deadline of %s reached during the first attempt: %w", p.Deadline, interrupted)
		default:
			return fmt.Errorf("overall deadline of %s reached before the first attempt: %w", p.Deadline, context.Cause(ctx))
		}
	default:
		return fmt.Errorf("gave up after %s: the next retry would pass the %s deadline: %w", tried, p.Deadline, last)
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
