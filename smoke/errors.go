package smoke

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cenkalti/backoff/v5"
)

// ErrFailed is wrapped by the error of a run in which a check failed.
var ErrFailed = errors.New("smoke checks failed")

// errDeadline is the cause of the run context when the overall deadline
// passes, which tells it apart from a cancellation by the caller.
var errDeadline = errors.New("overall deadline reached")

// definitiveError marks a failure that retrying cannot fix: the check stops
// at once.
type definitiveError struct{ err error }

func (e *definitiveError) Error() string { return e.err.Error() }
func (e *definitiveError) Unwrap() error { return e.err }

// definitive marks err as a failure that retrying cannot fix.
func definitive(err error) error {
	if err == nil {
		return nil
	}
	return &definitiveError{err: err}
}

// definitivef is definitive(fmt.Errorf(format, args...)).
func definitivef(format string, args ...any) error {
	return definitive(fmt.Errorf(format, args...))
}

func isDefinitive(err error) bool {
	var d *definitiveError
	return errors.As(err, &d)
}

// statusError is a response with a status code the check did not want.
type statusError struct {
	method     string
	url        string // as requested
	finalURL   string // after redirects
	code       int
	retryAfter time.Duration // from a Retry-After header; 0 when absent
	snippet    string        // the start of the body, on one line
	want       string
}

func (e *statusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.method, e.url)
	if e.finalURL != "" && e.finalURL != e.url {
		fmt.Fprintf(&b, " (redirected to %s)", e.finalURL)
	}
	fmt.Fprintf(&b, ": %d %s, want %s", e.code, http.StatusText(e.code), e.want)
	if e.retryAfter > 0 {
		fmt.Fprintf(&b, " (Retry-After %s)", e.retryAfter)
	}
	if e.snippet != "" {
		fmt.Fprintf(&b, `: body starts %q`, e.snippet)
	}
	return b.String()
}

// retryable reports whether the status may change by itself: a request
// timeout, rate limiting, or a server error such as a load balancer without
// healthy targets during a rollout.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// retryAfterError carries a Retry-After wait to the backoff loop, which
// finds it with errors.As and waits that long instead of its own interval.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// As lets errors.As find a *backoff.RetryAfterError in the chain.
func (e *retryAfterError) As(target any) bool {
	t, ok := target.(**backoff.RetryAfterError)
	if !ok {
		return false
	}
	*t = &backoff.RetryAfterError{Duration: e.after}
	return true
}

// parseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date. It returns 0 when the header is absent, invalid or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(24 * time.Hour / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	when, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := when.Sub(now); d > 0 {
		return d.Round(time.Second)
	}
	return 0
}

// snippet returns the start of body on one printable line, to name what a
// server answered instead of what was wanted.
func snippet(body []byte) string {
	const maxRunes = 120
	var b strings.Builder
	space := false
	n := 0
	for _, r := range string(body) {
		if n == maxRunes {
			b.WriteString("…")
			break
		}
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
