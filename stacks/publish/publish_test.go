package publish_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/internal/golden"
	"github.com/experts/platform/stacks/publish"
)

func TestPublishSetsHeadersOnTheWire(t *testing.T) {
	e := newEnv(t)
	e.publish(writeDist(t, site(1)))

	type headers struct{ ContentType, CacheControl string }
	got := map[string]headers{}
	for _, r := range e.s3.Requests() {
		if r.Op() == "PUT" && !strings.HasPrefix(r.Key, publish.ReleasePrefix) {
			if r.Header.Get("Content-MD5") == "" {
				t.Errorf("PUT %s carried no Content-MD5", r.Key)
			}
			got[r.Key] = headers{r.Header.Get("Content-Type"), r.Header.Get("Cache-Control")}
		}
	}
	want := map[string]headers{
		"index.html":               {"text/html; charset=utf-8", "no-cache"},
		"about/index.html":         {"text/html; charset=utf-8", "no-cache"},
		siteJS(1):                  {"text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		siteCSS(1):                 {"text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		"assets/logo-a1b2c3d4.svg": {"image/svg+xml; charset=utf-8", "public, max-age=31536000, immutable"},
		"favicon.ico":              {"image/vnd.microsoft.icon", "no-cache"},
		"robots.txt":               {"text/plain; charset=utf-8", "no-cache"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers of the PUTs (-want +got):\n%s", diff)
	}
}

func TestPublishUploadsHTMLAfterEveryOtherFile(t *testing.T) {
	files := site(1)
	for i := range 40 {
		files[fmt.Sprintf("assets/chunk-k%07d.js", i)] = "chunk"
		files[fmt.Sprintf("robots-%d.txt", i)] = "entry"
		files[fmt.Sprintf("docs/p%d/index.html", i)] = "page"
	}
	e := newEnv(t)
	p := e.publisher(writeDist(t, files))
	p.Concurrency = 8
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}

	lastFinished := map[publish.Phase]int{}
	firstStarted := map[publish.Phase]int{}
	puts := 0
	for _, r := range e.s3.Requests() {
		if r.Op() != "PUT" || strings.HasPrefix(r.Key, publish.ReleasePrefix) {
			continue
		}
		puts++
		phase := publish.PhaseOther
		switch {
		case strings.HasSuffix(r.Key, ".html"):
			phase = publish.PhaseHTML
		case strings.Contains(r.Header.Get("Cache-Control"), "immutable"):
			phase = publish.PhaseAssets
		}
		lastFinished[phase] = max(lastFinished[phase], r.Finished)
		if s, ok := firstStarted[phase]; !ok || r.Started < s {
			firstStarted[phase] = r.Started
		}
	}
	if puts != len(files) {
		t.Fatalf("%d PUTs of files, want %d", puts, len(files))
	}
	if firstStarted[publish.PhaseOther] < lastFinished[publish.PhaseAssets] {
		t.Errorf("an entry file was sent (request %d) before every fingerprinted asset was stored (request %d)",
			firstStarted[publish.PhaseOther], lastFinished[publish.PhaseAssets])
	}
	if firstStarted[publish.PhaseHTML] < lastFinished[publish.PhaseOther] {
		t.Errorf("HTML was sent (request %d) before every other file was stored (request %d)",
			firstStarted[publish.PhaseHTML], lastFinished[publish.PhaseOther])
	}
}

func TestRepublishingTheSameDistSendsNoPuts(t *testing.T) {
	e := newEnv(t)
	first := e.publish(writeDist(t, site(1)))
	e.s3.ResetRequests()

	second := e.publish(writeDist(t, site(1)))

	if got := ops(e.s3.Requests(), "PUT", "DELETE", "DELETE-MULTI"); len(got) != 0 {
		t.Errorf("second publish of the same dist wrote %v, want nothing", got)
	}
	if !second.Unchanged || second.Release != first.Release || second.Skipped != len(site(1)) {
		t.Errorf("second publish = release %s unchanged %v skipped %d, want release %s unchanged with %d skipped",
			second.Release, second.Unchanged, second.Skipped, first.Release, len(site(1)))
	}
	if n := len(e.cf.invalidations()); n != 1 {
		t.Errorf("%d invalidations after two publishes of the same dist, want 1", n)
	}
}

func TestPublishUploadsOnlyWhatChanged(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *publish.Publisher, files map[string]string)
		wantP []string // PUT keys, manifest excluded
	}{
		{
			name:  "uploads a file whose content changed",
			edit:  func(_ *publish.Publisher, files map[string]string) { files["robots.txt"] = "# changed" },
			wantP: []string{"PUT robots.txt"},
		},
		{
			name:  "uploads a new file",
			edit:  func(_ *publish.Publisher, files map[string]string) { files["assets/extra-e9f8a7b6.js"] = "x" },
			wantP: []string{"PUT assets/extra-e9f8a7b6.js"},
		},
		{
			name: "uploads a file whose headers changed under new rules",
			edit: func(p *publish.Publisher, _ map[string]string) {
				p.Rules.Rules = []publish.CacheRule{{Pattern: "favicon.ico", CacheControl: "public, max-age=3600"}}
			},
			wantP: []string{"PUT favicon.ico"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.publish(writeDist(t, site(1)))
			e.s3.ResetRequests()

			files := site(1)
			p := e.publisher("")
			tt.edit(p, files)
			p.Dir = writeDist(t, files)
			if _, err := p.Publish(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, op := range ops(e.s3.Requests(), "PUT") {
				if !strings.HasPrefix(op, "PUT "+publish.ReleasePrefix) {
					got = append(got, op)
				}
			}
			if diff := cmp.Diff(tt.wantP, got); diff != "" {
				t.Errorf("PUTs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetentionAcrossThreePublishes(t *testing.T) {
	e := newEnv(t)
	r1 := e.publish(writeDist(t, site(1)))
	r2 := e.publish(writeDist(t, site(2)))

	// After the second release, the first one's assets are still there for
	// visitors who loaded the first index.html.
	for _, key := range []string{siteJS(1), siteCSS(1), siteJS(2), siteCSS(2)} {
		if _, ok := e.objects()[key]; !ok {
			t.Errorf("%s is gone after the second publish; visitors on the first release need it", key)
		}
	}
	if len(r2.Deleted) != 0 {
		t.Errorf("second publish deleted %v, want nothing", r2.Deleted)
	}

	e.s3.ResetRequests()
	r3 := e.publish(writeDist(t, site(3)))

	want := []string{
		"_releases/" + r2.Release + ".json",
		"_releases/" + r3.Release + ".json",
		publish.LiveKey,
		"about/index.html",
		siteJS(2), siteJS(3),
		"assets/logo-a1b2c3d4.svg",
		siteCSS(2), siteCSS(3),
		"favicon.ico", "index.html", "robots.txt",
	}
	if diff := cmp.Diff(want, e.keys()); diff != "" {
		t.Errorf("bucket after three publishes (-want +got):\n%s", diff)
	}
	wantDeleted := []string{siteJS(1), siteCSS(1), "_releases/" + r1.Release + ".json"}
	if diff := cmp.Diff(wantDeleted, r3.Deleted); diff != "" {
		t.Errorf("deleted by the third publish (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{r2.Release}, r3.KeptReleases); diff != "" {
		t.Errorf("kept releases (-want +got):\n%s", diff)
	}

	// Deletion comes after the new HTML is stored and invalidated.
	invs := e.cf.invalidations()
	third := invs[len(invs)-1]
	for _, r := range e.s3.Requests() {
		switch {
		case r.Op() == "DELETE-MULTI" && r.Started < third.s3Before:
			t.Errorf("old files were deleted (request %d) before the invalidation was created", r.Started)
		case r.Op() == "PUT" && strings.HasSuffix(r.Key, ".html") && r.Finished > third.s3Before:
			t.Errorf("HTML %s was stored after the invalidation was created", r.Key)
		}
	}
	if !third.completed {
		t.Error("the third publish returned before its invalidation completed")
	}
}

func TestFirstPublishOntoALegacyBucket(t *testing.T) {
	e := newEnv(t)
	// What `aws s3 sync` left: guessed types, no Cache-Control, an old chunk.
	for key, body := range site(1) {
		if err := e.s3.Put(bucket, key, []byte(body), "binary/octet-stream", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s3.Put(bucket, "assets/legacy-0a1b2c3d.js", []byte("old"), "application/javascript", ""); err != nil {
		t.Fatal(err)
	}

	first := e.publish(writeDist(t, site(1)))

	if diff := cmp.Diff(keysOf(site(1)), first.Uploaded); diff != "" {
		t.Errorf("first managed publish must rewrite every file to set its headers (-want +got):\n%s", diff)
	}
	if len(first.Deleted) != 0 {
		t.Errorf("first managed publish deleted %v; the legacy site's files must stay one release", first.Deleted)
	}

	e.publish(writeDist(t, site(2)))
	third := e.publish(writeDist(t, site(3)))
	// No manifest ever listed the legacy chunk: it is not the publisher's
	// to delete (it may be a file someone placed by hand).
	if contains(third.Deleted, "assets/legacy-0a1b2c3d.js") {
		t.Errorf("a later publish deleted the legacy chunk that no release listed (deleted: %v)", third.Deleted)
	}
	if !contains(third.Deleted, siteJS(1)) {
		t.Errorf("third publish deleted %v, want the first release's %s among them", third.Deleted, siteJS(1))
	}
}

func TestFilesOfAnUnfinishedPublishAreNeverDeleted(t *testing.T) {
	e := newEnv(t)
	e.publish(writeDist(t, site(1)))

	// A publish that stored its assets and failed before its HTML.
	e.s3.Inject(publishtestFault("index.html"))
	e.s3.Inject(publishtestFault("about/index.html"))
	p := e.publisher(writeDist(t, site(2)))
	if _, err := p.Publish(context.Background()); err == nil {
		t.Fatal("publish with failing HTML uploads succeeded")
	}
	e.s3.ClearFaults()

	// Its assets are in no manifest: a visitor may have been served them
	// by some page, and nothing records whose they are.
	e.publish(writeDist(t, site(3)))
	fourth := e.publish(writeDist(t, site(4)))
	if contains(fourth.Deleted, siteJS(2)) {
		t.Errorf("%s of the unfinished publish was deleted (deleted: %v)", siteJS(2), fourth.Deleted)
	}
	if !contains(fourth.Deleted, siteJS(1)) {
		t.Errorf("fourth publish deleted %v, want the first release's %s among them", fourth.Deleted, siteJS(1))
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.publish(writeDist(t, site(1)))
	e.publish(writeDist(t, site(2)))
	before := e.objects()
	invalidations := len(e.cf.invalidations())
	e.s3.ResetRequests()

	p := e.publisher(filepath.Join("testdata", "site-v3"))
	plan, err := p.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	if got := ops(e.s3.Requests(), "PUT", "DELETE", "DELETE-MULTI"); len(got) != 0 {
		t.Errorf("planning wrote %v, want nothing", got)
	}
	if diff := cmp.Diff(before, e.objects()); diff != "" {
		t.Errorf("bucket changed while planning (-before +after):\n%s", diff)
	}
	if n := len(e.cf.invalidations()); n != invalidations {
		t.Errorf("planning created %d invalidations", n-invalidations)
	}

	got, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.AssertFunc(t, "plan-v3.golden.json", append(got, '\n'), golden.JSON)
}

func TestInvalidation(t *testing.T) {
	tests := []struct {
		name      string
		pending   int
		wantPaths []string
	}{
		{
			name:      "invalidates changed HTML and entry files with their directories and /",
			pending:   0,
			wantPaths: []string{"/", "/about", "/about/", "/about/index.html", "/favicon.ico", "/index.html", "/robots.txt"},
		},
		{
			name:      "waits while the invalidation is in progress",
			pending:   3,
			wantPaths: []string{"/", "/about", "/about/", "/about/index.html", "/favicon.ico", "/index.html", "/robots.txt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cf.pending = tt.pending
			res := e.publish(writeDist(t, site(1)))

			invs := e.cf.invalidations()
			if len(invs) != 1 {
				t.Fatalf("%d invalidations, want 1", len(invs))
			}
			if diff := cmp.Diff(tt.wantPaths, invs[0].paths); diff != "" {
				t.Errorf("invalidated paths (-want +got):\n%s", diff)
			}
			if invs[0].polls != tt.pending+1 || !invs[0].completed {
				t.Errorf("invalidation polled %d times (completed %v), want %d polls and completion", invs[0].polls, invs[0].completed, tt.pending+1)
			}
			if res.InvalidationID != invs[0].id {
				t.Errorf("result names invalidation %q, want %q", res.InvalidationID, invs[0].id)
			}
		})
	}
}

func TestAnInvalidationThatTimedOutIsFinishedByTheNextPublish(t *testing.T) {
	e := newEnv(t)
	e.cf.pending = 1 << 30
	p := e.publisher(writeDist(t, site(1)))
	p.WaitTimeout = 5 * time.Millisecond
	_, err := p.Publish(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is live; wait for invalidation I1") {
		t.Fatalf("publish error = %v, want the release live and the invalidation wait failed", err)
	}

	e.cf.pending = 0
	e.s3.ResetRequests()
	res := e.publish(writeDist(t, site(1)))

	var puts []string
	for _, op := range ops(e.s3.Requests(), "PUT") {
		if !strings.HasPrefix(op, "PUT "+publish.ReleasePrefix) {
			puts = append(puts, op)
		}
	}
	if len(puts) != 0 {
		t.Errorf("re-publish uploaded %v, want only the manifest updated", puts)
	}
	invs := e.cf.invalidations()
	if len(invs) != 2 || !cmp.Equal(invs[0].paths, invs[1].paths) || !invs[1].completed {
		t.Fatalf("invalidations = %+v, want the first one's paths invalidated again and completed", invs)
	}
	if !res.Unchanged || res.InvalidationID != "I2" {
		t.Errorf("result = unchanged %v invalidation %q, want unchanged with invalidation I2", res.Unchanged, res.InvalidationID)
	}

	e.s3.ResetRequests()
	e.publish(writeDist(t, site(1)))
	if got := ops(e.s3.Requests(), "PUT"); len(got) != 0 || len(e.cf.invalidations()) != 2 {
		t.Errorf("third publish wrote %v and made %d invalidations, want nothing new", got, len(e.cf.invalidations()))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestInvalidationPathsAreURLEncoded(t *testing.T) {
	e := newEnv(t)
	e.publish(writeDist(t, map[string]string{"index.html": "home", "über uns/index.html": "about"}))

	invs := e.cf.invalidations()
	if len(invs) != 1 {
		t.Fatalf("%d invalidations, want 1", len(invs))
	}
	want := []string{"/", "/%C3%BCber%20uns", "/%C3%BCber%20uns/", "/%C3%BCber%20uns/index.html", "/index.html"}
	if diff := cmp.Diff(want, invs[0].paths); diff != "" {
		t.Errorf("invalidated paths (-want +got):\n%s", diff)
	}
}

func TestInvalidationPathsKeepCharactersCloudFrontWantsUnencoded(t *testing.T) {
	e := newEnv(t)
	e.publish(writeDist(t, map[string]string{"index.html": "home", "terms (v2)/index.html": "terms", "don't!.html": "x", "a*b.txt": "y"}))

	invs := e.cf.invalidations()
	if len(invs) != 1 {
		t.Fatalf("%d invalidations, want 1", len(invs))
	}
	// CloudFront matches "(", ")", "'" and "!" only as they are; "*"
	// stays encoded so that it is never a wildcard.
	want := []string{"/", "/a%2Ab.txt", "/don't!.html", "/index.html", "/terms%20(v2)", "/terms%20(v2)/", "/terms%20(v2)/index.html"}
	if diff := cmp.Diff(want, invs[0].paths); diff != "" {
		t.Errorf("invalidated paths (-want +got):\n%s", diff)
	}
}

func TestPublishWithoutRetentionDeletesNothingItDidNotPublish(t *testing.T) {
	e := newEnv(t)
	// A bucket this tool never published to: an old site, or the wrong bucket.
	if err := e.s3.Put(bucket, "assets/legacy-0a1b2c3d.js", []byte("old"), "application/javascript", ""); err != nil {
		t.Fatal(err)
	}

	p := e.publisher(writeDist(t, site(1)))
	p.Retain = 0
	first, err := p.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Deleted) != 0 {
		t.Errorf("first publish with retain 0 deleted %v; a bucket without release manifests keeps its files", first.Deleted)
	}

	p = e.publisher(writeDist(t, site(2)))
	p.Retain = 0
	second, err := p.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if contains(second.Deleted, "assets/legacy-0a1b2c3d.js") || !contains(second.Deleted, siteJS(1)) {
		t.Errorf("second publish with retain 0 deleted %v, want the first release's %s and not the legacy chunk no release listed", second.Deleted, siteJS(1))
	}
}
