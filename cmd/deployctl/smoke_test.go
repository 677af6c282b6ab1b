package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// smokeDeployment serves every endpoint that deployctl smoke checks, as a
// healthy release 1.4.2 would; edit changes the answer for one path.
func smokeDeployment(t *testing.T, edit map[string]http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	mux := http.NewServeMux()
	handle := func(pattern, path string, h http.HandlerFunc) {
		if e, ok := edit[path]; ok {
			h = e
		}
		mux.HandleFunc(pattern, h)
	}
	handle("GET /healthz", "/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	handle("GET /openapi.json", "/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"openapi":"3.1.0","paths":{"/api/v1/experts":{}}}`)
	})
	handle("GET /api/v1/experts", "/api/v1/experts", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"detail":"Not authenticated"}`, http.StatusUnauthorized)
	})
	handle("GET /version", "/version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"version":"1.4.2","git_sha":"3f2c9e1b7d0a"}`)
	})
	handle("POST /mcp", "/mcp", smokeMCP)
	handle("DELETE /mcp", "/mcp", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	handle("GET /{$}", "/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, `<!doctype html><script type="module" src="/assets/index-3f2c9e1a.js"></script>`)
	})
	handle("GET /assets/index-3f2c9e1a.js", "/assets/index-3f2c9e1a.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		fmt.Fprint(w, "export {}")
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// smokeMCP answers MCP JSON-RPC messages with JSON.
func smokeMCP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var result string
	switch msg.Method {
	case "initialize":
		w.Header().Set("Mcp-Session-Id", "session-1")
		result = `{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"experts-mcp","version":"1.4.2"}}`
	case "notifications/initialized":
		w.WriteHeader(http.StatusAccepted)
		return
	case "tools/list":
		if r.Header.Get("Mcp-Session-Id") != "session-1" {
			http.Error(w, "no session", http.StatusBadRequest)
			return
		}
		result = `{"tools":[{"name":"search_experts","inputSchema":{"type":"object"}}]}`
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, msg.ID, result)
}

func runSmokeCLI(ctx context.Context, t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	c := newTestCLI(t)
	c.Env = env
	code = c.run(ctx, append([]string{"smoke"}, args...)...)
	return code, c.Stdout(), c.Stderr()
}

func TestSmokeCommand(t *testing.T) {
	t.Parallel()
	unprotected := map[string]http.HandlerFunc{"/api/v1/experts": func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `[{"name":"Ada"}]`)
	}}
	tests := []struct {
		name       string
		edit       map[string]http.HandlerFunc
		args       func(url string) []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{
			name: "passes every check of a healthy deployment",
			args: func(u string) []string {
				return []string{"--api-url", u, "--mcp-url", u, "--mcp-endpoint", "/mcp", "--frontend-url", u,
					"--expect-version", "1.4.2", "--expect-sha", "3f2c9e1"}
			},
			wantCode: exitOK,
			wantStdout: []string{"PASS  api/healthz", "PASS  api/version", "1.4.2 sha 3f2c9e1b7d0a", "PASS  mcp/tools",
				"1 tool: search_experts", "PASS  frontend/assets", "smoke passed: 8 of 8 checks"},
			wantStderr: []string{"smoke checks starting", "checks=8", "smoke check passed"},
		},
		{
			name:       "fails at once when the protected endpoint answers 200",
			edit:       unprotected,
			args:       func(u string) []string { return []string{"--api-url", u} },
			wantCode:   exitFailed,
			wantStdout: []string{"FAIL  api/auth-required", "security:", "not protected", "smoke FAILED: 3 of 4 checks passed"},
			wantStderr: []string{"deployctl smoke: smoke checks failed: 1 of 4 (api/auth-required)"},
		},
		{
			name: "fails when /version reports another release",
			args: func(u string) []string {
				return []string{"--api-url", u, "--expect-version", "1.5.0", "--attempts", "1"}
			},
			wantCode:   exitFailed,
			wantStdout: []string{"FAIL  api/version", "gave up after 1 attempt", "serves 1.4.2 sha 3f2c9e1b7d0a, want 1.5.0"},
			wantStderr: []string{"smoke checks failed: 1 of 4 (api/version)"},
		},
		{
			name: "ends by the deadline when a server never answers",
			edit: map[string]http.HandlerFunc{"/healthz": func(_ http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			}},
			args:       func(u string) []string { return []string{"--mcp-url", u, "--timeout", "1h", "--deadline", "100ms"} },
			wantCode:   exitFailed,
			wantStdout: []string{"FAIL  mcp/healthz", "overall deadline of 100ms reached during the first attempt"},
			wantStderr: []string{"smoke check failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := smokeDeployment(t, tt.edit)
			code, stdout, stderr := runSmokeCLI(t.Context(), t, nil, tt.args(srv.URL)...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, s := range tt.wantStdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout does not contain %q:\n%s", s, stdout)
				}
			}
			for _, s := range tt.wantStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr does not contain %q:\n%s", s, stderr)
				}
			}
		})
	}
}

func TestSmokeCommandRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    func(url string) []string
		wantErr []string
	}{
		{name: "refuses to run without a target", args: func(string) []string { return nil }, wantErr: []string{"no target"}},
		{name: "refuses a URL with another scheme", args: func(string) []string { return []string{"--api-url", "ftp://api.example.com"} }, wantErr: []string{"scheme must be https or http"}},
		{name: "refuses a URL without a scheme", args: func(string) []string { return []string{"--frontend-url", "app.example.com"} }, wantErr: []string{`frontend URL "app.example.com"`}},
		{name: "refuses zero attempts", args: func(u string) []string { return []string{"--api-url", u, "--attempts", "0"} }, wantErr: []string{"--attempts must be 1 or more"}},
		{name: "refuses a zero timeout", args: func(u string) []string { return []string{"--api-url", u, "--timeout", "0s"} }, wantErr: []string{"--timeout must be positive"}},
		{name: "refuses a negative deadline", args: func(u string) []string { return []string{"--api-url", u, "--deadline", "-1s"} }, wantErr: []string{"--deadline must be positive"}},
		{name: "refuses a version that is not semver", args: func(u string) []string { return []string{"--api-url", u, "--expect-version", "latest"} }, wantErr: []string{`expected version "latest"`}},
		{name: "refuses an expected sha without the API", args: func(u string) []string { return []string{"--frontend-url", u, "--expect-sha", "3f2c9e1"} }, wantErr: []string{"needs the API URL"}},
		{name: "refuses a positional argument", args: func(u string) []string { return []string{"--api-url", u, "extra"} }, wantErr: []string{`unexpected argument "extra"`, "see 'deployctl smoke --help'"}},
		{name: "refuses an unknown flag", args: func(u string) []string { return []string{"--api", u} }, wantErr: []string{"unknown flag: --api\nsee 'deployctl smoke --help'"}},
		{
			name:    "reports every problem at once",
			args:    func(string) []string { return []string{"--api-url", "x", "--attempts", "0"} },
			wantErr: []string{"--attempts must be 1 or more", `API URL "x"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, hits := smokeDeployment(t, nil)
			code, stdout, stderr := runSmokeCLI(t.Context(), t, nil, tt.args(srv.URL)...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, exitUsage, stderr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr does not contain %q:\n%s", s, stderr)
				}
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the deployment saw %d requests, want none", n)
			}
		})
	}
}

func TestSmokeCommandReports(t *testing.T) {
	t.Parallel()
	srv, _ := smokeDeployment(t, map[string]http.HandlerFunc{"/api/v1/experts": func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}})
	dir := t.TempDir()
	junitPath := filepath.Join(dir, "reports", "smoke.xml")
	summaryPath := filepath.Join(dir, "step-summary.md")
	if err := os.WriteFile(summaryPath, []byte("## Deploy api\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GITHUB_STEP_SUMMARY": summaryPath}

	code, stdout, stderr := runSmokeCLI(t.Context(), t, env, "--api-url", srv.URL, "--json", "--junit", junitPath)
	if code != exitFailed {
		t.Fatalf("exit code %d, want %d\nstderr:\n%s", code, exitFailed, stderr)
	}

	t.Run("prints the report as JSON on stdout", func(t *testing.T) {
		var got struct {
			Passed bool `json:"passed"`
			Checks []struct {
				Name       string `json:"name"`
				Passed     bool   `json:"passed"`
				Definitive bool   `json:"definitive"`
			} `json:"checks"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
		}
		type check struct {
			Name               string
			Passed, Definitive bool
		}
		var checks []check
		for _, c := range got.Checks {
			checks = append(checks, check{c.Name, c.Passed, c.Definitive})
		}
		want := []check{{"api/healthz", true, false}, {"api/openapi", true, false}, {"api/auth-required", false, true}, {"api/version", true, false}}
		if diff := cmp.Diff(want, checks); diff != "" || got.Passed {
			t.Errorf("passed %v, checks (-want +got):\n%s", got.Passed, diff)
		}
	})
	t.Run("writes JUnit XML with one failure", func(t *testing.T) {
		data, err := os.ReadFile(junitPath)
		if err != nil {
			t.Fatal(err)
		}
		var suites struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Type string `xml:"type,attr"`
				} `xml:"failure"`
			} `xml:"testsuite>testcase"`
		}
		if err := xml.Unmarshal(data, &suites); err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
		var failed []string
		for _, c := range suites.Cases {
			if c.Failure != nil {
				failed = append(failed, c.Name+" "+c.Failure.Type)
			}
		}
		if diff := cmp.Diff([]string{"api/auth-required definitive"}, failed); diff != "" || suites.Tests != 4 || suites.Failures != 1 {
			t.Errorf("tests %d, failures %d, failed cases (-want +got):\n%s", suites.Tests, suites.Failures, diff)
		}
	})
	t.Run("appends a Markdown table to the job summary", func(t *testing.T) {
		data, err := os.ReadFile(summaryPath)
		if err != nil {
			t.Fatal(err)
		}
		got := string(data)
		for _, s := range []string{"## Deploy api\n### smoke FAILED: 3 of 4 checks passed", "| ❌ | `api/auth-required` | 1 |", "| ✅ | `api/healthz` | 1 |"} {
			if !strings.Contains(got, s) {
				t.Errorf("job summary does not contain %q:\n%s", s, got)
			}
		}
	})
}

func TestSmokeCommandInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	srv, _ := smokeDeployment(t, map[string]http.HandlerFunc{"/healthz": func(_ http.ResponseWriter, r *http.Request) {
		cancel(&interruptedError{sig: os.Interrupt})
		<-r.Context().Done()
	}})
	code, stdout, stderr := runSmokeCLI(ctx, t, nil, "--mcp-url", srv.URL)
	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d", code, exitInterrupted)
	}
	if want := "deployctl smoke: interrupted (SIGINT)\n"; !strings.HasSuffix(stderr, want) {
		t.Errorf("stderr does not end with %q:\n%s", want, stderr)
	}
	if strings.Contains(stderr, "context canceled") {
		t.Errorf("stderr speaks of a canceled context:\n%s", stderr)
	}
	if !strings.Contains(stdout, "mcp/healthz") {
		t.Errorf("the report of the interrupted run is not on stdout:\n%s", stdout)
	}
}

func TestSmokeHelpDocumentsEveryFlag(t *testing.T) {
	t.Parallel()
	code, help, stderr := runSmokeCLI(t.Context(), t, nil, "--help")
	if code != exitOK {
		t.Errorf("exit code %d, want %d", code, exitOK)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing", stderr)
	}
	for _, s := range []string{
		"--api-url", "--mcp-url", "--mcp-endpoint", "--frontend-url", "--expect-version", "--expect-sha",
		"--attempts", "--timeout", "--deadline", "--json", "--junit FILE",
		"/healthz", "/openapi.json", "/api/v1/experts", "/version", "tools/list", "immutable", "no-cache",
		"Retry-After", "GITHUB_STEP_SUMMARY", "Exit status: 0", "(default 5)", "(default 5s)", "(default 40s)",
		"only the first 4 MiB are read", "130 interrupted",
	} {
		if !strings.Contains(help, s) {
			t.Errorf("help does not mention %q", s)
		}
	}
}
