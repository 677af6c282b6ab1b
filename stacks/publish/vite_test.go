package publish_test

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/experts/platform/internal/npmtest"
	"github.com/experts/platform/smoke"
	"github.com/experts/platform/stacks/publish"
)

// TestPublishARealViteBuild builds the fixture app with Vite (the version
// pinned in testdata/vite-app/package-lock.json), publishes it to the local
// S3 server and runs the frontend smoke checks against what a visitor gets.
func TestPublishARealViteBuild(t *testing.T) {
	node := npmtest.Node(t)
	app := npmtest.CopyFixture(t, filepath.Join("testdata", "vite-app"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, node, filepath.Join("node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn")
	build.Dir = app
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("vite build: %v\n%s", err, out)
	}

	e := newEnv(t)
	res := e.publish(filepath.Join(app, "dist"))
	if len(res.Uploaded) == 0 {
		t.Fatal("nothing was uploaded")
	}

	hashed := 0
	for key, obj := range e.objects() {
		switch {
		case strings.HasPrefix(key, publish.ReleasePrefix):
		case strings.HasPrefix(key, "assets/"):
			// Vite writes only hashed files into assets/.
			hashed++
			if obj.CacheControl != publish.CacheImmutable {
				t.Errorf("%s is served %q, want immutable", key, obj.CacheControl)
			}
		case path.Ext(key) == ".html":
			if obj.CacheControl != publish.CacheNoCache {
				t.Errorf("%s is served %q, want no-cache", key, obj.CacheControl)
			}
		case strings.HasPrefix(key, ".well-known/"):
			if key == ".well-known/apple-app-site-association" && !strings.HasPrefix(obj.ContentType, "application/json") {
				t.Errorf("%s is served as %q, want application/json", key, obj.ContentType)
			}
		case strings.HasPrefix(key, ".") || strings.Contains(key, "/."):
			t.Errorf("the dotfile %s was published", key)
		default:
			if obj.CacheControl != publish.CacheNoCache {
				t.Errorf("%s (from public/) is served %q, want no-cache", key, obj.CacheControl)
			}
		}
	}
	if hashed < 5 {
		t.Errorf("%d hashed assets published, want the build's 5 (entry, lazy chunk, CSS, two images)", hashed)
	}

	site := httptest.NewServer(e.s3.Site(bucket))
	t.Cleanup(site.Close)
	checks, err := smoke.Plan(smoke.Targets{FrontendURL: site.URL})
	if err != nil {
		t.Fatal(err)
	}
	report, err := (&smoke.Runner{Policy: smoke.Policy{Attempts: 1, Deadline: time.Minute}}).Run(ctx, checks)
	if err != nil {
		t.Fatal(err)
	}
	if !report.Passed() {
		var b strings.Builder
		_ = report.WriteText(&b)
		t.Errorf("smoke gate failed against the published Vite build:\n%s", b.String())
	}
}
