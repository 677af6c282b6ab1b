package publish

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// deleteBatch is the most keys one DeleteObjects call takes.
const deleteBatch = 1000

// Apply takes the bucket's lock and carries out plan, which must still
// describe the bucket (the live release has not changed since), then
// releases the lock. Publish does all of it in one call.
func (p *Publisher) Apply(ctx context.Context, plan *Plan) (*Result, error) {
	l, err := p.acquire(ctx)
	if err != nil {
		return newResult(plan), err
	}
	defer p.release(ctx, l)
	var pointer LivePointer
	etag, _, err := p.getState(ctx, LiveKey, &pointer)
	if err != nil {
		return newResult(plan), fmt.Errorf("read the live release of bucket %s: %w", p.Bucket, err)
	}
	if etag != plan.liveETag {
		return newResult(plan), fmt.Errorf("%w since the plan (now %s): plan again", ErrLiveChanged, pointer.Release)
	}
	return p.apply(ctx, plan, l)
}

func newResult(plan *Plan) *Result {
	return &Result{
		Release:        plan.Release,
		Bucket:         plan.Bucket,
		DistributionID: plan.DistributionID,
		Unchanged:      plan.Unchanged,
		Uploaded:       []string{},
		NotUploaded:    []string{},
		Unknown:        []string{},
		Skipped:        len(plan.Skips),
		Deleted:        []string{},
		Invalidated:    []string{},
		KeptReleases:   plan.KeptReleases,
	}
}

// apply carries out plan under lock l: uploads phase by phase, records the
// release and makes it live once its HTML is uploaded, invalidates and
// waits, then deletes what retention released. The lock is renewed before
// every step; it stops at the first failure and the Result says how far it
// got.
func (p *Publisher) apply(ctx context.Context, plan *Plan, l *lock) (*Result, error) {
	start := time.Now()
	res := newResult(plan)
	defer func() { res.Seconds = time.Since(start).Seconds() }()
	log := p.log()
	for _, w := range plan.Warnings {
		log.Warn(w)
	}

	etags, err := p.upload(ctx, plan, res, l)
	if err != nil {
		return res, err
	}

	m := plan.manifest
	if err := p.renew(ctx, l, StepLive); err != nil {
		return res, err
	}
	if plan.writeManifest {
		for i := range m.Files {
			if etag, ok := etags[m.Files[i].Key]; ok {
				m.Files[i].ETag = etag
			}
		}
		if err := writeManifest(ctx, p.S3, p.Bucket, m); err != nil {
			return res, fmt.Errorf("the new release's files are uploaded but it was not recorded (publish again): %w", err)
		}
	}
	if plan.writeManifest || plan.Live != m.ID || plan.liveETag == "" {
		if err := p.makeLive(ctx, plan, m); err != nil {
			return res, err
		}
		log.Info("release live", "release", m.ID, "manifest", m.Key())
	}
	p.step(ctx, StepLive)

	if len(plan.Invalidate) > 0 {
		if p.CloudFront == nil || p.DistributionID == "" {
			log.Warn("no distribution: invalidation skipped", "paths", len(plan.Invalidate))
		} else {
			id, err := p.invalidate(ctx, m.ID, plan.Invalidate)
			res.InvalidationID = id
			if err != nil {
				return res, fmt.Errorf("release %s is live; %w", m.ID, err)
			}
			res.Invalidated = plan.Invalidate
			done := p.now().UTC()
			m.InvalidationID, m.InvalidatedAt = id, &done
			if err := writeManifest(ctx, p.S3, p.Bucket, m); err != nil {
				return res, fmt.Errorf("release %s is live and invalidated, but its manifest was not updated (publish again): %w", m.ID, err)
			}
		}
	}
	p.step(ctx, StepInvalidated)

	if len(plan.Deletes) > 0 {
		if err := p.renew(ctx, l, StepDeleted); err != nil {
			return res, fmt.Errorf("release %s is live; nothing was deleted: %w", m.ID, err)
		}
		if err := p.deleteKeys(ctx, plan.Deletes, res); err != nil {
			return res, fmt.Errorf("release %s is live; removing old files: %w", m.ID, err)
		}
	}
	p.step(ctx, StepDeleted)
	return res, nil
}

// makeLive points LiveKey at m with a conditional write on the pointer the
// plan read, so that a release made live by anyone else in between is
// never silently replaced.
func (p *Publisher) makeLive(ctx context.Context, plan *Plan, m *Manifest) error {
	ptr := LivePointer{Release: m.ID, Manifest: m.Key(), UpdatedAt: p.now().UTC(), Holder: p.holder()}
	_, err := p.putState(ctx, LiveKey, ptr, plan.liveETag, plan.liveETag == "")
	if isPreconditionFailed(err) || (plan.liveETag != "" && isNotFound(err)) {
		var cur LivePointer
		_, _, _ = p.getState(ctx, LiveKey, &cur)
		return fmt.Errorf("%w: release %s was made live by %s while this publish ran; release %s was uploaded but is not live (publish again)",
			ErrLiveChanged, cur.Release, cur.Holder, m.ID)
	}
	if err != nil {
		return fmt.Errorf("make release %s live (%s): %w", m.ID, LiveKey, err)
	}
	return nil
}

// uploadState is the state of one file's upload.
type uploadState int

const (
	notStarted uploadState = iota
	uploaded
	failed
	unknown // canceled in flight
)

// upload runs the phases in order, each with bounded concurrency, renewing
// the lock before each, and returns the ETag of every file uploaded. In the
// asset and other phases the first failure cancels the uploads in flight;
// in the HTML phase every upload started is let finish, so that each page
// is known to serve the new release or the previous one.
func (p *Publisher) upload(ctx context.Context, plan *Plan, res *Result, l *lock) (map[string]string, error) {
	log := p.log()
	etags := make(map[string]string, len(plan.Uploads))
	states := make(map[string]uploadState, len(plan.Uploads))
	var mu sync.Mutex
	total := len(plan.Uploads)
	done := 0
	steps := map[Phase]Step{PhaseAssets: StepAssets, PhaseOther: StepOther, PhaseHTML: StepHTML}
	for phase := PhaseAssets; phase <= PhaseHTML; phase++ {
		var batch []File
		for _, f := range plan.Uploads {
			if f.Phase == phase {
				batch = append(batch, f)
			}
		}
		if len(batch) > 0 {
			if err := p.renew(ctx, l, steps[phase]); err != nil {
				return nil, p.uploadError(phase, plan, states, res, err)
			}
			log.Info("uploading", "phase", phase.String(), "files", len(batch))
			phaseCtx, cancel := context.WithCancel(ctx)
			g := new(errgroup.Group)
			g.SetLimit(p.concurrency())
			var firstErr error
			for _, f := range batch {
				g.Go(func() error {
					if phaseCtx.Err() != nil {
						return nil
					}
					etag, err := p.put(phaseCtx, f)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						etags[f.Key] = etag
						states[f.Key] = uploaded
						res.Uploaded = append(res.Uploaded, f.Key)
						res.UploadedBytes += f.Size
						done++
						log.Info("uploaded", "key", f.Key, "bytes", f.Size, "cache", f.CacheControl, "done", done, "of", total)
						return nil
					case ctx.Err() != nil:
						states[f.Key] = unknown
						if firstErr == nil {
							firstErr = fmt.Errorf("upload %s: %w", f.Key, ctx.Err())
						}
						return nil
					case phaseCtx.Err() != nil:
						states[f.Key] = unknown // canceled after another upload failed
						return nil
					default:
						states[f.Key] = failed
						if firstErr == nil {
							firstErr = fmt.Errorf("upload %s: %w", f.Key, classify(err, p.Bucket))
						}
					}
					if phase != PhaseHTML {
						cancel()
					}
					return nil
				})
			}
			_ = g.Wait()
			cancel()
			if firstErr == nil && ctx.Err() != nil {
				firstErr = ctx.Err()
			}
			if firstErr != nil {
				return nil, p.uploadError(phase, plan, states, res, firstErr)
			}
		}
		p.step(ctx, steps[phase])
	}
	sort.Strings(res.Uploaded)
	return etags, nil
}

func (p *Publisher) uploadError(phase Phase, plan *Plan, states map[string]uploadState, res *Result, err error) error {
	sort.Strings(res.Uploaded)
	for _, f := range plan.Uploads {
		switch states[f.Key] {
		case notStarted, failed:
			res.NotUploaded = append(res.NotUploaded, f.Key)
		case unknown:
			res.Unknown = append(res.Unknown, f.Key)
		}
	}
	return &UploadError{Phase: phase, Uploaded: res.Uploaded, NotUploaded: res.NotUploaded, Unknown: res.Unknown, Err: err}
}

func (p *Publisher) put(ctx context.Context, f File) (string, error) {
	body, err := os.Open(f.path)
	if err != nil {
		return "", fmt.Errorf("open: %w", err)
	}
	defer body.Close()
	sum, err := hex.DecodeString(f.MD5)
	if err != nil {
		return "", fmt.Errorf("md5 %q: %w", f.MD5, err)
	}
	out, err := p.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(p.Bucket),
		Key:           aws.String(f.Key),
		Body:          body,
		ContentLength: aws.Int64(f.Size),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(sum)),
		ContentType:   aws.String(f.ContentType),
		CacheControl:  aws.String(f.CacheControl),
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// invalidate creates an invalidation of paths and waits for it with the
// SDK's InvalidationCompleted waiter.
func (p *Publisher) invalidate(ctx context.Context, release string, paths []string) (string, error) {
	log := p.log()
	out, err := p.CloudFront.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(p.DistributionID),
		InvalidationBatch: &cftypes.InvalidationBatch{
			// Unique per attempt: CloudFront treats a repeated reference as
			// the same request.
			CallerReference: aws.String(fmt.Sprintf("%s-%d", release, time.Now().UnixNano())),
			Paths:           &cftypes.Paths{Quantity: aws.Int32(int32(len(paths))), Items: paths}, //nolint:gosec // at most maxInvalidationPaths
		},
	})
	if err != nil {
		return "", fmt.Errorf("create invalidation on distribution %s: %w", p.DistributionID, err)
	}
	if out.Invalidation == nil || out.Invalidation.Id == nil {
		return "", fmt.Errorf("create invalidation on distribution %s: no invalidation id in the answer", p.DistributionID)
	}
	id := aws.ToString(out.Invalidation.Id)
	log.Info("invalidating", "distribution", p.DistributionID, "invalidation", id, "paths", len(paths))

	timeout := p.WaitTimeout
	if timeout <= 0 {
		timeout = 15 * time.Minute
		if deadline, ok := ctx.Deadline(); ok {
			timeout = time.Until(deadline)
		}
	}
	if timeout <= 0 {
		return id, fmt.Errorf("wait for invalidation %s: %w", id, context.DeadlineExceeded)
	}
	waiter := cloudfront.NewInvalidationCompletedWaiter(p.CloudFront, func(o *cloudfront.InvalidationCompletedWaiterOptions) {
		o.MinDelay = orDefault(p.WaitMinDelay, DefaultWaitMinDelay)
		o.MaxDelay = max(orDefault(p.WaitMaxDelay, DefaultWaitMaxDelay), o.MinDelay)
	})
	err = waiter.Wait(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(p.DistributionID), Id: aws.String(id)}, timeout)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return id, fmt.Errorf("wait for invalidation %s on distribution %s: %w", id, p.DistributionID, err)
	}
	log.Info("invalidation completed", "invalidation", id)
	return id, nil
}

func (p *Publisher) deleteKeys(ctx context.Context, keys []string, res *Result) error {
	log := p.log()
	for start := 0; start < len(keys); start += deleteBatch {
		batch := keys[start:min(start+deleteBatch, len(keys))]
		ids := make([]s3types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = s3types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := p.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(p.Bucket),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete %d old file(s): %w", len(batch), classify(err, p.Bucket))
		}
		failed := map[string]bool{}
		for _, e := range out.Errors {
			failed[aws.ToString(e.Key)] = true
		}
		for _, k := range batch {
			if !failed[k] {
				res.Deleted = append(res.Deleted, k)
			}
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete %d of %d old file(s) failed, first %s: %s %s",
				len(out.Errors), len(batch), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
		}
		log.Info("deleted old files", "files", len(batch))
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
