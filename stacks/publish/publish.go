// Package publish publishes a built frontend (a dist directory) to the
// site's S3 bucket and CloudFront distribution so that no visitor is ever
// served a broken page:
//
//   - only files whose content or headers changed are uploaded, judged by
//     size and MD5 against the bucket listing and the live release manifest;
//   - each file gets a Content-Type by extension and a Cache-Control by
//     rule (immutable for fingerprinted assets, no-cache for HTML and other
//     entry files);
//   - fingerprinted assets are uploaded first, then other files, HTML last,
//     each phase with bounded concurrency; a failure stops the publish
//     before any new HTML is uploaded;
//   - every release is recorded in a manifest (ReleasePrefix + ID + ".json");
//     files of the previous Retain releases are kept for visitors still on
//     an old page, older ones are deleted only after the new HTML is live
//     and invalidated;
//   - the changed HTML and entry paths (and "/") are invalidated and the
//     publish waits for the invalidation to complete.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3API is the part of the S3 client the publisher uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// CloudFrontAPI is the part of the CloudFront client the publisher uses.
type CloudFrontAPI interface {
	CreateInvalidation(ctx context.Context, in *cloudfront.CreateInvalidationInput, optFns ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error)
	GetInvalidation(ctx context.Context, in *cloudfront.GetInvalidationInput, optFns ...func(*cloudfront.Options)) (*cloudfront.GetInvalidationOutput, error)
}

// Defaults of the Publisher's knobs.
const (
	DefaultRetain       = 1
	DefaultConcurrency  = 16
	DefaultWaitMinDelay = 5 * time.Second
	DefaultWaitMaxDelay = 30 * time.Second
	// maxInvalidationPaths is the largest path list sent as is; beyond it
	// the publisher invalidates "/*" (CloudFront accepts 3,000 paths in
	// progress per distribution).
	maxInvalidationPaths = 1000
)

// Sentinel errors, for errors.Is.
var (
	ErrBucketNotFound = errors.New("bucket not found")
	ErrAccessDenied   = errors.New("access denied")
)

// Publisher publishes Dir to Bucket and invalidates DistributionID.
type Publisher struct {
	S3         S3API
	CloudFront CloudFrontAPI // nil or an empty DistributionID: no invalidation

	Bucket         string
	DistributionID string
	Dir            string
	Rules          RuleSet
	// Retain is how many previous releases keep their files (0: only the
	// new release's files stay). deployctl's default is DefaultRetain.
	Retain int
	// Concurrency bounds simultaneous uploads and file hashing
	// (0: DefaultConcurrency).
	Concurrency int
	// Log receives progress (nil: discarded).
	Log *slog.Logger
	// Now names releases (nil: time.Now).
	Now func() time.Time
	// WaitMinDelay and WaitMaxDelay bound the delay between invalidation
	// status polls (0: the defaults above). WaitTimeout bounds the wait
	// (0: until the context's deadline, or 15 minutes without one).
	WaitMinDelay, WaitMaxDelay, WaitTimeout time.Duration
}

// Phase is an upload phase; phases run one after the other.
type Phase int

// Upload phases, in order.
const (
	PhaseAssets Phase = iota // immutable (fingerprinted) files
	PhaseOther               // every other non-HTML file
	PhaseHTML                // HTML, last
)

func (p Phase) String() string {
	switch p {
	case PhaseAssets:
		return "assets"
	case PhaseOther:
		return "other files"
	default:
		return "html"
	}
}

// MarshalText makes phases readable in JSON.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// File is a file of the plan.
type File struct {
	Key          string `json:"key"`
	Size         int64  `json:"size"`
	MD5          string `json:"md5"`
	ContentType  string `json:"contentType"`
	CacheControl string `json:"cacheControl"`
	Phase        Phase  `json:"phase"`
	// Reason says why a file is uploaded: "new", "changed", "headers"
	// (its headers differ from the live release's) or "unrecorded" (it is
	// not in the live release's manifest, so its headers are unknown).
	Reason string `json:"reason,omitempty"`

	path string
	etag string // in the bucket, for skipped files
}

// Plan is what a publish will do. Plan() computes it without changing
// anything; Apply carries it out.
type Plan struct {
	Release        string `json:"release"`
	Bucket         string `json:"bucket"`
	DistributionID string `json:"distributionId,omitempty"`
	// Unchanged is true when the dist is already the live release.
	Unchanged    bool     `json:"unchanged"`
	Uploads      []File   `json:"uploads"`
	UploadBytes  int64    `json:"uploadBytes"`
	Skips        []File   `json:"skips"`
	Deletes      []string `json:"deletes"`
	Invalidate   []string `json:"invalidate"`
	KeptReleases []string `json:"keptReleases"`
	Warnings     []string `json:"warnings,omitempty"`

	manifest      *Manifest // the release to record
	writeManifest bool      // false when the live manifest already is this release
}

// Result is what a publish did.
type Result struct {
	Release        string   `json:"release"`
	Bucket         string   `json:"bucket"`
	DistributionID string   `json:"distributionId,omitempty"`
	Unchanged      bool     `json:"unchanged"`
	Uploaded       []string `json:"uploaded"`
	UploadedBytes  int64    `json:"uploadedBytes"`
	NotUploaded    []string `json:"notUploaded"`
	Skipped        int      `json:"skipped"`
	Deleted        []string `json:"deleted"`
	InvalidationID string   `json:"invalidationId,omitempty"`
	Invalidated    []string `json:"invalidatedPaths"`
	KeptReleases   []string `json:"keptReleases"`
	Seconds        float64  `json:"seconds"`
}

// UploadError reports a publish that stopped while uploading: which files
// made it and which did not.
type UploadError struct {
	Phase       Phase
	Uploaded    []string
	NotUploaded []string
	Err         error
}

func (e *UploadError) Error() string {
	state := "no new HTML was uploaded: the site still serves the previous release"
	if e.Phase == PhaseHTML {
		state = "some HTML was uploaded: those pages serve the new release, the others the previous one; publish again"
	}
	return fmt.Sprintf("upload stopped in phase %q with %d file(s) uploaded and %d not uploaded (%s): %v",
		e.Phase, len(e.Uploaded), len(e.NotUploaded), state, e.Err)
}

func (e *UploadError) Unwrap() error { return e.Err }

func (p *Publisher) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

func (p *Publisher) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

func (p *Publisher) concurrency() int {
	if p.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return p.Concurrency
}

// Publish plans and applies.
func (p *Publisher) Publish(ctx context.Context) (*Result, error) {
	start := time.Now()
	plan, err := p.Plan(ctx)
	if err != nil {
		return nil, err
	}
	res, err := p.Apply(ctx, plan)
	res.Seconds = time.Since(start).Seconds()
	return res, err
}

type remoteObject struct {
	size         int64
	etag         string
	lastModified time.Time
}

// Plan compares the dist with the bucket and says what a publish would do.
// It only reads.
func (p *Publisher) Plan(ctx context.Context) (*Plan, error) {
	if p.Bucket == "" {
		return nil, errors.New("no bucket given")
	}
	if p.Retain < 0 {
		return nil, fmt.Errorf("retain is %d, want 0 or more", p.Retain)
	}
	log := p.log()
	files, err := ScanDist(ctx, p.Dir, p.concurrency())
	if err != nil {
		return nil, err
	}
	log.Info("scanned dist", "dir", p.Dir, "files", len(files))

	objects, err := p.list(ctx)
	if err != nil {
		return nil, err
	}
	var manifestKeys []string
	for key := range objects {
		if isManifestKey(key) {
			manifestKeys = append(manifestKeys, key)
		}
	}
	manifests, err := readManifests(ctx, p.S3, p.Bucket, manifestKeys)
	if err != nil {
		return nil, err
	}
	// Newest first by the bucket's clock, which every publisher shares.
	sort.SliceStable(manifests, func(i, j int) bool {
		ti, tj := objects[manifests[i].Key()].lastModified, objects[manifests[j].Key()].lastModified
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return manifests[i].ID > manifests[j].ID
	})
	var live *Manifest
	if len(manifests) > 0 {
		live = manifests[0]
	}
	log.Info("listed bucket", "bucket", p.Bucket, "objects", len(objects), "releases", len(manifests))

	plan := &Plan{Bucket: p.Bucket, DistributionID: p.DistributionID}
	record := make([]ManifestFile, 0, len(files))
	for _, lf := range files {
		f := File{
			Key:          lf.Key,
			Size:         lf.Size,
			MD5:          lf.MD5,
			ContentType:  ContentType(lf.Key),
			CacheControl: p.Rules.CacheControl(lf.Key),
			path:         lf.Path,
		}
		switch {
		case isHTML(f.Key):
			f.Phase = PhaseHTML
		case isImmutable(f.CacheControl):
			f.Phase = PhaseAssets
		default:
			f.Phase = PhaseOther
		}
		remote, inBucket := objects[f.Key]
		var prev ManifestFile
		inLive := false
		if live != nil {
			prev, inLive = live.file(f.Key)
		}
		sameContent := inBucket && remote.size == f.Size &&
			(etagMD5(remote.etag) == f.MD5 || (inLive && prev.MD5 == f.MD5 && prev.ETag == remote.etag))
		switch {
		case !inBucket:
			f.Reason = "new"
		case !sameContent:
			f.Reason = "changed"
		case !inLive || prev.MD5 != f.MD5:
			f.Reason = "unrecorded"
		case prev.ContentType != f.ContentType || prev.CacheControl != f.CacheControl:
			f.Reason = "headers"
		}
		if inLive && prev.MD5 != f.MD5 && isImmutable(f.CacheControl) && isImmutable(prev.CacheControl) {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf(
				"%s is served immutable but its content changed under the same name: browsers that cached it keep the old copy (is it really fingerprinted? see --fingerprint)", f.Key))
		}
		mf := ManifestFile{Key: f.Key, Size: f.Size, MD5: f.MD5, ContentType: f.ContentType, CacheControl: f.CacheControl}
		if f.Reason == "" {
			f.etag = remote.etag
			mf.ETag = remote.etag
			plan.Skips = append(plan.Skips, f)
		} else {
			plan.Uploads = append(plan.Uploads, f)
			plan.UploadBytes += f.Size
		}
		record = append(record, mf)
	}
	sort.SliceStable(plan.Uploads, func(i, j int) bool { return plan.Uploads[i].Phase < plan.Uploads[j].Phase })

	digest := digestOf(record)
	plan.Unchanged = live != nil && live.Digest == digest && len(plan.Uploads) == 0
	if plan.Unchanged {
		// The live release already is this dist: record nothing new, but
		// finish an invalidation that an earlier publish did not see complete.
		plan.manifest = live
		if live.invalidationPending() {
			plan.Invalidate = live.InvalidationPaths
		}
	} else {
		now := p.now()
		plan.manifest = &Manifest{ID: releaseID(now, digest), Digest: digest, CreatedAt: now.UTC(), Files: record}
		plan.writeManifest = true
		plan.Invalidate = p.invalidations(plan, live)
		plan.manifest.InvalidationPaths = plan.Invalidate
	}
	plan.Release = plan.manifest.ID
	plan.Deletes, plan.KeptReleases = p.retention(plan.manifest, manifests, objects)
	if plan.Uploads == nil {
		plan.Uploads = []File{}
	}
	if plan.Skips == nil {
		plan.Skips = []File{}
	}
	if plan.Invalidate == nil {
		plan.Invalidate = []string{}
	}
	return plan, nil
}

// invalidations are the viewer paths of every changed file that is not
// immutable (HTML and other entry files), with "/", plus any paths that the
// live release's invalidation did not complete.
func (p *Publisher) invalidations(plan *Plan, live *Manifest) []string {
	set := map[string]bool{}
	for _, f := range plan.Uploads {
		if isImmutable(f.CacheControl) {
			continue
		}
		for _, path := range invalidationPaths(f.Key) {
			set[path] = true
		}
	}
	if live != nil && live.invalidationPending() {
		for _, path := range live.InvalidationPaths {
			set[path] = true
		}
	}
	if len(set) == 0 {
		return []string{}
	}
	set["/"] = true
	if len(set) > maxInvalidationPaths {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("%d paths to invalidate: invalidating /* instead", len(set)))
		return []string{"/*"}
	}
	out := make([]string, 0, len(set))
	for path := range set {
		out = append(out, path)
	}
	sort.Strings(out)
	return out
}

// retention decides which objects go once release is live: every object
// that belongs neither to release nor to the Retain releases before it.
// Objects written after the oldest kept release (by an unfinished publish
// whose pages may have been served) stay one more round. When the bucket has
// no earlier release, nothing is deleted: its objects are the site visitors
// still have open.
func (p *Publisher) retention(release *Manifest, manifests []*Manifest, objects map[string]remoteObject) (deletes, kept []string) {
	deletes, kept = []string{}, []string{}
	var others []*Manifest
	for _, m := range manifests {
		if m.ID != release.ID {
			others = append(others, m)
		}
	}
	if len(others) == 0 {
		return deletes, kept
	}
	retained := others[:min(p.Retain, len(others))]
	keep := map[string]bool{release.Key(): true}
	for _, f := range release.Files {
		keep[f.Key] = true
	}
	var cutoff time.Time
	for _, m := range retained {
		kept = append(kept, m.ID)
		keep[m.Key()] = true
		for _, f := range m.Files {
			keep[f.Key] = true
		}
		cutoff = objects[m.Key()].lastModified
	}
	for key, obj := range objects {
		if keep[key] {
			continue
		}
		if !cutoff.IsZero() && !isManifestKey(key) && obj.lastModified.After(cutoff) {
			continue
		}
		deletes = append(deletes, key)
	}
	sort.Strings(deletes)
	return deletes, kept
}

func (p *Publisher) list(ctx context.Context) (map[string]remoteObject, error) {
	objects := map[string]remoteObject{}
	pages := s3.NewListObjectsV2Paginator(p.S3, &s3.ListObjectsV2Input{Bucket: aws.String(p.Bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list bucket %s: %w", p.Bucket, classify(err, p.Bucket))
		}
		for _, o := range page.Contents {
			objects[aws.ToString(o.Key)] = remoteObject{
				size:         aws.ToInt64(o.Size),
				etag:         aws.ToString(o.ETag),
				lastModified: aws.ToTime(o.LastModified),
			}
		}
	}
	return objects, nil
}

// etagMD5 returns the MD5 an ETag stands for, or "" when the ETag is not a
// plain MD5 (multipart uploads; SSE-KMS objects, whose ETags look like one
// but are not, are caught by the size and the manifest's recorded ETag).
func etagMD5(etag string) string {
	e := strings.ToLower(strings.Trim(etag, `"`))
	if len(e) != 32 || strings.Trim(e, "0123456789abcdef") != "" {
		return ""
	}
	return e
}

// classify turns the S3 errors that users can act on into messages that
// say what to do, keeping the original error.
func classify(err error, bucket string) error {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return err
	}
	switch apiErr.ErrorCode() {
	case "NoSuchBucket":
		return fmt.Errorf("%w: %s (check --bucket or the stack's site outputs): %w", ErrBucketNotFound, bucket, err)
	case "AccessDenied", "Forbidden", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return fmt.Errorf("%w to bucket %s (the publishing role needs s3:ListBucket on it and s3:GetObject, s3:PutObject, s3:DeleteObject on its objects): %w",
			ErrAccessDenied, bucket, err)
	}
	return err
}
