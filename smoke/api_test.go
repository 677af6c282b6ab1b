package smoke

import (
	"strings"
	"testing"
)

var jsonHeader = map[string]string{"Content-Type": "application/json"}

func TestHealthCheck(t *testing.T) {
	ok := reply{status: 200, body: "ok"}
	unavailable := reply{status: 503, body: "no healthy upstream"}
	tests := []struct {
		name     string
		replies  []reply
		want     outcome
		wantText []string
	}{
		{
			name:     "passes when /healthz answers 200",
			replies:  []reply{ok},
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"200"},
		},
		{
			name:    "passes on the third attempt after 503, 503, 200",
			replies: []reply{unavailable, unavailable, ok},
			want:    outcome{Passed: true, Attempts: 3},
		},
		{
			name:     "fails after every attempt when /healthz keeps answering 503",
			replies:  repeat(unavailable, 3),
			want:     outcome{Attempts: 3},
			wantText: []string{"gave up after 3 attempts", "503 Service Unavailable, want 2xx", `body starts "no healthy upstream"`},
		},
		{
			name:     "retries 429 and a bare 500",
			replies:  []reply{{status: 429}, {status: 500}, ok},
			want:     outcome{Passed: true, Attempts: 3},
			wantText: []string{"200"},
		},
		{
			name:     "fails at once on 404",
			replies:  []reply{{status: 404, body: "<html>Not Found</html>"}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"/healthz: 404 Not Found, want 2xx", `"<html>Not Found</html>"`},
		},
		{
			name:     "passes on 204 No Content",
			replies:  []reply{{status: 204}},
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"204"},
		},
		{
			name:     "fails at once on a 200 HTML maintenance page",
			replies:  []reply{{status: 200, header: map[string]string{"Content-Type": "text/html; charset=utf-8"}, body: "<!DOCTYPE html><title>Down for maintenance</title>"}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"HTML page", "maintenance page?"},
		},
		{
			name:     "fails at once on an HTML body without a content type",
			replies:  []reply{{status: 200, body: "<html><body>Sign in</body></html>"}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"HTML page"},
		},
		{
			name:     "fails at once on a redirect without following it",
			replies:  []reply{{status: 302, header: map[string]string{"Location": "/login"}}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"302", `"/login"`, "redirects are not followed"},
		},
		{
			name:     "gives up at once when Retry-After is beyond the deadline",
			replies:  []reply{{status: 503, header: map[string]string{"Retry-After": "3600"}}},
			want:     outcome{Attempts: 1},
			wantText: []string{"Retry-After 1h0m0s", "the next retry would pass the 1m0s deadline"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := scripted(t, tt.replies...)
			res := runOne(t.Context(), t, testPolicy(), HealthCheck{Service: "api", URL: srv.URL + "/healthz"})
			assertResult(t, res, tt.want, tt.wantText...)
			if got := int(hits.Load()); got != tt.want.Attempts {
				t.Errorf("server saw %d requests, want one per attempt (%d)", got, tt.want.Attempts)
			}
		})
	}
}

func TestOpenAPICheck(t *testing.T) {
	tests := []struct {
		name     string
		replies  []reply
		want     outcome
		wantText []string
	}{
		{
			name:     "passes on a document with openapi and paths",
			replies:  []reply{{status: 200, header: jsonHeader, body: `{"openapi":"3.1.0","info":{},"paths":{"/healthz":{},"/api/v1/experts":{}}}`}},
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"openapi 3.1.0, 2 paths"},
		},
		{
			name:     "fails at once on invalid JSON",
			replies:  []reply{{status: 200, header: map[string]string{"Content-Type": "text/html"}, body: "<!doctype html><p>maintenance"}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"not the JSON object wanted", "content type text/html", "invalid character '<'"},
		},
		{
			name:     "fails at once on a JSON array",
			replies:  []reply{{status: 200, header: jsonHeader, body: `[1,2]`}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"not the JSON object wanted"},
		},
		{
			name:     "fails when the document has no openapi version",
			replies:  []reply{{status: 200, header: jsonHeader, body: `{"swagger":"2.0","paths":{}}`}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{`no "openapi" version string`, `"paths", "swagger"`},
		},
		{
			name:     "fails when the document has no paths object",
			replies:  []reply{{status: 200, header: jsonHeader, body: `{"openapi":"3.1.0","paths":[]}`}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{`no "paths" object`},
		},
		{
			name:    "retries a 502 from the load balancer",
			replies: []reply{{status: 502}, {status: 200, header: jsonHeader, body: `{"openapi":"3.0.3","paths":{}}`}},
			want:    outcome{Passed: true, Attempts: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := scripted(t, tt.replies...)
			res := runOne(t.Context(), t, testPolicy(), OpenAPICheck{URL: srv.URL + "/openapi.json"})
			assertResult(t, res, tt.want, tt.wantText...)
		})
	}
}

func TestAuthRequiredCheck(t *testing.T) {
	const secret = `[{"name":"Ada Lovelace","email":"ada@example.com"}]`
	tests := []struct {
		name     string
		replies  []reply
		want     outcome
		wantText []string
	}{
		{
			name:     "passes when the endpoint answers 401",
			replies:  []reply{{status: 401, body: `{"detail":"Not authenticated"}`}},
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"401 without credentials"},
		},
		{
			name:     "fails at once as a security failure on 200",
			replies:  []reply{{status: 200, header: jsonHeader, body: secret}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"security:", "expected 401, got 200 application/json", "not protected"},
		},
		{
			name:     "says a 200 HTML page may be a maintenance page",
			replies:  []reply{{status: 200, header: map[string]string{"Content-Type": "text/html"}, body: "<!doctype html><p>Back soon</p>"}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"expected 401, got 200 text/html (a maintenance page?)"},
		},
		{
			name:     "fails at once as a security failure on 204",
			replies:  []reply{{status: 204}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"security:", "204"},
		},
		{
			name:     "fails at once on 403",
			replies:  []reply{{status: 403, body: "forbidden"}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"403 Forbidden, want 401 without credentials"},
		},
		{
			name:    "retries 503 while the service starts",
			replies: []reply{{status: 503}, {status: 401}},
			want:    outcome{Passed: true, Attempts: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := scripted(t, tt.replies...)
			res := runOne(t.Context(), t, testPolicy(), AuthRequiredCheck{URL: srv.URL + "/api/v1/experts"})
			assertResult(t, res, tt.want, tt.wantText...)
			if res.Err != nil && strings.Contains(res.Err.Error(), "ada@example.com") {
				t.Errorf("the failure repeats the unprotected data: %v", res.Err)
			}
		})
	}
}

func TestVersionCheck(t *testing.T) {
	version := func(body string) reply { return reply{status: 200, header: jsonHeader, body: body} }
	newRelease := version(`{"version":"1.4.2","git_sha":"3f2c9e1b7d0a4c55e6f7a8b9c0d1e2f3a4b5c6d7"}`)
	oldRelease := version(`{"version":"1.4.1","git_sha":"0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"}`)
	tests := []struct {
		name     string
		check    VersionCheck
		replies  []reply
		want     outcome
		wantText []string
	}{
		{
			name:     "passes when version and sha match",
			check:    VersionCheck{Version: "1.4.2", SHA: "3f2c9e1b7d0a4c55e6f7a8b9c0d1e2f3a4b5c6d7"},
			replies:  []reply{newRelease},
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"1.4.2 sha 3f2c9e1b7d0a"},
		},
		{
			name:    "passes on a v prefix and a short sha in upper case",
			check:   VersionCheck{Version: "v1.4.2", SHA: "3F2C9E1"},
			replies: []reply{newRelease},
			want:    outcome{Passed: true, Attempts: 1},
		},
		{
			name:    "passes when the server reports a short sha under commit",
			check:   VersionCheck{Version: "1.4.2", SHA: "3f2c9e1b7d0a4c55e6f7a8b9c0d1e2f3a4b5c6d7"},
			replies: []reply{version(`{"version":"v1.4.2","commit":"3f2c9e1"}`)},
			want:    outcome{Passed: true, Attempts: 1},
		},
		{
			name:     "passes on the wrong version then the right one",
			check:    VersionCheck{Version: "1.4.2", SHA: "3f2c9e1"},
			replies:  []reply{oldRelease, newRelease},
			want:     outcome{Passed: true, Attempts: 2},
			wantText: []string{"1.4.2"},
		},
		{
			name:    "fails after every attempt when the previous release keeps answering",
			check:   VersionCheck{Version: "1.4.2", SHA: "3f2c9e1"},
			replies: repeat(oldRelease, 3),
			want:    outcome{Attempts: 3},
			wantText: []string{"gave up after 3 attempts", "serves 1.4.1 sha 0a1b2c3d", "want 1.4.2 sha 3f2c9e1",
				"previous release may still be answering"},
		},
		{
			name:     "fails on a sha that differs after its first 7 digits",
			check:    VersionCheck{SHA: "3f2c9e1ffff"},
			replies:  repeat(newRelease, 3),
			want:     outcome{Attempts: 3},
			wantText: []string{"want any version sha 3f2c9e1ffff"},
		},
		{
			name:     "fails at once on a /version without a sha, naming the field",
			check:    VersionCheck{Version: "1.4.2", SHA: "3f2c9e1"},
			replies:  []reply{version(`{"version":"1.4.1"}`), newRelease},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"no git sha", `"git_sha"`},
		},
		{
			name:     "fails at once when the JSON has no version",
			check:    VersionCheck{Version: "1.4.2"},
			replies:  []reply{version(`{"build":"1.4.2"}`)},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{`no "version" string`, `"build"`},
		},
		{
			name:     "fails at once on invalid JSON",
			check:    VersionCheck{Version: "1.4.2"},
			replies:  []reply{{status: 200, body: "1.4.2"}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"not the JSON object wanted", "content type text/plain"},
		},
		{
			name:     "passes on any version when none is expected",
			replies:  []reply{oldRelease},
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"1.4.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := scripted(t, tt.replies...)
			check := tt.check
			check.URL = srv.URL + "/version"
			res := runOne(t.Context(), t, testPolicy(), check)
			assertResult(t, res, tt.want, tt.wantText...)
		})
	}
}

func TestSameSHA(t *testing.T) {
	tests := []struct {
		name      string
		got, want string
		same      bool
	}{
		{name: "equal full shas match", got: "3f2c9e1b7d", want: "3f2c9e1b7d", same: true},
		{name: "a short sha matches the full one", got: "3f2c9e1", want: "3f2c9e1b7d", same: true},
		{name: "case does not matter", got: "3F2C9E1", want: "3f2c9e1b7d", same: true},
		{name: "six digits are too few to match", got: "3f2c9e", want: "3f2c9e1b7d", same: false},
		{name: "an empty sha matches nothing", got: "", want: "3f2c9e1", same: false},
		{name: "different shas do not match", got: "3f2c9e2", want: "3f2c9e1b7d", same: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameSHA(tt.got, tt.want); got != tt.same {
				t.Errorf("sameSHA(%q, %q) = %v, want %v", tt.got, tt.want, got, tt.same)
			}
		})
	}
}
