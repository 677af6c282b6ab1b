package publish_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/experts/platform/stacks/publish"
	"github.com/experts/platform/stacks/publish/publishtest"
)

const (
	bucket       = "site"
	distribution = "E2EXAMPLE"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is one test's S3 server, CloudFront fake and publisher settings.
type env struct {
	t   *testing.T
	s3  *publishtest.S3
	cf  *fakeCloudFront
	api *publish.Clients
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, err := publishtest.NewS3(t0, bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	e := &env{
		t:   t,
		s3:  srv,
		api: publish.NewClients(cfg, publish.ClientOptions{PathStyle: true, MaxBackoff: time.Millisecond}),
		now: t0,
	}
	e.cf = &fakeCloudFront{s3: srv}
	return e
}

// publisher returns a publisher of dir whose release clock advances one
// minute per call, like the S3 server's.
func (e *env) publisher(dir string) *publish.Publisher {
	e.now = e.now.Add(time.Minute)
	e.s3.Clock.Advance(time.Minute)
	now := e.now
	return &publish.Publisher{
		S3:             e.api.S3,
		CloudFront:     e.cf,
		Bucket:         bucket,
		DistributionID: distribution,
		Dir:            dir,
		Retain:         1,
		Concurrency:    4,
		Now:            func() time.Time { return now },
		WaitMinDelay:   time.Millisecond,
		WaitMaxDelay:   time.Millisecond,
		WaitTimeout:    time.Minute,
	}
}

func (e *env) publish(dir string) *publish.Result {
	e.t.Helper()
	res, err := e.publisher(dir).Publish(context.Background())
	if err != nil {
		e.t.Fatalf("publish %s: %v", dir, err)
	}
	return res
}

func (e *env) keys() []string {
	e.t.Helper()
	keys, err := e.s3.Keys(bucket)
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

func (e *env) objects() map[string]publishtest.Object {
	e.t.Helper()
	objs, err := e.s3.Objects(bucket)
	if err != nil {
		e.t.Fatal(err)
	}
	return objs
}

// writeDist writes files (key → content) into a new directory.
func writeDist(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for key, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// site returns the files of build n of a small app: hashed assets that
// change with n, a hashed asset shared by every build, entry files and HTML.
func site(n int) map[string]string {
	return map[string]string{
		"index.html":               fmt.Sprintf(`<script src="/%s"></script> build %d`, siteJS(n), n),
		"about/index.html":         fmt.Sprintf("about, build %d", n),
		siteJS(n):                  fmt.Sprintf("console.log(%d)", n),
		siteCSS(n):                 fmt.Sprintf("body{--build:%d}", n),
		"assets/logo-a1b2c3d4.svg": "<svg/>",
		"favicon.ico":              "icon",
		"robots.txt":               fmt.Sprintf("# build %d", n),
	}
}

func siteJS(n int) string  { return fmt.Sprintf("assets/index-b%07d.js", n) }
func siteCSS(n int) string { return fmt.Sprintf("assets/style.c%07d.css", n) }

func keysOf(files map[string]string) []string {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ops returns "METHOD key" for each request with the given operations, in
// arrival order, leaving out the requests on the lock (every publish takes
// and releases it; the lock tests look at those).
func ops(reqs []publishtest.Request, kinds ...string) []string {
	want := map[string]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].Started < reqs[j].Started })
	out := []string{}
	for _, r := range reqs {
		if want[r.Op()] && r.Key != publish.LockKey {
			out = append(out, r.Op()+" "+r.Key)
		}
	}
	return out
}

// fakeCloudFront implements publish.CloudFrontAPI. Each invalidation is
// InProgress for pending polls, then Completed. It notes how many S3
// requests had finished when each invalidation was created.
type fakeCloudFront struct {
	s3        *publishtest.S3
	mu        sync.Mutex
	pending   int
	createErr error
	created   []fakeInvalidation
}

type fakeInvalidation struct {
	id        string
	paths     []string
	polls     int
	s3Before  int // S3 requests finished before it was created
	completed bool
}

func (f *fakeCloudFront) CreateInvalidation(_ context.Context, in *cloudfront.CreateInvalidationInput, _ ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.createErr != nil {
		return nil, f.createErr
	}
	if aws.ToString(in.DistributionId) != distribution {
		return nil, fmt.Errorf("no such distribution %s", aws.ToString(in.DistributionId))
	}
	if int(aws.ToInt32(in.InvalidationBatch.Paths.Quantity)) != len(in.InvalidationBatch.Paths.Items) {
		return nil, fmt.Errorf("quantity %d for %d paths", aws.ToInt32(in.InvalidationBatch.Paths.Quantity), len(in.InvalidationBatch.Paths.Items))
	}
	reqs := f.s3.Requests()
	finished := 0
	for _, r := range reqs {
		finished = max(finished, r.Finished)
	}
	inv := fakeInvalidation{id: fmt.Sprintf("I%d", len(f.created)+1), paths: in.InvalidationBatch.Paths.Items, s3Before: finished}
	f.created = append(f.created, inv)
	return &cloudfront.CreateInvalidationOutput{Invalidation: &cftypes.Invalidation{Id: aws.String(inv.id), Status: aws.String("InProgress")}}, nil
}

func (f *fakeCloudFront) GetInvalidation(_ context.Context, in *cloudfront.GetInvalidationInput, _ ...func(*cloudfront.Options)) (*cloudfront.GetInvalidationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.created {
		inv := &f.created[i]
		if inv.id != aws.ToString(in.Id) {
			continue
		}
		inv.polls++
		status := "InProgress"
		if inv.polls > f.pending {
			status = "Completed"
			inv.completed = true
		}
		return &cloudfront.GetInvalidationOutput{Invalidation: &cftypes.Invalidation{Id: aws.String(inv.id), Status: aws.String(status)}}, nil
	}
	return nil, fmt.Errorf("no such invalidation %s", aws.ToString(in.Id))
}

func (f *fakeCloudFront) invalidations() []fakeInvalidation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeInvalidation(nil), f.created...)
}
