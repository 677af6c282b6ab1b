package publish_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks/publish"
	"github.com/experts/platform/stacks/publish/publishtest"
)

// publishtestFault fails every PUT of key with a 500.
func publishtestFault(key string) publishtest.Fault {
	return publishtest.Fault{Method: http.MethodPut, Key: key, Status: http.StatusInternalServerError, Code: "InternalError"}
}

func TestAFailureMidwayLeavesTheOldSiteIntact(t *testing.T) {
	tests := []struct {
		name      string
		fault     publishtest.Fault
		wantPhase publish.Phase
		wantErr   error
	}{
		{
			name:      "stops before any HTML when an asset keeps failing with 500",
			fault:     publishtest.Fault{Method: http.MethodPut, Key: siteCSS(2), Status: http.StatusInternalServerError, Code: "InternalError"},
			wantPhase: publish.PhaseAssets,
		},
		{
			name:      "stops before any HTML when an asset upload is denied",
			fault:     publishtest.Fault{Method: http.MethodPut, Key: siteJS(2), Status: http.StatusForbidden, Code: "AccessDenied"},
			wantPhase: publish.PhaseAssets,
			wantErr:   publish.ErrAccessDenied,
		},
		{
			name:      "stops before any HTML when an entry file keeps failing with 503",
			fault:     publishtest.Fault{Method: http.MethodPut, Key: "robots.txt", Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"},
			wantPhase: publish.PhaseOther,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r1 := e.publish(writeDist(t, site(1)))
			oldSite := e.objects()
			e.s3.ResetRequests()
			e.s3.Inject(tt.fault)

			res, err := e.publisher(writeDist(t, site(2))).Publish(context.Background())

			var upErr *publish.UploadError
			if !errors.As(err, &upErr) {
				t.Fatalf("publish error = %v, want an *UploadError", err)
			}
			if upErr.Phase != tt.wantPhase {
				t.Errorf("stopped in phase %v, want %v", upErr.Phase, tt.wantPhase)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "no new HTML was uploaded") || !strings.Contains(err.Error(), tt.fault.Key) {
				t.Errorf("error %q does not say that no HTML was uploaded and which file failed", err)
			}
			for _, html := range []string{"about/index.html", "index.html"} {
				if !contains(res.NotUploaded, html) {
					t.Errorf("%s missing from the files not uploaded %v", html, res.NotUploaded)
				}
			}
			if len(res.Uploaded)+len(res.NotUploaded)+len(res.Unknown) != 5 {
				t.Errorf("uploaded %v, not uploaded %v and unknown %v, want the 5 changed files between them", res.Uploaded, res.NotUploaded, res.Unknown)
			}
			if got := ops(e.s3.Requests(), "DELETE", "DELETE-MULTI"); len(got) != 0 {
				t.Errorf("a failed publish deleted %v", got)
			}
			for _, r := range e.s3.Requests() {
				if r.Op() == "PUT" && r.Key != publish.LockKey && (strings.HasSuffix(r.Key, ".html") || strings.HasPrefix(r.Key, publish.ReleasePrefix)) {
					t.Errorf("a failed publish sent PUT %s", r.Key)
				}
			}
			if n := len(e.cf.invalidations()); n != 1 {
				t.Errorf("%d invalidations, want only the first release's", n)
			}

			// Every object of the live release is as it was.
			now := e.objects()
			for key, obj := range oldSite {
				if key == "robots.txt" && tt.wantPhase != publish.PhaseAssets {
					continue // an entry file of the other phase may have been replaced
				}
				if diff := cmp.Diff(obj, now[key]); diff != "" {
					t.Errorf("%s of release %s changed (-before +after):\n%s", key, r1.Release, diff)
				}
			}
		})
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	tests := []struct {
		name  string
		fault publishtest.Fault
		want  int // requests for the faulty key or listing
	}{
		{"retries a PUT answered 503 SlowDown", publishtest.Fault{Method: http.MethodPut, Key: "index.html", Status: http.StatusServiceUnavailable, Code: "SlowDown", Times: 2}, 3},
		{"retries a PUT answered 500", publishtest.Fault{Method: http.MethodPut, Key: siteJS(1), Status: http.StatusInternalServerError, Code: "InternalError", Times: 3}, 4},
		{"retries a listing answered 503", publishtest.Fault{Method: http.MethodGet, Key: "", Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Times: 2}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.s3.Inject(tt.fault)
			e.publish(writeDist(t, site(1)))

			n := 0
			for _, r := range e.s3.Requests() {
				if r.Method == tt.fault.Method && r.Key == tt.fault.Key {
					n++
				}
			}
			if n != tt.want {
				t.Errorf("%d requests to %s %q, want %d (the faults, then success)", n, tt.fault.Method, tt.fault.Key, tt.want)
			}
			if diff := cmp.Diff(keysOf(site(1)), withoutManifests(e.keys())); diff != "" {
				t.Errorf("bucket (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBucketProblemsAreNamed(t *testing.T) {
	tests := []struct {
		name    string
		bucket  string
		fault   *publishtest.Fault
		wantErr error
		wantMsg string
	}{
		{"names a bucket that does not exist", "no-such-bucket", nil, publish.ErrBucketNotFound, "no-such-bucket"},
		{"names a listing that is denied", bucket, &publishtest.Fault{Method: http.MethodGet, Status: http.StatusForbidden, Code: "AccessDenied"}, publish.ErrAccessDenied, "s3:ListBucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.fault != nil {
				e.s3.Inject(*tt.fault)
			}
			p := e.publisher(writeDist(t, site(1)))
			p.Bucket = tt.bucket
			_, err := p.Publish(context.Background())
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("publish error = %v, want %v naming %q", err, tt.wantErr, tt.wantMsg)
			}
			if got := ops(e.s3.Requests(), "PUT", "DELETE-MULTI"); len(got) != 0 {
				t.Errorf("wrote %v", got)
			}
		})
	}
}

func TestBadDistIsRefusedBeforeAnyRequest(t *testing.T) {
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		wantMsg string
	}{
		{"refuses a missing directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "dist") }, "does not exist"},
		{"refuses a file instead of a directory", func(t *testing.T) string {
			return filepath.Join(writeDist(t, map[string]string{"x": ""}), "x")
		}, "not a directory"},
		{"refuses an empty directory", func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "empty"), 0o750); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "is empty"},
		{"refuses a directory without index.html", func(t *testing.T) string {
			return writeDist(t, map[string]string{"app/index.html": "", "main.js": ""})
		}, "no index.html"},
		{"refuses the reserved manifest prefix", func(t *testing.T) string {
			return writeDist(t, map[string]string{"index.html": "", "_releases/x.json": ""})
		}, "reserved"},
		{"refuses an unreadable file", func(t *testing.T) string {
			dir := writeDist(t, map[string]string{"index.html": ""})
			if err := os.Symlink(filepath.Join(dir, "gone.js"), filepath.Join(dir, "app.js")); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "read app.js"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.publisher(tt.dir(t)).Publish(context.Background())
			if !errors.Is(err, publish.ErrInvalidDist) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("publish error = %v, want ErrInvalidDist saying %q", err, tt.wantMsg)
			}
			if reqs := e.s3.Requests(); len(reqs) != 0 {
				t.Errorf("%d requests sent for a bad dist", len(reqs))
			}
		})
	}
}

func TestACancelledPublishReportsCancellation(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.publisher(writeDist(t, site(1))).Publish(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("publish error = %v, want context.Canceled", err)
	}
}

func withoutManifests(keys []string) []string {
	var out []string
	for _, k := range keys {
		if !strings.HasPrefix(k, publish.ReleasePrefix) {
			out = append(out, k)
		}
	}
	return out
}
