package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks/publish"
)

// What the servers report at /version and the smoke gate expects.
const (
	wantVersion = "1.4.2"
	wantSHA     = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
)

// tools are the programs the test runs, found as `bash .ci/test` sets
// them up.
type tools struct {
	pgBin  string
	python string
	node   string
	npm    string
}

func findTools(t *testing.T, root string) tools {
	t.Helper()
	var tl tools
	var missing []string
	tl.pgBin = os.Getenv("EXPERTS_PG_BIN")
	if tl.pgBin == "" {
		missing = append(missing, "EXPERTS_PG_BIN is not set (the directory of PostgreSQL's initdb and pg_ctl)")
	} else if _, err := os.Stat(filepath.Join(tl.pgBin, "pg_ctl")); err != nil {
		missing = append(missing, "EXPERTS_PG_BIN="+tl.pgBin+" has no pg_ctl")
	}
	tl.python = os.Getenv("EXPERTS_PYTHON")
	if tl.python == "" {
		missing = append(missing, "EXPERTS_PYTHON is not set (a python3 with Debian's python3-fastapi, -uvicorn, -sqlalchemy, -alembic, -psycopg2, -pytest)")
	}
	for _, name := range []string{"node", "npm"} {
		p, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, name+" is not on PATH")
		}
		if name == "node" {
			tl.node = p
		} else {
			tl.npm = p
		}
	}
	for _, dir := range []string{"app/mcp/node_modules", "app/frontend/node_modules"} {
		if _, err := os.Stat(filepath.Join(root, dir)); err != nil {
			missing = append(missing, dir+" is missing (npm ci)")
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the end-to-end test needs what `bash .ci/test` installs; run it (or set up the same by hand):\n  %s",
			strings.Join(missing, "\n  "))
	}
	return tl
}

// step runs one phase of the test and logs how long it took. Phases run on
// the test's own goroutine (not as subtests): the servers and the database
// that a phase starts belong to the whole test, and each phase needs the
// ones before it, so a phase that fails stops the test.
func step(t *testing.T, name string, fn func()) {
	t.Helper()
	t.Logf("==> %s", name)
	start := time.Now()
	fn()
	if t.Failed() {
		t.Fatalf("phase %q failed", name)
	}
	t.Logf("    %s: %.1fs", name, time.Since(start).Seconds())
}

// smokeReport is the part of `deployctl smoke --json` the test reads.
type smokeReport struct {
	Passed bool `json:"passed"`
	Checks []struct {
		Name   string `json:"name"`
		Passed bool   `json:"passed"`
		Detail string `json:"detail"`
		Error  string `json:"error"`
	} `json:"checks"`
}

func (r smokeReport) verdicts() map[string]bool {
	m := map[string]bool{}
	for _, c := range r.Checks {
		m[c.Name] = c.Passed
	}
	return m
}

func (r smokeReport) check(name string) (passed bool, detail, errText string) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c.Passed, c.Detail, c.Error
		}
	}
	return false, "", ""
}

// TestEndToEnd deploys the reference application onto this machine and
// gates it with the real smoke command: PostgreSQL on loopback, the api's
// migration script (twice, then a broken revision), the api, the MCP server
// and the built frontend; then it stops the database and expects the gate
// to fail on the api's health with the database's reason.
func TestEndToEnd(t *testing.T) {
	begin := time.Now()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the repository root %s has no go.mod: %v", root, err)
	}
	tl := findTools(t, root)
	ctx := t.Context()
	apiDir := filepath.Join(root, "app", "api")
	mcpDir := filepath.Join(root, "app", "mcp")
	frontendDir := filepath.Join(root, "app", "frontend")
	work := t.TempDir()
	pyEnv := []string{"PYTHON=" + tl.python, "PYTHONDONTWRITEBYTECODE=1"}

	var deployctl string
	step(t, "build deployctl", func() {
		deployctl = filepath.Join(work, "deployctl")
		mustRun(ctx, t, root, environ(), "go", "build", "-o", deployctl, "./cmd/deployctl")
	})

	var pg *postgres
	step(t, "start PostgreSQL on loopback", func() {
		pg = startPostgres(ctx, t, tl.pgBin)
		pg.createdb(ctx, t, "experts")
		pg.createdb(ctx, t, "experts_test")
	})
	dbURL := pg.url("experts")
	migrate := filepath.Join(apiDir, "scripts", "migrate.sh")

	step(t, "migrate twice, the second a no-op", func() {
		env := environ(append(pyEnv, "DATABASE_URL="+dbURL)...)
		first := mustRun(ctx, t, apiDir, env, migrate)
		second := mustRun(ctx, t, apiDir, env, migrate)
		ran := regexp.MustCompile(`Running upgrade (\S*) *-> ([^,\s]+)`)
		var got [][]string
		for _, out := range []string{first.stderr, second.stderr} {
			var revs []string
			for _, m := range ran.FindAllStringSubmatch(out, -1) {
				revs = append(revs, m[1]+"->"+m[2])
			}
			got = append(got, revs)
		}
		want := [][]string{{"->0001", "0001->0002"}, nil}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("revisions applied by the two runs (-want +got):\n%s\nfirst:\n%s\nsecond:\n%s", diff, first.stderr, second.stderr)
		}
		for _, r := range []result{first, second} {
			if out := r.stdout + r.stderr; strings.Contains(out, pg.password) || strings.Contains(out, dbURL) {
				t.Errorf("migrate.sh printed the database URL or its password:\n%s", out)
			}
		}
	})

	step(t, "a broken migration exits non-zero with its error", func() {
		broken := filepath.Join(work, "api-broken")
		copyTree(t, apiDir, broken, "tests")
		writeFile(t, filepath.Join(broken, "migrations", "versions", "0003_broken.py"), brokenRevision)
		env := environ(append(pyEnv, "DATABASE_URL="+dbURL)...)
		r := run(ctx, t, broken, env, filepath.Join(broken, "scripts", "migrate.sh"))
		if r.code == 0 {
			t.Fatalf("migrate.sh exited 0 with a broken revision:\n%s", r.stderr)
		}
		for _, want := range []string{"Running upgrade 0002 -> 0003", `column "no_such_column" does not exist`} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("migrate.sh stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		if strings.Contains(r.stdout+r.stderr, pg.password) {
			t.Errorf("migrate.sh printed the database password:\n%s", r.stdout+r.stderr)
		}

		wrong := strings.Replace(dbURL, ":"+pg.password+"@", ":not-the-password@", 1)
		r = run(ctx, t, apiDir, environ(append(pyEnv, "DATABASE_URL="+wrong)...), migrate)
		if r.code == 0 || !strings.Contains(r.stderr, "password authentication failed") {
			t.Errorf("migrate.sh with a wrong password: exit %d, want non-zero with the server's refusal:\n%s", r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "not-the-password") {
			t.Errorf("migrate.sh printed the password it was given:\n%s", r.stdout+r.stderr)
		}
	})

	token := randomHex(t, 24)
	tokenHash := sha256.Sum256([]byte(token))
	apiPort, mcpPort := freePort(t), freePort(t)
	apiURL := "http://127.0.0.1:" + strconv.Itoa(apiPort)
	mcpURL := "http://127.0.0.1:" + strconv.Itoa(mcpPort)
	var api, mcp *server
	step(t, "start the api and the MCP server", func() {
		api = startServer(t, "api", apiDir, environ(append(pyEnv,
			"DATABASE_URL="+dbURL, "API_TOKEN_SHA256="+hex.EncodeToString(tokenHash[:]),
			"VERSION="+wantVersion, "GIT_SHA="+wantSHA, "HOST=127.0.0.1", "PORT="+strconv.Itoa(apiPort),
			"LOG_LEVEL=info")...),
			tl.python, "-m", "experts_api")
		mcp = startServer(t, "mcp", mcpDir, environ("VERSION="+wantVersion, "GIT_SHA="+wantSHA,
			"HOST=127.0.0.1", "PORT="+strconv.Itoa(mcpPort)),
			tl.node, "src/server.js")
		api.waitReady(ctx, t, apiURL+"/healthz", http.StatusOK)
		mcp.waitReady(ctx, t, mcpURL+"/healthz", http.StatusOK)
	})

	step(t, "the api serves the database with the token and the schema at head", func() {
		code, body, err := get(ctx, apiURL+"/healthz", nil)
		if err != nil || code != http.StatusOK || !strings.Contains(string(body), `"schema_revision":"0002"`) {
			t.Fatalf("GET /healthz: %d %s %v, want 200 at revision 0002 (the broken 0003 rolled back)", code, body, err)
		}
		auth := http.Header{"Authorization": {"Bearer " + token}}
		post, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+"/api/v1/experts",
			strings.NewReader(`{"name":"Leslie Lamport","topic":"distributed systems"}`))
		if err != nil {
			t.Fatal(err)
		}
		post.Header = auth.Clone()
		post.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(post)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /api/v1/experts: %d, want 201", resp.StatusCode)
		}
		code, body, err = get(ctx, apiURL+"/api/v1/experts?q=lamport", auth)
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET /api/v1/experts with the token: %d %s %v", code, body, err)
		}
		var list struct {
			Experts []struct {
				Name  string  `json:"name"`
				Topic string  `json:"topic"`
				Bio   *string `json:"bio"`
			} `json:"experts"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatalf("GET /api/v1/experts: %v: %s", err, body)
		}
		if len(list.Experts) != 1 || list.Experts[0].Name != "Leslie Lamport" || list.Experts[0].Bio != nil {
			t.Errorf("GET /api/v1/experts?q=lamport = %s, want the one expert just created", body)
		}
		if code, _, _ := get(ctx, apiURL+"/api/v1/experts", http.Header{"Authorization": {"Bearer " + token + "x"}}); code != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/experts with a wrong token: %d, want 401", code)
		}
	})

	step(t, "the api's own tests pass against PostgreSQL", func() {
		r := run(ctx, t, apiDir, environ(append(pyEnv, "TEST_DATABASE_URL="+pg.url("experts_test"))...),
			tl.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
		if r.code != 0 {
			t.Fatalf("pytest exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		t.Logf("pytest: %s", lastLine(r.stdout))
	})

	step(t, "the MCP server's and the frontend's own tests pass", func() {
		for _, dir := range []string{mcpDir, frontendDir} {
			r := run(ctx, t, dir, environ(), tl.npm, "test")
			if r.code != 0 {
				t.Errorf("npm test in %s exited %d:\n%s\n%s", dir, r.code, r.stdout, r.stderr)
			}
		}
	})

	dist := filepath.Join(work, "dist")
	var site *httptest.Server
	step(t, "build the frontend and serve dist/ as the site does", func() {
		mustRun(ctx, t, frontendDir, environ("VITE_API_URL="+apiURL), tl.npm, "run", "build", "--",
			"--outDir", dist, "--emptyOutDir")
		assets, err := filepath.Glob(filepath.Join(dist, "assets", "*"))
		if err != nil || len(assets) == 0 {
			t.Fatalf("the build wrote no assets under %s: %v", dist, err)
		}
		hashed := regexp.MustCompile(`^index-[A-Za-z0-9_-]{8}\.(js|css)$`)
		var names []string
		for _, a := range assets {
			names = append(names, filepath.Base(a))
			if !hashed.MatchString(filepath.Base(a)) {
				t.Errorf("asset %s has no content hash in its name", filepath.Base(a))
			}
		}
		sort.Strings(names)
		t.Logf("built assets: %s", strings.Join(names, ", "))
		js, _ := filepath.Glob(filepath.Join(dist, "assets", "*.js"))
		if len(js) != 1 || !strings.Contains(readFile(t, js[0]), apiURL) {
			t.Errorf("the built script does not hold the api URL %s that the status page reads", apiURL)
		}
		site = httptest.NewServer(siteHandler(dist, publish.RuleSet{}))
		t.Cleanup(site.Close)
		index := readFile(t, filepath.Join(dist, "index.html"))
		for _, path := range []string{"/", "/status", "/status?tab=api"} {
			code, body, err := get(ctx, site.URL+path, nil)
			if err != nil || code != http.StatusOK || string(body) != index {
				t.Errorf("GET %s: %d %v, want 200 with index.html (a deep link)", path, code, err)
			}
		}
		if code, _, _ := get(ctx, site.URL+"/assets/index-missing0.js", nil); code != http.StatusForbidden {
			t.Errorf("GET a missing asset: %d, want 403 as S3 answers it (never index.html)", code)
		}
	})

	smoke := func(t *testing.T, wantCode int, args ...string) smokeReport {
		t.Helper()
		r := run(ctx, t, root, environ(), append([]string{deployctl, "smoke", "--json"}, args...)...)
		if r.code != wantCode {
			t.Fatalf("deployctl smoke exited %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, wantCode, r.stdout, r.stderr)
		}
		var rep smokeReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("deployctl smoke --json: %v\n%s", err, r.stdout)
		}
		return rep
	}

	step(t, "deployctl smoke passes against all three", func() {
		rep := smoke(t, 0, "--api-url", apiURL, "--mcp-url", mcpURL, "--mcp-endpoint", "/mcp",
			"--frontend-url", site.URL, "--expect-version", wantVersion, "--expect-sha", wantSHA,
			"--attempts", "3", "--timeout", "10s", "--deadline", "90s")
		want := map[string]bool{
			"api/healthz": true, "api/openapi": true, "api/auth-required": true, "api/version": true,
			"mcp/healthz": true, "mcp/tools": true, "frontend/entry": true, "frontend/assets": true,
		}
		if diff := cmp.Diff(want, rep.verdicts()); diff != "" || !rep.Passed {
			t.Errorf("smoke verdicts (-want +got):\n%s", diff)
		}
		if _, detail, _ := rep.check("mcp/tools"); !strings.Contains(detail, "search_experts") {
			t.Errorf("mcp/tools detail %q does not name the search_experts tool", detail)
		}
		if _, detail, _ := rep.check("api/version"); detail != wantVersion+" sha "+wantSHA {
			t.Errorf("api/version detail %q, want %s sha %s", detail, wantVersion, wantSHA)
		}
	})

	step(t, "the images' health commands pass", func() {
		for _, hc := range []struct {
			dir, port string
		}{{apiDir, strconv.Itoa(apiPort)}, {mcpDir, strconv.Itoa(mcpPort)}} {
			argv := healthCommand(t, hc.dir, tl)
			if r := run(ctx, t, hc.dir, environ("PORT="+hc.port), argv...); r.code != 0 {
				t.Errorf("health command %v of %s exited %d: %s", argv, filepath.Base(hc.dir), r.code, r.stderr)
			}
		}
	})

	step(t, "with the database stopped the api's health fails the gate with the reason", func() {
		pg.stop(ctx, t)
		wantReason := "database: connection to server at \"127.0.0.1\", port " + strconv.Itoa(pg.port) + " failed: Connection refused"
		code, body, err := get(ctx, apiURL+"/healthz", nil)
		if err != nil || code != http.StatusServiceUnavailable {
			t.Errorf("GET /healthz: %d %s %v, want 503", code, body, err)
		}
		var health map[string]string
		if err := json.Unmarshal(body, &health); err != nil {
			t.Errorf("GET /healthz: %v: %s", err, body)
		}
		if diff := cmp.Diff(map[string]string{"status": "unavailable", "reason": wantReason}, health); diff != "" {
			t.Errorf("GET /healthz with the database stopped (-want +got):\n%s", diff)
		}
		rep := smoke(t, 1, "--api-url", apiURL, "--expect-version", wantVersion, "--expect-sha", wantSHA,
			"--attempts", "2", "--timeout", "10s", "--deadline", "60s")
		want := map[string]bool{"api/healthz": false, "api/openapi": true, "api/auth-required": true, "api/version": true}
		if diff := cmp.Diff(want, rep.verdicts()); diff != "" || rep.Passed {
			t.Errorf("smoke verdicts with the database stopped (-want +got):\n%s", diff)
		}
		if _, _, errText := rep.check("api/healthz"); !strings.Contains(errText, "503") || !strings.Contains(errText, "Connection refused") {
			t.Errorf("api/healthz error %q does not give the 503 and the database's reason", errText)
		}
		argv := healthCommand(t, apiDir, tl)
		r := run(ctx, t, apiDir, environ("PORT="+strconv.Itoa(apiPort)), argv...)
		if r.code == 0 || !strings.Contains(r.stderr, "Connection refused") {
			t.Errorf("the api's health command with the database stopped: exit %d, stderr %q; want non-zero with the reason", r.code, r.stderr)
		}
	})

	step(t, "no secret in the servers' logs", func() {
		logs := api.out.String() + mcp.out.String()
		for what, secret := range map[string]string{"database password": pg.password, "api token": token} {
			if strings.Contains(logs, secret) {
				t.Errorf("the %s appears in the server logs", what)
			}
		}
	})
	t.Logf("end-to-end test took %.1fs", time.Since(begin).Seconds())
}

// brokenRevision is a migration that fails half-way: its first statement
// succeeds and must be rolled back with the revision.
const brokenRevision = `"""a broken revision"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("experts", sa.Column("rank", sa.Integer, nullable=True))
    op.execute("UPDATE experts SET rank = no_such_column")


def downgrade() -> None:
    pass
`

// healthCommand is the HEALTHCHECK command of the Dockerfile in dir, in
// exec form, with its interpreter and the image's /app/ mapped to dir.
func healthCommand(t *testing.T, dir string, tl tools) []string {
	t.Helper()
	df := readFile(t, filepath.Join(dir, "Dockerfile"))
	m := regexp.MustCompile(`(?m)^HEALTHCHECK(?:[^\n]*\\\n)*[^\n]*?CMD (\[[^\n]*\])\s*$`).FindStringSubmatch(df)
	if m == nil {
		t.Fatalf("%s/Dockerfile has no HEALTHCHECK CMD in exec form", dir)
	}
	var argv []string
	if err := json.Unmarshal([]byte(m[1]), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("%s/Dockerfile HEALTHCHECK CMD %s: %v", dir, m[1], err)
	}
	switch argv[0] {
	case "python3":
		argv[0] = tl.python
	case "node":
		argv[0] = tl.node
	default:
		t.Fatalf("%s/Dockerfile health command runs %q, which the test does not know how to run here", dir, argv[0])
	}
	for i := range argv[1:] {
		argv[i+1] = strings.Replace(argv[i+1], "/app/", dir+"/", 1)
	}
	return argv
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files under src to dst, keeping their modes
// and leaving out the top-level entries named in skip and __pycache__.
func copyTree(t *testing.T, src, dst string, skip ...string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && (d.Name() == "__pycache__" || contains(skip, rel)) {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
