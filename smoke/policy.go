package smoke

import (
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Default retry policy. With these values a dead target (connection
// refused) is declared failed after five attempts and about 7.5 s of
// backoff, and a target that accepts connections but never answers after
// about 33 s, inside the 40 s deadline.
const (
	DefaultAttempts       = 5
	DefaultTimeout        = 5 * time.Second
	DefaultDeadline       = 40 * time.Second
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 8 * time.Second
	DefaultMaxBodyBytes   = 4 << 20
	DefaultMaxRedirects   = 5
)

// backoffMultiplier and backoffJitter shape the exponential backoff: each
// wait is twice the previous one, randomized by ±50 %.
const (
	backoffMultiplier = 2
	backoffJitter     = 0.5
)

// Policy is how hard a run tries. Zero fields take the defaults above.
type Policy struct {
	// Attempts is the most attempts of one check, the first included.
	Attempts int
	// Timeout bounds one request, from dialing to the last byte of the body.
	Timeout time.Duration
	// Deadline bounds the whole run; checks still running then fail.
	Deadline time.Duration
	// InitialBackoff is the wait after the first failed attempt; each later
	// wait doubles, up to MaxBackoff, randomized by ±50 %. A Retry-After
	// header on a 429 or 5xx replaces the computed wait.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MaxBodyBytes bounds what is read of one response body.
	MaxBodyBytes int64
	// MaxRedirects bounds the redirects followed by one request.
	MaxRedirects int
}

// DefaultPolicy returns the policy that the zero Policy stands for.
func DefaultPolicy() Policy {
	return Policy{}.withDefaults()
}

func (p Policy) withDefaults() Policy {
	if p.Attempts == 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Deadline == 0 {
		p.Deadline = DefaultDeadline
	}
	if p.InitialBackoff == 0 {
		p.InitialBackoff = DefaultInitialBackoff
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = max(DefaultMaxBackoff, p.InitialBackoff)
	}
	if p.MaxBodyBytes == 0 {
		p.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if p.MaxRedirects == 0 {
		p.MaxRedirects = DefaultMaxRedirects
	}
	return p
}

// Validate reports every field that is negative or inconsistent. Zero
// fields are valid: they take the defaults.
func (p Policy) Validate() error {
	var errs []error
	if p.Attempts < 0 {
		errs = append(errs, fmt.Errorf("attempts is %d, want 1 or more", p.Attempts))
	}
	if p.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout is %s, want more than 0", p.Timeout))
	}
	if p.Deadline < 0 {
		errs = append(errs, fmt.Errorf("deadline is %s, want more than 0", p.Deadline))
	}
	if p.InitialBackoff < 0 || p.MaxBackoff < 0 {
		errs = append(errs, fmt.Errorf("backoff is %s up to %s, want durations of 0 or more", p.InitialBackoff, p.MaxBackoff))
	}
	if p.InitialBackoff > 0 && p.MaxBackoff > 0 && p.MaxBackoff < p.InitialBackoff {
		errs = append(errs, fmt.Errorf("max backoff %s is less than initial backoff %s", p.MaxBackoff, p.InitialBackoff))
	}
	if p.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max body bytes is %d, want more than 0", p.MaxBodyBytes))
	}
	if p.MaxRedirects < 0 {
		errs = append(errs, fmt.Errorf("max redirects is %d, want 0 or more", p.MaxRedirects))
	}
	return errors.Join(errs...)
}

// newBackOff returns the exponential backoff with jitter of one check.
func (p Policy) newBackOff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     p.InitialBackoff,
		RandomizationFactor: backoffJitter,
		Multiplier:          backoffMultiplier,
		MaxInterval:         p.MaxBackoff,
	}
}
