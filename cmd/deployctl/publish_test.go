package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
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

// clients builds the publish clients against the fixture's servers, as
// publish.LoadClients would from AWS_ENDPOINT_URL_S3 and
// AWS_ENDPOINT_URL_CLOUDFRONT, and requires path-style addressing.
func (f *publishFixture) clients(t *testing.T) func(context.Context, publish.ClientOptions) (*publish.Clients, error) {
	return func(_ context.Context, opts publish.ClientOptions) (*publish.Clients, error) {
		if !opts.PathStyle {
			t.Error("AWS_S3_USE_PATH_STYLE=true did not turn on path-style addressing")
		}
		cfg := func(endpoint string) aws.Config {
			return aws.Config{
				Region:       "us-east-1",
				Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
				BaseEndpoint: aws.String(endpoint),
			}
		}
		return &publish.Clients{
			S3:         publish.NewClients(cfg(f.s3.URL), opts).S3,
			CloudFront: publish.NewClients(cfg(f.cf.URL), opts).CloudFront,
		}, nil
	}
}

// runPublishCmd runs deployctl publish-frontend against f, with the stack
// outputs outs (a read of a stack without outputs fails), recording the
// stacks read in calls.
func runPublishCmd(t *testing.T, f *publishFixture, outs stacks.Outputs, calls *[]string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	c := newTestCLI(t)
	c.Env = map[string]string{"AWS_S3_USE_PATH_STYLE": "true"}
	for k, v := range env {
		c.Env[k] = v
	}
	if f != nil {
		c.F.SiteClients = f.clients(t)
	}
	c.F.ReadOutputs = func(_ context.Context, dir, stack string) (stacks.Outputs, error) {
		if calls != nil {
			*calls = append(*calls, dir+" "+stack)
		}
		if outs == nil {
			return nil, errors.New("no stack " + stack)
		}
		return outs, nil
	}
	code = c.run(t.Context(), append([]string{"publish-frontend"}, args...)...)
	return code, c.Stdout(), c.Stderr()
}

func TestPublishFrontendPublishes(t *testing.T) {
	t.Parallel()
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
				return []string{"--dist", f.dir, "--bucket", publishTestBucket, "--distribution-id", publishTestDist}
			},
			wantOut: []string{"published release", "to bucket site-bucket: 3 uploaded", "3 path(s) invalidated"},
		},
		{
			name: "reads the bucket and distribution from the stack outputs",
			args: func(f *publishFixture) []string {
				return []string{"--dist", f.dir, "--stack", "dev", "--dir", repoRoot}
			},
			outputs: stacks.Outputs{
				stacks.OutputSiteBucketName:     publishTestBucket,
				stacks.OutputSiteDistributionID: publishTestDist,
				stacks.OutputSiteURL:            "https://dev.example.com",
			},
			wantCalls: []string{repoRoot + " dev"},
			wantOut:   []string{"to bucket site-bucket: 3 uploaded", "site: https://dev.example.com"},
		},
		{
			name: "lets explicit flags win over the stack outputs",
			args: func(f *publishFixture) []string {
				return []string{"--dist", f.dir, "--stack", "dev", "--dir", repoRoot, "--bucket", publishTestBucket}
			},
			outputs: stacks.Outputs{
				stacks.OutputSiteBucketName:     "other-bucket",
				stacks.OutputSiteDistributionID: publishTestDist,
			},
			wantCalls: []string{repoRoot + " dev"},
			wantOut:   []string{"to bucket site-bucket: 3 uploaded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newPublishFixture(t)
			var calls []string

			code, stdout, stderr := runPublishCmd(t, f, tt.outputs, &calls, nil, tt.args(f)...)

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
	t.Parallel()
	f := newPublishFixture(t)
	args := []string{"--dist", f.dir, "--bucket", publishTestBucket, "--distribution-id", publishTestDist, "--json"}

	code, stdout, stderr := runPublishCmd(t, f, nil, nil, nil, append(args, "--dry-run")...)
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
		code, stdout, stderr = runPublishCmd(t, f, nil, nil, nil, args...)
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
	t.Parallel()
	f := newPublishFixture(t)
	f.s3.Inject(publishtest.Fault{Method: http.MethodPut, Key: "robots.txt", Status: http.StatusForbidden, Code: "AccessDenied"})

	code, stdout, stderr := runPublishCmd(t, f, nil, nil, nil, "--dist", f.dir, "--bucket", publishTestBucket, "--distribution-id", publishTestDist)

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
	t.Parallel()
	f := newPublishFixture(t)
	f.cf.PendingPolls = 1 << 30 // never completes

	code, _, stderr := runPublishCmd(t, f, nil, nil, nil, "--dist", f.dir, "--bucket", publishTestBucket, "--distribution-id", publishTestDist, "--deadline", "2s")

	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr)
	}
	if !strings.Contains(stderr, "is live; wait for invalidation I0001") {
		t.Errorf("stderr does not say the release is live and the invalidation wait failed:\n%s", stderr)
	}
}

func TestPublishFrontendRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		outputs stacks.Outputs
		want    string
	}{
		{"refuses a missing --dist", []string{"--bucket", "b", "--distribution-id", "d"}, nil, nil, "--dist is required"},
		{"refuses a target without a stack or both ids", []string{"--dist", "DIST", "--bucket", "b"}, nil, nil, "give --stack NAME, or both --bucket and --distribution-id"},
		{"refuses a negative --retain", []string{"--dist", "DIST", "--bucket", "b", "--distribution-id", "d", "--retain", "-1"}, nil, nil, "--retain is -1"},
		{"refuses a zero --concurrency", []string{"--dist", "DIST", "--bucket", "b", "--distribution-id", "d", "--concurrency", "0"}, nil, nil, "--concurrency is 0"},
		{"refuses a malformed cache rule", []string{"--dist", "DIST", "--bucket", "b", "--distribution-id", "d", "--cache-control", "sw.js"}, nil, nil, "want PATTERN=CACHE-CONTROL"},
		{"refuses a malformed fingerprint pattern", []string{"--dist", "DIST", "--bucket", "b", "--distribution-id", "d", "--fingerprint", "("}, nil, nil, "--fingerprint"},
		{"refuses a path-style setting that is not a boolean", []string{"--dist", "DIST", "--bucket", "b", "--distribution-id", "d"}, map[string]string{"AWS_S3_USE_PATH_STYLE": "yes please"}, nil, "AWS_S3_USE_PATH_STYLE"},
		{"refuses positional arguments", []string{"--dist", "DIST", "extra"}, nil, nil, "unexpected argument"},
		{"refuses the --project-dir of older releases", []string{"--dist", "DIST", "--stack", "dev", "--project-dir", "."}, nil, nil, "unknown flag: --project-dir"},
		{"refuses a --dir without a Pulumi project", []string{"--dist", "DIST", "--stack", "dev", "--dir", "DIST"}, nil, nil, "holds no Pulumi.yaml"},
		{"refuses a stack name Pulumi refuses", []string{"--dist", "DIST", "--stack", "dev stack", "--dir", repoRoot}, nil, nil, `--stack "dev stack" is not a stack name`},
		{"names a stack output that is missing", []string{"--dist", "DIST", "--stack", "dev", "--dir", repoRoot}, nil, stacks.Outputs{stacks.OutputSiteBucketName: "b"}, `"siteDistributionId" is missing`},
		{"refuses a dist directory without index.html", []string{"--dist", "EMPTYDIST", "--bucket", publishTestBucket, "--distribution-id", publishTestDist}, nil, nil, "no index.html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newPublishFixture(t)
			noIndex := t.TempDir()
			if err := os.WriteFile(filepath.Join(noIndex, "app.js"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.NewReplacer("EMPTYDIST", noIndex, "DIST", f.dir).Replace(a)
			}

			code, stdout, stderr := runPublishCmd(t, f, tt.outputs, nil, tt.env, args...)

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
	t.Parallel()
	code, help, stderr := runPublishCmd(t, nil, nil, nil, nil, "--help")
	if code != exitOK || stderr != "" {
		t.Fatalf("--help: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		"--dist", "--stack", "--dir", "--bucket", "--distribution-id", "--retain", "--concurrency",
		"--cache-control PATTERN=VALUE", "--fingerprint RE", "--dry-run", "--json", "--deadline",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_CLOUDFRONT", "AWS_S3_USE_PATH_STYLE", "AWS_MAX_ATTEMPTS",
		"siteBucketName", "siteDistributionId", "_releases/", "Exit status",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

// TestPublishFrontendUsesTheSDKDefaultConfiguration publishes through the
// real client constructor, which reaches the local servers through the
// SDK's standard endpoint variables.
func TestPublishFrontendUsesTheSDKDefaultConfiguration(t *testing.T) {
	f := newPublishFixture(t)
	home := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3":         f.s3.URL,
		"AWS_ENDPOINT_URL_CLOUDFRONT": f.cf.URL,
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
	c := newTestCLI(t)
	c.Env = map[string]string{"AWS_S3_USE_PATH_STYLE": "true"}
	c.F.SiteClients = publish.LoadClients

	code := c.run(t.Context(), "publish-frontend", "--dist", f.dir, "--bucket", publishTestBucket, "--distribution-id", publishTestDist)

	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, c.Stderr())
	}
	if keys, err := f.s3.Keys(publishTestBucket); err != nil || len(keys) != 5 {
		t.Errorf("bucket holds %v (%v), want the 3 files, the release manifest and the live pointer", keys, err)
	}
}
