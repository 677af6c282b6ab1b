package smoke

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stall blocks a handler until the client gives up on the request or the
// test ends.
func stall(t testing.TB, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-t.Context().Done():
	}
}

func TestHostileServers(t *testing.T) {
	short := testPolicy()
	short.Timeout = 50 * time.Millisecond
	short.Attempts = 2
	tests := []struct {
		name     string
		policy   Policy
		handler  func(t *testing.T) http.HandlerFunc
		tls      bool
		want     outcome
		wantText []string
	}{
		{
			name:   "retries then fails a server that stalls after the headers",
			policy: short,
			handler: func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
					stall(t, r)
				}
			},
			want:     outcome{Attempts: 2},
			wantText: []string{"gave up after 2 attempts", "headers arrived but the body did not complete within the 50ms request timeout"},
		},
		{
			name:   "retries then fails a server that never sends headers",
			policy: short,
			handler: func(t *testing.T) http.HandlerFunc {
				return func(_ http.ResponseWriter, r *http.Request) { stall(t, r) }
			},
			want:     outcome{Attempts: 2},
			wantText: []string{"gave up after 2 attempts", "no response within the 50ms request timeout"},
		},
		{
			name:   "fails at once on an endless body",
			policy: Policy{MaxBodyBytes: 1 << 10, InitialBackoff: time.Millisecond},
			handler: func(_ *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					chunk := []byte(strings.Repeat("x", 512))
					for {
						if _, err := w.Write(chunk); err != nil {
							return
						}
					}
				}
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"body exceeds the 1 KiB limit"},
		},
		{
			name:   "fails at once on a redirect loop",
			policy: testPolicy(),
			handler: func(_ *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "/healthz", http.StatusFound)
				}
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"stopped after 5 redirects", "redirect loop"},
		},
		{
			name:   "fails at once on a certificate that does not verify",
			policy: testPolicy(),
			tls:    true,
			handler: func(_ *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"TLS handshake failed", "certificate"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(tt.handler(t))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point
			if tt.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			// The OpenAPI check follows redirects (the health check never does).
			res := runOne(t.Context(), t, tt.policy, OpenAPICheck{URL: srv.URL + "/healthz"})
			assertResult(t, res, tt.want, tt.wantText...)
		})
	}
}

func TestRedirectsFollowedAreBounded(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/healthz", http.StatusMovedPermanently)
	}))
	t.Cleanup(srv.Close)
	p := testPolicy()
	p.MaxRedirects = 2
	res := runOne(t.Context(), t, p, OpenAPICheck{URL: srv.URL + "/healthz"})
	assertResult(t, res, outcome{Attempts: 1, Definitive: true}, "stopped after 2 redirects")
	if got := hits.Load(); got != 3 {
		t.Errorf("server saw %d requests, want 3 (the request and 2 redirects)", got)
	}
}

func TestRedirectThatLeavesHTTPSIsRefused(t *testing.T) {
	check := checkRedirect(5)
	from := &http.Request{URL: &url.URL{Scheme: "https", Host: "api.example.com", Path: "/healthz"}}
	tests := []struct {
		name    string
		to      string
		wantErr string
	}{
		{name: "refuses https to http", to: "http://api.example.com/healthz", wantErr: "leaves HTTPS"},
		{name: "follows https to https on another host", to: "https://api2.example.com/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, err := url.Parse(tt.to)
			if err != nil {
				t.Fatal(err)
			}
			err = check(&http.Request{URL: to}, []*http.Request{from})
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("checkRedirect = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("checkRedirect = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestPlainHTTPServerOnHTTPSURLFailsAtOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL, "http://", "https://", 1)
	res := runOne(t.Context(), t, testPolicy(), HealthCheck{Service: "api", URL: u + "/healthz"})
	assertResult(t, res, outcome{Attempts: 1, Definitive: true}, "TLS handshake failed", "plain HTTP on an https URL")
}

func TestRefusedConnectionIsRetried(t *testing.T) {
	addr := closedAddr(t)
	res := runOne(t.Context(), t, testPolicy(), HealthCheck{Service: "api", URL: "http://" + addr + "/healthz"})
	assertResult(t, res, outcome{Attempts: 3}, "gave up after 3 attempts", "connection refused")
}

// closedAddr returns a local address on which nothing listens.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestOverallDeadlineEndsAStalledCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { stall(t, r) }))
	t.Cleanup(srv.Close)
	p := testPolicy()
	p.Timeout = time.Hour
	p.Deadline = 100 * time.Millisecond
	report, err := (&Runner{Policy: p}).Run(t.Context(), []Check{HealthCheck{Service: "api", URL: srv.URL + "/healthz"}})
	if !errors.Is(err, ErrFailed) {
		t.Errorf("Run error = %v, want ErrFailed", err)
	}
	assertResult(t, report.Results[0], outcome{Attempts: 1},
		"overall deadline of 100ms reached during the first attempt", "stopped waiting for the response headers")
}

func TestOverallDeadlineReportsTheLastFailure(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		stall(t, r)
	}))
	t.Cleanup(srv.Close)
	p := testPolicy()
	p.Timeout = time.Hour
	p.Deadline = 200 * time.Millisecond
	res := runOne(t.Context(), t, p, HealthCheck{Service: "api", URL: srv.URL + "/healthz"})
	assertResult(t, res, outcome{Attempts: 2}, "overall deadline of 200ms reached after 2 attempts", "last failure", "502 Bad Gateway")
}

func TestCanceledContext(t *testing.T) {
	t.Run("yields context.Canceled when canceled during a request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			cancel()
			stall(t, r)
		}))
		t.Cleanup(srv.Close)
		checks := []Check{HealthCheck{Service: "api", URL: srv.URL + "/healthz"}, OpenAPICheck{URL: srv.URL + "/openapi.json"}}
		report, err := (&Runner{Policy: testPolicy()}).Run(ctx, checks)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", err)
		}
		if errors.Is(err, ErrFailed) {
			t.Errorf("Run error = %v, want an interruption, not a failed check", err)
		}
		for _, res := range report.Results {
			if res.Passed || !errors.Is(res.Err, context.Canceled) {
				t.Errorf("%s: passed %v, error %v, want context.Canceled", res.Check, res.Passed, res.Err)
			}
		}
	})
	t.Run("yields context.Canceled when canceled between attempts", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		srv, _ := scripted(t, reply{status: http.StatusServiceUnavailable})
		p := testPolicy()
		p.InitialBackoff, p.MaxBackoff = time.Hour, time.Hour
		p.Deadline = 2 * time.Hour
		// Cancel when the runner announces the wait before attempt 2.
		logger := slog.New(&onRecord{match: "retrying", do: cancel})
		report, err := (&Runner{Policy: p, Logger: logger}).Run(ctx, []Check{HealthCheck{Service: "api", URL: srv.URL + "/healthz"}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", err)
		}
		assertResult(t, report.Results[0], outcome{Attempts: 1}, "interrupted after 1 attempt", "context canceled", "503")
	})
	t.Run("yields context.Canceled without a request when already canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		srv, hits := scripted(t)
		_, err := (&Runner{}).Run(ctx, []Check{HealthCheck{Service: "api", URL: srv.URL + "/healthz"}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", err)
		}
		if got := hits.Load(); got != 0 {
			t.Errorf("server saw %d requests, want none", got)
		}
	})
}

// onRecord is a log handler that calls do on each record whose message
// contains match.
type onRecord struct {
	match string
	do    func()
}

func (h *onRecord) Enabled(context.Context, slog.Level) bool { return true }
func (h *onRecord) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *onRecord) WithGroup(string) slog.Handler            { return h }
func (h *onRecord) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.match) {
		h.do()
	}
	return nil
}

func TestRunReportsEveryCheckInOrder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(http.StatusOK)
		case "/api/v1/experts":
			w.WriteHeader(http.StatusOK) // unprotected
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	checks := []Check{
		HealthCheck{Service: "api", URL: srv.URL + "/healthz"},
		AuthRequiredCheck{URL: srv.URL + "/api/v1/experts"},
		OpenAPICheck{URL: srv.URL + "/openapi.json"},
	}
	report, err := (&Runner{Policy: testPolicy()}).Run(t.Context(), checks)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Run error = %v, want ErrFailed", err)
	}
	if want := "smoke checks failed: 2 of 3 (api/auth-required, api/openapi)"; err.Error() != want {
		t.Errorf("Run error = %q, want %q", err, want)
	}
	type row struct {
		Check  string
		Passed bool
	}
	var got []row
	for _, res := range report.Results {
		got = append(got, row{res.Check, res.Passed})
	}
	want := []row{{"api/healthz", true}, {"api/auth-required", false}, {"api/openapi", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if report.Passed() {
		t.Error("report passed, want failed")
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		runner  Runner
		checks  []Check
		wantErr string
	}{
		{name: "refuses an empty list of checks", wantErr: "no smoke checks"},
		{
			name:    "refuses a negative attempt count",
			runner:  Runner{Policy: Policy{Attempts: -1}},
			checks:  []Check{HealthCheck{Service: "api", URL: "http://127.0.0.1:1/healthz"}},
			wantErr: "attempts is -1",
		},
		{
			name:    "refuses a max backoff below the initial backoff",
			runner:  Runner{Policy: Policy{InitialBackoff: time.Second, MaxBackoff: time.Millisecond}},
			checks:  []Check{HealthCheck{Service: "api", URL: "http://127.0.0.1:1/healthz"}},
			wantErr: "max backoff 1ms is less than initial backoff 1s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := tt.runner.Run(t.Context(), tt.checks)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run error = %v, want one containing %q", err, tt.wantErr)
			}
			if report != nil {
				t.Errorf("Run returned a report for bad input: %+v", report)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		want   time.Duration
	}{
		{name: "reads seconds", header: "7", want: 7 * time.Second},
		{name: "reads an HTTP date", header: "Sun, 01 Mar 2026 12:00:30 GMT", want: 30 * time.Second},
		{name: "ignores a date in the past", header: "Sun, 01 Mar 2026 11:00:00 GMT"},
		{name: "ignores zero", header: "0"},
		{name: "ignores a negative number", header: "-5"},
		{name: "ignores garbage", header: "soon"},
		{name: "ignores an absent header"},
		{name: "caps an absurd number at a day", header: "99999999999", want: 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.header, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.header, got, tt.want)
			}
		})
	}
}

func TestPolicyDefaults(t *testing.T) {
	want := Policy{
		Attempts:       5,
		Timeout:        5 * time.Second,
		Deadline:       40 * time.Second,
		InitialBackoff: 500 * time.Millisecond,
		MaxBackoff:     8 * time.Second,
		MaxBodyBytes:   4 << 20,
		MaxRedirects:   5,
	}
	if diff := cmp.Diff(want, DefaultPolicy()); diff != "" {
		t.Errorf("DefaultPolicy (-want +got):\n%s", diff)
	}
}
