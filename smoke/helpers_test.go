package smoke

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testPolicy retries three times with millisecond backoff.
func testPolicy() Policy {
	return Policy{
		Attempts:       3,
		Timeout:        5 * time.Second,
		Deadline:       time.Minute,
		InitialBackoff: time.Millisecond,
		MaxBackoff:     2 * time.Millisecond,
	}
}

// reply is one scripted response.
type reply struct {
	status int
	header map[string]string
	body   string
}

func (r reply) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(r.status)
	_, _ = w.Write([]byte(r.body))
}

// scripted starts a server that answers its nth request with replies[n]
// and fails the test on a request past the script. It returns the server
// and the count of requests it received.
func scripted(t *testing.T, replies ...reply) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1))
		if n > len(replies) {
			t.Errorf("request %d (%s %s) past the %d scripted replies", n, r.Method, r.URL.Path, len(replies))
			w.WriteHeader(http.StatusTeapot)
			return
		}
		replies[n-1].write(w)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func repeat(r reply, n int) []reply {
	out := make([]reply, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// outcome is what tests compare of a Result.
type outcome struct {
	Passed     bool
	Attempts   int
	Definitive bool
}

func outcomeOf(r Result) outcome {
	return outcome{Passed: r.Passed, Attempts: r.Attempts, Definitive: r.Definitive}
}

// runOne runs check alone and checks that the run's error agrees with its
// result.
func runOne(ctx context.Context, t *testing.T, p Policy, check Check) Result {
	t.Helper()
	report, err := (&Runner{Policy: p}).Run(ctx, []Check{check})
	if report == nil {
		t.Fatalf("Run returned no report (error %v)", err)
	}
	res := report.Results[0]
	if (err == nil) != res.Passed {
		t.Errorf("Run error is %v, but the check passed is %v", err, res.Passed)
	}
	if res.Passed != (res.Err == nil) {
		t.Errorf("result passed is %v with error %v", res.Passed, res.Err)
	}
	return res
}

// assertResult compares the outcome and requires every want string in the
// error (or the detail, when the check passed).
func assertResult(t *testing.T, res Result, want outcome, wantText ...string) {
	t.Helper()
	if diff := cmp.Diff(want, outcomeOf(res)); diff != "" {
		t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, res.Err)
	}
	text := res.Detail
	if res.Err != nil {
		text = res.Err.Error()
	}
	for _, s := range wantText {
		if !strings.Contains(text, s) {
			t.Errorf("result %q does not contain %q", text, s)
		}
	}
}
