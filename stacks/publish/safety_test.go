package publish_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks/publish"
	"github.com/experts/platform/stacks/publish/publishtest"
)

func TestDotfilesAreNotPublishedExceptWellKnown(t *testing.T) {
	files := site(1)
	files[".DS_Store"] = "finder"
	files["assets/.DS_Store"] = "finder"
	files[".vite/manifest.json"] = `{}`
	files[".env.production"] = "SECRET=1"
	files[".well-known/apple-app-site-association"] = `{"applinks":{}}`
	files[".well-known/security.txt"] = "Contact: mailto:security@example.com"
	e := newEnv(t)
	res := e.publish(writeDist(t, files))

	for _, k := range res.Uploaded {
		if strings.HasPrefix(k, ".") && !strings.HasPrefix(k, ".well-known/") || strings.Contains(k, "/.") {
			t.Errorf("uploaded %s, a dotfile", k)
		}
	}
	objs := e.objects()
	for _, k := range []string{".well-known/apple-app-site-association", ".well-known/security.txt"} {
		if _, ok := objs[k]; !ok {
			t.Errorf("%s was not published", k)
		}
	}
	if got := objs[".well-known/apple-app-site-association"].ContentType; got != "application/json; charset=utf-8" {
		t.Errorf("apple-app-site-association served as %q, want application/json", got)
	}
}

func TestTheBuildManifestDecidesWhatIsFingerprinted(t *testing.T) {
	files := map[string]string{
		"index.html": `<script type="module" src="/assets/index-abcdqxyz.js"></script>`,
		// A real Rollup hash can be all lower-case: the manifest vouches for it.
		"assets/index-abcdqxyz.js":  "app",
		"assets/index-DiwrgTda.css": "css",
		// Copied from public/ by Vite: not the bundler's output.
		"assets/partner-Logo2024.svg": "<svg/>",
		".vite/manifest.json": `{"index.html": {"file": "assets/index-abcdqxyz.js", "isEntry": true,
			"css": ["assets/index-DiwrgTda.css"]}}`,
	}
	e := newEnv(t)
	e.publish(writeDist(t, files))
	got := map[string]string{}
	for k, o := range e.objects() {
		if !strings.HasPrefix(k, publish.ReleasePrefix) {
			got[k] = o.CacheControl
		}
	}
	want := map[string]string{
		"index.html":                  publish.CacheNoCache,
		"assets/index-abcdqxyz.js":    publish.CacheImmutable,
		"assets/index-DiwrgTda.css":   publish.CacheImmutable,
		"assets/partner-Logo2024.svg": publish.CacheNoCache,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Cache-Control by key (-want +got):\n%s", diff)
	}
}

func TestAnImmutableFileThatChangedFailsUnlessAllowed(t *testing.T) {
	e := newEnv(t)
	e.publish(writeDist(t, site(1)))
	changed := site(2)
	changed["assets/logo-a1b2c3d4.svg"] = "<svg>new</svg>" // same hashed name, new content
	e.s3.ResetRequests()

	_, err := e.publisher(writeDist(t, changed)).Publish(context.Background())
	if !errors.Is(err, publish.ErrChangedImmutable) || !strings.Contains(err.Error(), "assets/logo-a1b2c3d4.svg") {
		t.Fatalf("publish error = %v, want ErrChangedImmutable naming the file", err)
	}
	if got := ops(e.s3.Requests(), "PUT", "DELETE", "DELETE-MULTI"); len(got) != 0 {
		t.Errorf("a refused publish wrote %v", got)
	}

	p := e.publisher(writeDist(t, changed))
	p.AllowChangedImmutable = true
	res, err := p.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !contains(res.Uploaded, "assets/logo-a1b2c3d4.svg") || !contains(res.Invalidated, "/assets/logo-a1b2c3d4.svg") {
		t.Errorf("allowed publish uploaded %v and invalidated %v, want the changed file in both", res.Uploaded, res.Invalidated)
	}
}

func TestKeysNoManifestListedAndKeptPrefixesAreNeverDeleted(t *testing.T) {
	e := newEnv(t)
	if err := e.s3.Put(bucket, ".well-known/assetlinks.json", []byte("[]"), "application/json", ""); err != nil {
		t.Fatal(err)
	}
	first := site(1)
	first["downloads/app-1.0.dmg"] = "binary"
	e.publish(writeDist(t, first))
	if err := e.s3.Put(bucket, "downloads/manual.pdf", []byte("pdf"), "application/pdf", ""); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for n := 2; n <= 4; n++ {
		p := e.publisher(writeDist(t, site(n)))
		p.Keep = []string{"downloads/"}
		res, err := p.Publish(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		deleted = append(deleted, res.Deleted...)
	}
	objs := e.objects()
	for _, k := range []string{".well-known/assetlinks.json", "downloads/manual.pdf", "downloads/app-1.0.dmg"} {
		if _, ok := objs[k]; !ok {
			t.Errorf("%s was deleted", k)
		}
	}
	if !contains(deleted, siteJS(1)) {
		t.Errorf("deleted %v, want the first release's %s among them", deleted, siteJS(1))
	}
}

func TestReleasesAreOrderedByIDAndTheLivePointer(t *testing.T) {
	e := newEnv(t)
	r1 := e.publish(writeDist(t, site(1)))
	r2 := e.publish(writeDist(t, site(2)))
	objs := e.objects()
	// The older manifest rewritten later (as when its invalidation
	// completes late): its LastModified no longer says which is newer.
	e.s3.Clock.Advance(time.Hour)
	m1 := publish.ReleasePrefix + r1.Release + ".json"
	if err := e.s3.Put(bucket, m1, objs[m1].Body, "application/json", publish.CacheNoCache); err != nil {
		t.Fatal(err)
	}

	plan, err := e.publisher(writeDist(t, site(2))).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if plan.Live != r2.Release || !plan.Unchanged {
		t.Errorf("plan live %s unchanged %v, want %s (the pointer's) unchanged", plan.Live, plan.Unchanged, r2.Release)
	}

	// Without the pointer (a bucket from before it), the highest ID is live.
	if err := e.s3.Put(bucket, publish.LiveKey, []byte(`{"release":"`+r1.Release+`","manifest":"`+m1+`"}`), "application/json", ""); err != nil {
		t.Fatal(err)
	}
	plan, err = e.publisher(writeDist(t, site(2))).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if plan.Live != r1.Release || plan.Unchanged {
		t.Errorf("with the pointer on %s: plan live %s unchanged %v, want the pointer's release and a change", r1.Release, plan.Live, plan.Unchanged)
	}
}

func TestASecondPublishWaitsForTheLockOrNamesItsHolder(t *testing.T) {
	e := newEnv(t)
	e.publish(writeDist(t, site(1)))

	held := make(chan struct{})
	resume := make(chan struct{})
	first := e.publisher(writeDist(t, site(2)))
	first.Holder = "GitHub Actions run 42"
	first.OnStep = func(_ context.Context, s publish.Step) {
		if s == publish.StepPlanned {
			close(held)
			<-resume
		}
	}
	var wg sync.WaitGroup
	var firstErr error
	wg.Go(func() { _, firstErr = first.Publish(context.Background()) })
	<-held

	second := e.publisher(writeDist(t, site(3)))
	_, err := second.Publish(context.Background())
	var locked *publish.LockedError
	if !errors.Is(err, publish.ErrLocked) || !errors.As(err, &locked) || !strings.Contains(err.Error(), "GitHub Actions run 42") {
		t.Errorf("second publish error = %v, want ErrLocked naming the holder", err)
	}

	waiting := e.publisher(writeDist(t, site(3)))
	waiting.LockWait, waiting.LockPoll = time.Minute, time.Millisecond
	var waitErr error
	wg.Go(func() { _, waitErr = waiting.Publish(context.Background()) })
	close(resume)
	wg.Wait()
	if firstErr != nil || waitErr != nil {
		t.Fatalf("publishes = %v, %v; want the waiting one to run after the first", firstErr, waitErr)
	}
	if got := liveRelease(t, e); !strings.HasPrefix(got, waiting.Now().UTC().Format("20060102T150405")) {
		t.Errorf("live release %s, want the waiting publish's", got)
	}
	if _, ok := e.objects()[publish.LockKey]; ok {
		t.Error("the lock is still in the bucket after both publishes")
	}
}

func TestAnExpiredLockIsTakenOver(t *testing.T) {
	e := newEnv(t)
	if err := e.s3.Put(bucket, publish.LockKey, []byte(`{"holder":"a dead runner","acquiredAt":"2026-03-01T10:00:00Z","expiresAt":"2026-03-01T10:30:00Z"}`), "application/json", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.publisher(writeDist(t, site(1))).Publish(context.Background()); err != nil {
		t.Fatalf("publish over an expired lock: %v", err)
	}
}

func TestHTMLPhaseFailureReportsEachFilesTrueState(t *testing.T) {
	files := site(1)
	for _, p := range []string{"a", "b", "c", "d", "e", "f"} {
		files["docs/"+p+"/index.html"] = "page " + p
	}
	e := newEnv(t)
	e.s3.Inject(publishtestFault("docs/a/index.html"))
	p := e.publisher(writeDist(t, files))
	p.Concurrency = 2
	res, err := p.Publish(context.Background())
	var upErr *publish.UploadError
	if !errors.As(err, &upErr) || upErr.Phase != publish.PhaseHTML {
		t.Fatalf("publish error = %v, want an UploadError in the HTML phase", err)
	}
	stored := e.objects()
	for _, k := range res.Uploaded {
		if _, ok := stored[k]; !ok {
			t.Errorf("reported uploaded %s is not in the bucket", k)
		}
	}
	for _, k := range res.NotUploaded {
		if _, ok := stored[k]; ok {
			t.Errorf("reported not uploaded %s is in the bucket", k)
		}
	}
	if diff := cmp.Diff([]string{"docs/a/index.html"}, res.NotUploaded); diff != "" {
		t.Errorf("not uploaded (-want +got):\n%s", diff)
	}
}

func TestAnUploadCancelledInFlightIsReportedUnknown(t *testing.T) {
	e := newEnv(t)
	arrived := make(chan string, 1)
	e.s3.Inject(publishtest.Fault{Method: http.MethodPut, Key: "index.html", Stall: true, Arrived: arrived})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	res, err := e.publisher(writeDist(t, site(1))).Publish(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("publish error = %v, want context.Canceled", err)
	}
	if !contains(res.Unknown, "index.html") || contains(res.NotUploaded, "index.html") || contains(res.Uploaded, "index.html") {
		t.Errorf("index.html reported uploaded %v, not uploaded %v, unknown %v; want unknown", res.Uploaded, res.NotUploaded, res.Unknown)
	}
}

// liveRelease reads the live pointer.
func liveRelease(t *testing.T, e *env) string {
	t.Helper()
	obj, ok := e.objects()[publish.LiveKey]
	if !ok {
		t.Fatal("no live pointer in the bucket")
	}
	_, rest, _ := strings.Cut(string(obj.Body), `"release": "`)
	id, _, _ := strings.Cut(rest, `"`)
	return id
}
