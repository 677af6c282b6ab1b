package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Keys of the publisher's own state objects, beside the release manifests.
const (
	// LockKey holds the lock of the publish in progress.
	LockKey = ReleasePrefix + "lock.json"
	// LiveKey names the live release.
	LiveKey = ReleasePrefix + "live.json"
)

// Defaults of the lock.
const (
	// DefaultLockTTL is how long a lock holds without being renewed. A
	// publish renews it before every step, so only a publisher that died
	// (or stalled that long) loses it.
	DefaultLockTTL  = 30 * time.Minute
	DefaultLockPoll = 5 * time.Second
)

// Lock errors, for errors.Is.
var (
	// ErrLocked: another publish holds the bucket's lock.
	ErrLocked = errors.New("another publish holds the bucket")
	// ErrLockLost: the lock expired and another publish took it over, or
	// it was removed; this publish stopped before its next step.
	ErrLockLost = errors.New("the publish lost the bucket's lock")
	// ErrLiveChanged: the live release changed under this publish.
	ErrLiveChanged = errors.New("the live release changed during the publish")
)

// LockInfo is the content of the lock object.
type LockInfo struct {
	Holder     string    `json:"holder"`
	AcquiredAt time.Time `json:"acquiredAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// LockedError is a lock held by someone else.
type LockedError struct {
	Bucket string
	Info   LockInfo
	Waited time.Duration
}

func (e *LockedError) Error() string {
	waited := ""
	if e.Waited > 0 {
		waited = fmt.Sprintf(" (waited %s)", e.Waited.Round(time.Second))
	}
	return fmt.Sprintf("%v: bucket %s is locked by %s since %s until %s%s; wait for it to finish (--lock-wait), or, if it died, remove s3://%s/%s",
		ErrLocked, e.Bucket, e.Info.Holder, e.Info.AcquiredAt.Format(time.RFC3339), e.Info.ExpiresAt.Format(time.RFC3339), waited, e.Bucket, LockKey)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// lock is a held lock: its content and the ETag it was written with.
type lock struct {
	info LockInfo
	etag string
}

// DefaultHolder names this process in a lock: the GitHub Actions run when
// there is one, else user@host and the process id.
func DefaultHolder(getenv func(string) string) string {
	if run := getenv("GITHUB_RUN_ID"); run != "" {
		return fmt.Sprintf("GitHub Actions run %s attempt %s of %s (%s/%s/actions/runs/%s)",
			run, getenv("GITHUB_RUN_ATTEMPT"), getenv("GITHUB_WORKFLOW"), getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), run)
	}
	host, _ := os.Hostname()
	user := getenv("USER")
	if user == "" {
		user = "unknown"
	}
	return fmt.Sprintf("%s@%s pid %d", user, host, os.Getpid())
}

func (p *Publisher) holder() string {
	if p.Holder != "" {
		return p.Holder
	}
	return DefaultHolder(os.Getenv)
}

// acquire takes the bucket's lock with a conditional write (If-None-Match:
// *), taking over an expired lock with If-Match on its ETag. A live lock is
// waited for up to LockWait, then reported with its holder.
func (p *Publisher) acquire(ctx context.Context) (*lock, error) {
	start := time.Now()
	poll := orDefault(p.LockPoll, DefaultLockPoll)
	logged := ""
	for {
		held, err := p.tryAcquire(ctx)
		if err == nil {
			return held, nil
		}
		var locked *LockedError
		if !errors.As(err, &locked) {
			return nil, err
		}
		waited := time.Since(start)
		if waited+poll > p.LockWait {
			locked.Waited = waited
			return nil, locked
		}
		if logged != locked.Info.Holder {
			logged = locked.Info.Holder
			p.log().Info("waiting for the bucket's lock", "holder", locked.Info.Holder, "expires", locked.Info.ExpiresAt)
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for the lock of bucket %s (held by %s): %w", p.Bucket, locked.Info.Holder, ctx.Err())
		case <-t.C:
		}
	}
}

func (p *Publisher) tryAcquire(ctx context.Context) (*lock, error) {
	now := p.now().UTC()
	info := LockInfo{Holder: p.holder(), AcquiredAt: now, ExpiresAt: now.Add(orDefault(p.LockTTL, DefaultLockTTL))}
	etag, err := p.putState(ctx, LockKey, info, "", true)
	if err == nil {
		return &lock{info: info, etag: etag}, nil
	}
	if !isPreconditionFailed(err) {
		return nil, fmt.Errorf("take the lock of bucket %s: %w", p.Bucket, err)
	}
	var cur LockInfo
	curETag, found, err := p.getState(ctx, LockKey, &cur)
	if err != nil {
		return nil, fmt.Errorf("read the lock of bucket %s: %w", p.Bucket, err)
	}
	if !found {
		return p.tryAcquire(ctx) // released in between
	}
	if now.Before(cur.ExpiresAt) {
		return nil, &LockedError{Bucket: p.Bucket, Info: cur}
	}
	p.log().Warn("taking over an expired lock", "holder", cur.Holder, "expired", cur.ExpiresAt)
	etag, err = p.putState(ctx, LockKey, info, curETag, false)
	if isPreconditionFailed(err) {
		return p.tryAcquire(ctx) // someone else took it over first
	}
	if err != nil {
		return nil, fmt.Errorf("take over the expired lock of bucket %s: %w", p.Bucket, err)
	}
	return &lock{info: info, etag: etag}, nil
}

// renew extends the lock before a step; it fails with ErrLockLost when the
// lock is no longer this publish's.
func (p *Publisher) renew(ctx context.Context, l *lock, step Step) error {
	next := l.info
	next.ExpiresAt = p.now().UTC().Add(orDefault(p.LockTTL, DefaultLockTTL))
	etag, err := p.putState(ctx, LockKey, next, l.etag, false)
	if isPreconditionFailed(err) || isNotFound(err) {
		var cur LockInfo
		_, found, _ := p.getState(ctx, LockKey, &cur)
		holder := "nobody"
		if found {
			holder = cur.Holder
		}
		return fmt.Errorf("%w before step %q: it is now held by %s (this publish ran past its expiry at %s)",
			ErrLockLost, step, holder, l.info.ExpiresAt.Format(time.RFC3339))
	}
	if err != nil {
		return fmt.Errorf("renew the lock of bucket %s: %w", p.Bucket, err)
	}
	l.info, l.etag = next, etag
	return nil
}

// release removes the lock if it is still this publish's (If-Match). It
// runs even when ctx was canceled.
func (p *Publisher) release(ctx context.Context, l *lock) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(LockKey), IfMatch: aws.String(l.etag)})
	switch {
	case err == nil:
	case isPreconditionFailed(err) || isNotFound(err):
		p.log().Warn("the lock was no longer this publish's when released", "bucket", p.Bucket)
	default:
		p.log().Warn("could not release the lock; it expires on its own", "bucket", p.Bucket, "expires", l.info.ExpiresAt, "error", err)
	}
}

// LivePointer is the content of LiveKey.
type LivePointer struct {
	Release   string    `json:"release"`
	Manifest  string    `json:"manifest"`
	UpdatedAt time.Time `json:"updatedAt"`
	Holder    string    `json:"holder"`
}

// putState writes a small JSON object conditionally: If-None-Match: * when
// create is true, If-Match: ifMatch when it is not empty.
func (p *Publisher) putState(ctx context.Context, key string, v any, ifMatch string, create bool) (string, error) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(p.Bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(ContentType(".json")),
		CacheControl:  aws.String(CacheNoCache),
	}
	if create {
		in.IfNoneMatch = aws.String("*")
	}
	if ifMatch != "" {
		in.IfMatch = aws.String(ifMatch)
	}
	out, err := p.S3.PutObject(ctx, in)
	if err != nil {
		return "", classify(err, p.Bucket)
	}
	return aws.ToString(out.ETag), nil
}

// getState reads a small JSON object; found is false when it is absent.
func (p *Publisher) getState(ctx context.Context, key string, v any) (etag string, found bool, err error) {
	obj, err := p.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, classify(err, p.Bucket)
	}
	defer obj.Body.Close()
	body, err := io.ReadAll(io.LimitReader(obj.Body, 1<<20))
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return "", false, fmt.Errorf("%s is not valid JSON (remove it or fix it): %w", key, err)
	}
	return aws.ToString(obj.ETag), true, nil
}

func isPreconditionFailed(err error) bool {
	return hasStatus(err, http.StatusPreconditionFailed, "PreconditionFailed") ||
		hasStatus(err, http.StatusConflict, "ConditionalRequestConflict")
}

// isNotFound reports a missing object (not a missing bucket).
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchBucket" {
		return false
	}
	return hasStatus(err, http.StatusNotFound, "NoSuchKey")
}

func hasStatus(err error, status int, code string) bool {
	if err == nil {
		return false
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == code {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == status
}
