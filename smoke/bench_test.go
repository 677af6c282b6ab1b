package smoke

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkTimeToVerdict measures how long the default policy takes to
// decide, for every check of every target, on a healthy deployment and on
// dead ones: nothing listening (connections refused) and a silent server
// (connections accepted, never answered). It reports seconds per verdict;
// the goal is under 1 s when healthy and within the 40 s deadline when dead.
//
//	go test ./smoke -run '^$' -bench TimeToVerdict -benchtime 1x
func BenchmarkTimeToVerdict(b *testing.B) {
	b.Run("healthy", func(b *testing.B) {
		api := httptest.NewServer(healthyAPI())
		b.Cleanup(api.Close)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
		mux.Handle("/mcp", &fakeMCP{mcpScript: mcpScript{sessionID: "s", tools: []string{"search_experts"}}, t: b})
		mcp := httptest.NewServer(mux)
		b.Cleanup(mcp.Close)
		site := httptest.NewServer(healthySite(nil))
		b.Cleanup(site.Close)
		benchVerdict(b, Targets{
			APIURL: api.URL, MCPURL: mcp.URL, MCPEndpoint: "/mcp", FrontendURL: site.URL,
			ExpectVersion: "1.4.2", ExpectSHA: "3f2c9e1",
		}, true)
	})
	b.Run("dead/refused", func(b *testing.B) {
		base := "http://" + closedAddr(b)
		benchVerdict(b, Targets{APIURL: base, MCPURL: base, MCPEndpoint: "/mcp", FrontendURL: base}, false)
	})
	b.Run("dead/silent", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { stall(b, r) }))
		b.Cleanup(srv.Close)
		benchVerdict(b, Targets{APIURL: srv.URL, MCPURL: srv.URL, MCPEndpoint: "/mcp", FrontendURL: srv.URL}, false)
	})
}

func benchVerdict(b *testing.B, targets Targets, wantPass bool) {
	b.Helper()
	checks, err := Plan(targets)
	if err != nil {
		b.Fatal(err)
	}
	runner := &Runner{} // the default policy, as deployctl runs it
	for b.Loop() {
		_, err := runner.Run(b.Context(), checks)
		if wantPass && err != nil {
			b.Fatalf("healthy target failed: %v", err)
		}
		if !wantPass && !errors.Is(err, ErrFailed) {
			b.Fatalf("dead target: error %v, want ErrFailed", err)
		}
	}
	perVerdict := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perVerdict, "s/verdict")
	fmt.Printf("time to verdict, %s: %.3f s (default policy, deadline %s)\n", b.Name(), perVerdict, DefaultDeadline)
}

// healthyAPI serves the API endpoints of release 1.4.2.
func healthyAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case PathHealth:
			fmt.Fprint(w, `{"status":"ok"}`)
		case PathOpenAPI:
			fmt.Fprint(w, `{"openapi":"3.1.0","paths":{"/api/v1/experts":{}}}`)
		case PathProtected:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"detail":"Not authenticated"}`)
		case PathVersion:
			fmt.Fprint(w, `{"version":"1.4.2","git_sha":"3f2c9e1b7d0a"}`)
		default:
			http.NotFound(w, r)
		}
	})
}
