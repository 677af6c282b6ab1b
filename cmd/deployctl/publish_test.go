package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/publish"
	"github.com/experts/platform/stacks/publish/publishtest"
)

const (
	publishTestBucket = "site-bucket"
	publishTestDist   = "E1DIST"
)

// publishFixture is a local S3 server and CloudFront fake that the SDK's
// default configuration reaches through its standard endpoint variables.
type publishFixture struct {
	s3  *publishtest.S3
	cf  *publishtest.CloudFront
	dir string
}

func newPublishFixture(t *testing.T) *publishFixture {
	t.Helper()
	srv, err := publishtest.NewS3(time.Time{}, publishTestBucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cf := publishtest.NewCloudFront(publishTestDist)
	t.Cleanup(cf.Close)
	home := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3":         srv.URL,
		"AWS_ENDPOINT_URL_CLOUDFRONT": cf.URL,
		"AWS_S3_USE_PATH_STYLE":       "true",
		"AWS_ACCESS_KEY_ID":           "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_PROFILE":                 "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_MAX_ATTEMPTS":            "",
	} {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	for key, body := range map[string]string{
		"index.html":               `<script src="/assets/index-Dk3x9QaZ.js"></script>`,
		"assets/index-Dk3x9QaZ.js": "console.log(1)",
		"robots.txt":               "",
	} {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &publishFixture{s3: srv, cf: cf, dir: dir}
}

func runPublishCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"publish-frontend"}, args...),
		&streams{stdout: &out, stderr: &errOut, getenv: os.Getenv})
	return code, out.String(), errOut.String()
}

// stubPublishOutputs makes --stack read outs, recording the call.
func stubPublishOutputs(t *testing.T, outs stacks.Outputs, calls *[]string) {
	t.Helper()
	saved := publishReadOutputs
	t.Cleanup(func() { publishReadOutputs = saved })
	publishReadOutputs = func(_ context.Context, dir, stack string) (stacks.Outputs, error) {
		*calls = append(*calls, dir+" "+stack)
		if outs == nil {
			return nil, errors.New("no stack " + stack)
		}
		return outs, nil
	}
}

func TestPublishFrontendPublishes(t *testing.T) {
	tests := []struct {
		name      string
		args      func(f *publishFixture) []string
		outputs   stacks.Outputs
		wantCalls []string
		wantOut   []string
	}{
		{
			name: "publishes to the bucket and distribution given as flags",
			args: func(f *publishFixture) []string {
				return []string{"--dir", f.dir, "--bucket", publishTestBucket, "--distribution-id", publishTestDist}
			},
			wantOut: []string{"published release", "to bucket site-bucket: 3 uploaded", "3 path(s) invalidated"},
		},
		{
			name: "reads the bucket and distribution from the stack outputs",
			args: func(f *publishFixture) []string {
				return []string{"--dir", f.dir, "--stack", "dev", "--project-dir", "/repo"}
			},
			outputs: stacks.Outputs{
				stacks.OutputSiteBucketName:     publishTestBucket,
				stacks.OutputSiteDistributionID: publishTestDist,
				stacks.OutputSiteURL:            "https://dev.example.com",
			},
			wantCalls: []string{"/repo dev"},
			wantOut:   []string{"to bucket site-bucket: 3 uploaded", "site: https://dev.example.com"},
		},
		{
			name: "lets explicit flags win over the stack outputs",
			args: func(f *publishFixture) []string {
				return []string{"--dir", f.dir, "--stack", "dev", "--bucket", publishTestBucket}
			},
			outputs: stacks.Outputs{
				stacks.OutputSiteBucketName:     "other-bucket",
				stacks.OutputSiteDistributionID: publishTestDist,
			},
			wantCalls: []string{". dev"},
			wantOut:   []string{"to bucket site-bucket: 3 uploaded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPublishFixture(t)
			var calls []string
			stubPublishOutputs(t, tt.outputs, &calls)

			code, stdout, stderr := runPublishCmd(t, tt.args(f)...)

			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout %q does not contain %q", stdout, want)
				}
			}
			if diff := cmp.Diff(tt.wantCalls, calls); diff != "" {
				t.Errorf("stack output reads (-want +got):\n%s", diff)
			}
			if !strings.Contains(stderr, "msg=uploaded key=index.html") {
				t.Errorf("stderr has no progress line for index.html:\n%s", stderr)
			}
			objs, err := f.s3.Objects(publishTestBucket)
			if err != nil {
				t.Fatal(err)
			}
			if got := objs["assets/index-Dk3x9QaZ.js"].CacheControl; got != publish.CacheImmutable {
				t.Errorf("asset stored with Cache-Control %q, want %q", got, publish.CacheImmutable)
			}
			invs := f.cf.Invalidations()
			if len(invs) != 1 || invs[0].DistributionID != publishTestDist {
				t.Fatalf("invalidations = %+v, want one on %s", invs, publishTestDist)
			}
			if diff := cmp.Diff([]string{"/", "/index.html", "/robots.txt"}, invs[0].Paths); diff != "" {
				t.Errorf("invalidated paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPublishFrontendJSONAndDryRun(t *testing.T) {
	f := newPublishFixture(t)
	args := []string{"--dir", f.dir, "--bucket", publishTestBucket, "--distribution-id", publishTestDist, "--json"}

	code, stdout, stderr := runPublishCmd(t, append(args, "--dry-run")...)
	if code != exitOK {
		t.Fatalf("dry run exit %d, stderr:\n%s", code, stderr)
	}
	var plan struct {
		Uploads []struct {
			Key   string `json:"key"`
			Phase string `json:"phase"`
		} `json:"uploads"`
		Invalidate []string `json:"invalidate"`
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("dry run stdout is not JSON: %v\n%s", err, stdout)
	}
	wantUploads := []string{"assets/index-Dk3x9QaZ.js assets", "robots.txt other files", "index.html html"}
	var gotUploads []string
	for _, u := range plan.Uploads {
		gotUploads = append(gotUploads, u.Key+" "+u.Phase)
	}
	if diff := cmp.Diff(wantUploads, gotUploads); diff != "" {
		t.Errorf("planned uploads (-want +got):\n%s", diff)
	}
	if keys, err := f.s3.Keys(publishTestBucket); err != nil || len(keys) != 0 || len(f.cf.Invalidations()) != 0 {
		t.Fatalf("dry run changed something: keys %v (%v), invalidations %v", keys, err, f.cf.Invalidations())
	}

	for i, wantUploaded := range []int{3, 0} {
		code, stdout, stderr = runPublishCmd(t, args...)
		if code != exitOK {
			t.Fatalf("publish %d exit %d, stderr:\n%s", i+1, code, stderr)
		}
		var res struct {
			Release   string   `json:"release"`
			Uploaded  []string `json:"uploaded"`
			Skipped   int      `json:"skipped"`
			Unchanged bool     `json:"unchanged"`
			Seconds   *float64 `json:"seconds"`
		}
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("publish %d stdout is not JSON: %v\n%s", i+1, err, stdout)
		}
		if len(res.Uploaded) != wantUploaded || res.Skipped != 3-wantUploaded || res.Unchanged != (wantUploaded == 0) || res.Seconds == nil || res.Release == "" {
			t.Errorf("publish %d result = %+v, want %d uploaded, %d skipped", i+1, res, wantUploaded, 3-wantUploaded)
		}
	}
}

func TestPublishFrontendFailureSaysWhatWasUploaded(t *testing.T) {
	f := newPublishFixture(t)
	f.s3.Inject(publishtest.Fault{Method: http.MethodPut, Key: "robots.txt", Status: http.StatusForbidden, Code: "AccessDenied"})

	code, stdout, stderr := runPublishCmd(t, "--dir", f.dir, "--bucket", publishTestBucket, "--distribution-id", publishTestDist)

	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr)
	}
	for _, want := range []string{"uploaded      assets/index-Dk3x9QaZ.js", "not uploaded  index.html", "not uploaded  robots.txt"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout does not list %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{"no new HTML was uploaded", "access denied", "robots.txt"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if keys, _ := f.s3.Keys(publishTestBucket); cmp.Diff([]string{"assets/index-Dk3x9QaZ.js"}, keys) != "" {
		t.Errorf("bucket holds %v, want only the asset", keys)
	}
}

func TestPublishFrontendGivesUpAtTheDeadline(t *testing.T) {
	f := newPublishFixture(t)
	f.cf.PendingPolls = 1 << 30 // never completes

	code, _, stderr := runPublishCmd(t, "--dir", f.dir, "--bucket", publishTestBucket, "--distribution-id", publishTestDist, "--deadline", "2s")

	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr)
	}
	if !strings.Contains(stderr, "is live; wait for invalidation I0001") {
		t.Errorf("stderr does not say the release is live and the invalidation wait failed:\n%s", stderr)
	}
}

func TestPublishFrontendRefusesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		outputs stacks.Outputs
		want    string
	}{
		{"refuses a missing --dir", []string{"--bucket", "b", "--distribution-id", "d"}, nil, nil, "--dir is required"},
		{"refuses a target without a stack or both ids", []string{"--dir", "DIST", "--bucket", "b"}, nil, nil, "give --stack NAME, or both --bucket and --distribution-id"},
		{"refuses a negative --retain", []string{"--dir", "DIST", "--bucket", "b", "--distribution-id", "d", "--retain", "-1"}, nil, nil, "--retain is -1"},
		{"refuses a zero --concurrency", []string{"--dir", "DIST", "--bucket", "b", "--distribution-id", "d", "--concurrency", "0"}, nil, nil, "--concurrency is 0"},
		{"refuses a malformed cache rule", []string{"--dir", "DIST", "--bucket", "b", "--distribution-id", "d", "--cache-control", "sw.js"}, nil, nil, "want PATTERN=CACHE-CONTROL"},
		{"refuses a malformed fingerprint pattern", []string{"--dir", "DIST", "--bucket", "b", "--distribution-id", "d", "--fingerprint", "("}, nil, nil, "--fingerprint"},
		{"refuses a path-style setting that is not a boolean", []string{"--dir", "DIST", "--bucket", "b", "--distribution-id", "d"}, map[string]string{"AWS_S3_USE_PATH_STYLE": "yes please"}, nil, "AWS_S3_USE_PATH_STYLE"},
		{"refuses positional arguments", []string{"--dir", "DIST", "extra"}, nil, nil, "unexpected argument"},
		{"names a stack output that is missing", []string{"--dir", "DIST", "--stack", "dev"}, nil, stacks.Outputs{stacks.OutputSiteBucketName: "b"}, `"siteDistributionId" is missing`},
		{"refuses a dist directory without index.html", []string{"--dir", "EMPTYDIST", "--bucket", publishTestBucket, "--distribution-id", publishTestDist}, nil, nil, "no index.html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPublishFixture(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var calls []string
			stubPublishOutputs(t, tt.outputs, &calls)
			noIndex := t.TempDir()
			if err := os.WriteFile(filepath.Join(noIndex, "app.js"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.NewReplacer("EMPTYDIST", noIndex, "DIST", f.dir).Replace(a)
			}

			code, stdout, stderr := runPublishCmd(t, args...)

			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if reqs := f.s3.Requests(); len(reqs) != 0 {
				t.Errorf("%d S3 requests sent", len(reqs))
			}
		})
	}
}

func TestPublishFrontendHelpListsEveryFlagAndSetting(t *testing.T) {
	code, stdout, stderr := runPublishCmd(t, "--help")
	if code != exitOK || stdout != "" {
		t.Fatalf("--help: exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{
		"-dir", "-stack", "-project-dir", "-bucket", "-distribution-id", "-retain", "-concurrency",
		"-cache-control", "-fingerprint", "-dry-run", "-json", "-deadline",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_CLOUDFRONT", "AWS_S3_USE_PATH_STYLE", "AWS_MAX_ATTEMPTS",
		"siteBucketName", "siteDistributionId", "_releases/", "Exit status",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}
