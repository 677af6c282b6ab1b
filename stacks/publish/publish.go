// Package publish publishes a built frontend (a dist directory) to the
// site's S3 bucket and CloudFront distribution so that no visitor is ever
// served a broken page:
//
//   - one publish at a time: a publish takes a lock in the bucket
//     (LockKey, a conditional write with an expiry, renewed before every
//     step); a second run waits for it or fails naming the holder;
//   - only files whose content or headers changed are uploaded, judged by
//     size and MD5 against the bucket listing and the live release manifest;
//     dotfiles and dot-directories (.vite/, .DS_Store) are never published,
//     except .well-known/;
//   - each file gets a Content-Type from mime-db and a Cache-Control by
//     rule: immutable for fingerprinted files (package fingerprint: hashed
//     names in the fingerprinted folders, or the build manifest's output),
//     no-cache for HTML and other entry files. A fingerprinted file whose
//     content changed under the same name fails the plan unless allowed,
//     and is then invalidated;
//   - fingerprinted assets are uploaded first, then other files, HTML last,
//     each phase with bounded concurrency; a failure stops the publish
//     before any new HTML is uploaded, and in the HTML phase every upload
//     started is let finish so that each file's state is known;
//   - every release is recorded in a manifest (ReleasePrefix + ID + ".json")
//     and made live by a conditional write of LiveKey; releases are ordered
//     by ID. Files of the previous Retain releases are kept for visitors
//     still on an old page; older releases' files are deleted only after the
//     new HTML is live and invalidated, and a key that no manifest ever
//     listed, or that is under a Keep prefix, is never deleted;
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

	"github.com/experts/platform/stacks/publish/fingerprint"
)

// S3API is the part of the S3 client the publisher uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
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
	// ErrChangedImmutable: a file served immutable changed its content
	// under the same name; browsers that cached it would keep the old copy.
	ErrChangedImmutable = errors.New("immutable files changed under the same name")
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
	// new release's and the live release's files stay). deployctl's
	// default is DefaultRetain.
	Retain int
	// Keep are key prefixes that are never deleted, even when an old
	// release listed them.
	Keep []string
	// AllowChangedImmutable lets a fingerprinted file change its content
	// under the same name: it is uploaded and invalidated (browsers that
	// cached it still keep their copy). Without it such a plan fails.
	AllowChangedImmutable bool
	// Holder names this publish in the bucket's lock (empty:
	// DefaultHolder). LockTTL is how long the lock holds unrenewed
	// (0: DefaultLockTTL); LockWait how long to wait for another
	// publish's lock (0: fail at once); LockPoll the delay between tries
	// (0: DefaultLockPoll).
	Holder                      string
	LockTTL, LockWait, LockPoll time.Duration
	// OnStep, when set, is called after each step of Apply with the step
	// just finished (progress reporting; tests pause publishes there).
	OnStep func(ctx context.Context, step Step)
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

// Step is a step of a publish, in order.
type Step string

// Steps of a publish, in order.
const (
	StepLocked      Step = "locked"
	StepPlanned     Step = "planned"
	StepAssets      Step = "uploaded assets"
	StepOther       Step = "uploaded other files"
	StepHTML        Step = "uploaded html"
	StepLive        Step = "made live"
	StepInvalidated Step = "invalidated"
	StepDeleted     Step = "deleted old files"
)

// Steps lists the steps in order.
var Steps = []Step{StepLocked, StepPlanned, StepAssets, StepOther, StepHTML, StepLive, StepInvalidated, StepDeleted}

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
	// Live is the release live when the plan was made ("" for none).
	Live string `json:"live"`
	// Ignored are the dotfiles of the dist that are not published.
	Ignored  []string `json:"ignored"`
	Warnings []string `json:"warnings,omitempty"`

	manifest      *Manifest // the release to record
	writeManifest bool      // false when the live manifest already is this release
	liveETag      string    // of LiveKey when planned; "" when absent
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
	// Unknown are files whose upload was canceled in flight: S3 may or
	// may not have stored them.
	Unknown        []string `json:"unknown"`
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
	Unknown     []string
	Err         error
}

func (e *UploadError) Error() string {
	state := "no new HTML was uploaded: the site still serves the previous release"
	if e.Phase == PhaseHTML {
		state = "some HTML was uploaded: those pages serve the new release, the others the previous one; publish again"
	}
	unknown := ""
	if len(e.Unknown) > 0 {
		unknown = fmt.Sprintf(", %d canceled in flight (state unknown)", len(e.Unknown))
	}
	return fmt.Sprintf("upload stopped in phase %q with %d file(s) uploaded and %d not uploaded%s (%s): %v",
		e.Phase, len(e.Uploaded), len(e.NotUploaded), unknown, state, e.Err)
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

// Publish takes the bucket's lock, plans and applies, and releases the
// lock.
func (p *Publisher) Publish(ctx context.Context) (*Result, error) {
	start := time.Now()
	d, err := p.scan(ctx)
	if err != nil {
		return nil, err
	}
	l, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer p.release(ctx, l)
	p.step(ctx, StepLocked)
	plan, err := p.plan(ctx, d)
	if err != nil {
		return nil, err
	}
	p.step(ctx, StepPlanned)
	res, err := p.apply(ctx, plan, l)
	res.Seconds = time.Since(start).Seconds()
	return res, err
}

func (p *Publisher) step(ctx context.Context, s Step) {
	if p.OnStep != nil {
		p.OnStep(ctx, s)
	}
}

type remoteObject struct {
	size         int64
	etag         string
	lastModified time.Time
}

// scanned is a dist read from disk: its files, its ignored dotfiles and
// the rules that apply to it.
type scanned struct {
	files   []LocalFile
	ignored []string
	rules   RuleSet
}

// Plan compares the dist with the bucket and says what a publish would do.
// It only reads.
func (p *Publisher) Plan(ctx context.Context) (*Plan, error) {
	d, err := p.scan(ctx)
	if err != nil {
		return nil, err
	}
	return p.plan(ctx, d)
}

// scan checks the settings and reads the dist, without a request.
func (p *Publisher) scan(ctx context.Context) (*scanned, error) {
	if p.Bucket == "" {
		return nil, errors.New("no bucket given")
	}
	if p.Retain < 0 {
		return nil, fmt.Errorf("retain is %d, want 0 or more", p.Retain)
	}
	if p.LockTTL < 0 || p.LockWait < 0 {
		return nil, fmt.Errorf("lock ttl %s and wait %s must not be negative", p.LockTTL, p.LockWait)
	}
	log := p.log()
	files, ignored, err := ScanDist(ctx, p.Dir, p.concurrency())
	if err != nil {
		return nil, err
	}
	log.Info("scanned dist", "dir", p.Dir, "files", len(files), "ignored", len(ignored))
	rules := p.Rules
	if rules.listed, err = fingerprint.ReadViteManifest(p.Dir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDist, err)
	}
	if rules.listed != nil {
		log.Info("fingerprinted files from the build manifest", "manifest", fingerprint.ViteManifest, "files", len(rules.listed))
	}
	return &scanned{files: files, ignored: ignored, rules: rules}, nil
}

func (p *Publisher) plan(ctx context.Context, d *scanned) (*Plan, error) {
	log := p.log()
	files, ignored, rules := d.files, d.ignored, d.rules

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
	// Newest first: release IDs sort in publish order.
	sort.SliceStable(manifests, func(i, j int) bool { return manifests[i].ID > manifests[j].ID })
	var pointer LivePointer
	liveETag, hasPointer, err := p.getState(ctx, LiveKey, &pointer)
	if err != nil {
		return nil, fmt.Errorf("read the live release of bucket %s: %w", p.Bucket, err)
	}
	var live *Manifest
	switch {
	case hasPointer:
		for _, m := range manifests {
			if m.ID == pointer.Release {
				live = m
			}
		}
		if live == nil {
			return nil, fmt.Errorf("%s names release %s, whose manifest %s is missing: restore it, or remove %s to take the newest release as live",
				LiveKey, pointer.Release, manifestKey(pointer.Release), LiveKey)
		}
	case len(manifests) > 0:
		live = manifests[0] // a bucket published before the live pointer existed
	}
	log.Info("listed bucket", "bucket", p.Bucket, "objects", len(objects), "releases", len(manifests))

	plan := &Plan{Bucket: p.Bucket, DistributionID: p.DistributionID, Ignored: ignored, liveETag: liveETag}
	if plan.Ignored == nil {
		plan.Ignored = []string{}
	}
	if live != nil {
		plan.Live = live.ID
	}
	var changedImmutable []string
	record := make([]ManifestFile, 0, len(files))
	for _, lf := range files {
		f := File{
			Key:          lf.Key,
			Size:         lf.Size,
			MD5:          lf.MD5,
			ContentType:  ContentType(lf.Key),
			CacheControl: rules.CacheControl(lf.Key),
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
		if isImmutable(f.CacheControl) && changedUnderSameName(f, manifests) {
			changedImmutable = append(changedImmutable, f.Key)
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
	if len(changedImmutable) > 0 {
		if !p.AllowChangedImmutable {
			return nil, fmt.Errorf("%w: %s: a fingerprinted name must change with its content (is the hash in the name a content hash? is the file really fingerprinted?); fix the build, or allow it explicitly (--allow-changed-immutable) to upload and invalidate them",
				ErrChangedImmutable, strings.Join(changedImmutable, ", "))
		}
		for _, k := range changedImmutable {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf(
				"%s is served immutable but its content changed under the same name: it is invalidated, but browsers that cached it keep the old copy", k))
		}
	}

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
		plan.Invalidate = p.invalidations(plan, live, changedImmutable)
		plan.manifest.InvalidationPaths = plan.Invalidate
	}
	plan.Release = plan.manifest.ID
	plan.Deletes, plan.KeptReleases = p.retention(plan.manifest, live, manifests, objects)
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
// immutable (HTML and other entry files) and of every immutable file that
// changed under the same name, with "/", plus any paths that the live
// release's invalidation did not complete.
func (p *Publisher) invalidations(plan *Plan, live *Manifest, changedImmutable []string) []string {
	set := map[string]bool{}
	for _, f := range plan.Uploads {
		if isImmutable(f.CacheControl) {
			continue
		}
		for _, path := range invalidationPaths(f.Key) {
			set[path] = true
		}
	}
	for _, k := range changedImmutable {
		for _, path := range invalidationPaths(k) {
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

// changedUnderSameName reports whether a release recorded f's key as
// immutable with other content.
func changedUnderSameName(f File, manifests []*Manifest) bool {
	for _, m := range manifests {
		if prev, ok := m.file(f.Key); ok && isImmutable(prev.CacheControl) && prev.MD5 != f.MD5 {
			return true
		}
	}
	return false
}

// retention decides which objects go once release is live: the files of
// the releases that are not among the Retain kept (the live one first, then
// the newest), with their manifests. A key that no manifest lists (a
// hand-placed file, an unfinished publish's upload) is never deleted, nor
// is a key under a Keep prefix or the publisher's own state. When the
// bucket has no earlier release, nothing is deleted.
func (p *Publisher) retention(release, live *Manifest, manifests []*Manifest, objects map[string]remoteObject) (deletes, kept []string) {
	deletes, kept = []string{}, []string{}
	var others []*Manifest
	for _, m := range manifests {
		if m.ID != release.ID {
			others = append(others, m)
		}
	}
	keep := map[string]bool{release.Key(): true, LockKey: true, LiveKey: true}
	for _, f := range release.Files {
		keep[f.Key] = true
	}
	// The live release is the one visitors have open: it comes first, then
	// the others newest first.
	sort.SliceStable(others, func(i, j int) bool { return live != nil && others[i].ID == live.ID && others[j].ID != live.ID })
	retained := map[string]bool{}
	for i, m := range others {
		if i < p.Retain {
			retained[m.ID] = true
			kept = append(kept, m.ID)
			keep[m.Key()] = true
			for _, f := range m.Files {
				keep[f.Key] = true
			}
		}
	}
	candidates := map[string]bool{}
	for _, m := range others {
		if retained[m.ID] {
			continue
		}
		candidates[m.Key()] = true
		for _, f := range m.Files {
			candidates[f.Key] = true
		}
	}
	for key := range candidates {
		if _, exists := objects[key]; !exists || keep[key] || p.kept(key) {
			continue
		}
		deletes = append(deletes, key)
	}
	// Files first, manifests last: a manifest is the record of what to
	// remove, and stays until its files are gone.
	sort.Slice(deletes, func(i, j int) bool {
		mi, mj := isManifestKey(deletes[i]), isManifestKey(deletes[j])
		if mi != mj {
			return mj
		}
		return deletes[i] < deletes[j]
	})
	return deletes, kept
}

// kept reports whether key is under a Keep prefix.
func (p *Publisher) kept(key string) bool {
	for _, prefix := range p.Keep {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return false
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
