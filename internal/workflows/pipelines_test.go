package workflows

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/smoke"
	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/deploy"
)

// repoRoot is the repository's top directory, relative to this package.
const repoRoot = "../.."

func loadRepoWorkflows(t *testing.T) map[string]*Workflow {
	t.Helper()
	ws, err := LoadDir(filepath.Join(repoRoot, ".github", "workflows"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Workflow{}
	for _, w := range ws {
		out[w.File] = w
	}
	return out
}

func TestRepositoryWorkflowsBreakNoRule(t *testing.T) {
	ws, err := LoadDir(filepath.Join(repoRoot, ".github", "workflows"))
	if err != nil {
		t.Fatal(err)
	}
	ps := CheckAll(ws)
	SortProblems(ps)
	if len(ps) > 0 {
		t.Fatalf("%d problem(s):\n%s", len(ps), formatProblems(ps))
	}
}

// jobSpec is what one job must be.
type jobSpec struct {
	id    string
	needs []string
	// environment and group: the deploy job's environment and concurrency
	// group ("" for jobs that deploy nothing).
	environment, group string
	// assumes: the job assumes an AWS role (id-token: write).
	assumes bool
	// ifWant: what the job's if: condition must be ("" for none).
	ifWant string
	// stack whose identity.maxSessionSeconds the role session must equal
	// when role-duration-seconds is set.
	stack string
	// commands: substrings that the job's run: steps must contain, in order.
	commands []string
	// refuse: substrings that none of its run: steps may contain.
	refuse []string
}

type pipelineSpec struct {
	file string
	on   map[string]Trigger
	// service whose build context (experts:services.<service>.buildContext)
	// the push path filter must cover; "" for none.
	service string
	// frontendDir must be covered by the push path filter ("" for none).
	frontendDir string
	jobs        []jobSpec
}

var (
	programPaths = []string{"cmd/**", "infra/**", "internal/**", "stacks/**", "smoke/**", "main.go", "go.mod", "go.sum",
		"Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"}
	sameRepoPR = "github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository"
)

func servicePipeline(service, tag string) pipelineSpec {
	file := map[string]string{"api": "backend.yml", "mcp": "mcp.yml"}[service]
	paths := []string{"app/" + service + "/**", "cmd/**", "infra/**", "internal/**", "stacks/**", "smoke/**", "main.go",
		"go.mod", "go.sum", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", ".github/workflows/" + file}
	release := `"$RUNNER_TEMP/deployctl" release "$SERVICE" --stack "$STACK"`
	return pipelineSpec{
		file:    file,
		on:      map[string]Trigger{"push": {Branches: []string{"main"}, Tags: []string{tag + "*"}, Paths: paths}},
		service: service,
		jobs: []jobSpec{
			{id: "test", commands: []string{"bash .ci/test"}},
			{id: "release-dev", needs: []string{"test"}, environment: "dev-" + service, group: "deploy-dev-" + service,
				assumes: true, stack: "dev",
				commands: []string{DeployctlBuild, "whoami --expect-account", release, `--version "$VERSION" --sha "$GITHUB_SHA" --ref "$GITHUB_REF_NAME"`, "--json --artifacts"},
				refuse:   []string{"--promote-from", "--image-digest"}},
			{id: "release-prod", needs: []string{"release-dev"}, environment: "prod-" + service, group: "deploy-prod-" + service,
				assumes: true, stack: "prod", ifWant: "needs.release-dev.outputs.promote == 'true'",
				commands: []string{DeployctlBuild, "whoami --expect-account", release, "--promote-from dev"},
				refuse:   []string{"--image-digest"}},
		},
	}
}

func pipelineSpecs() []pipelineSpec {
	publish := `"$RUNNER_TEMP/deployctl" publish-frontend --stack "$STACK" --dist "$DIST"`
	smoke := `"$RUNNER_TEMP/deployctl" smoke --frontend-url "$FRONTEND_URL"`
	infraPaths := append(append([]string{}, programPaths...), ".github/workflows/infra.yml")
	return []pipelineSpec{
		servicePipeline("api", "api-v"),
		servicePipeline("mcp", "mcp-v"),
		{
			file: "frontend.yml",
			on: map[string]Trigger{"push": {Branches: []string{"main"}, Tags: []string{"fe-v*"}, Paths: []string{
				"app/frontend/**", "cmd/**", "infra/**", "internal/**", "stacks/**", "smoke/**", "go.mod", "go.sum",
				"Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", ".github/workflows/frontend.yml"}}},
			frontendDir: "app/frontend",
			jobs: []jobSpec{
				{id: "test", commands: []string{"npm ci", "npm test", "npm run build"}},
				{id: "release-dev", needs: []string{"test"}, environment: "dev-frontend", group: "deploy-dev-frontend",
					assumes: true, stack: "dev", commands: []string{DeployctlBuild, "whoami --expect-account", publish, smoke}},
				{id: "release-prod", needs: []string{"test", "release-dev"}, environment: "prod-frontend", group: "deploy-prod-frontend",
					assumes: true, stack: "prod", ifWant: "needs.test.outputs.promote == 'true'",
					commands: []string{DeployctlBuild, "whoami --expect-account", publish, smoke}},
			},
		},
		{
			file: "infra.yml",
			on: map[string]Trigger{
				"pull_request":      {Paths: infraPaths},
				"push":              {Branches: []string{"main"}, Paths: infraPaths},
				"workflow_dispatch": {},
				"schedule":          {Cron: []string{"17 4 * * *"}},
			},
			jobs: []jobSpec{
				{id: "offline-preview", ifWant: "github.event_name == 'pull_request'",
					commands: []string{DeployctlBuild, `"$RUNNER_TEMP/deployctl" preview --stack "$STACK" --offline`, "GITHUB_STEP_SUMMARY"}},
				{id: "preview", assumes: true, ifWant: sameRepoPR,
					commands: []string{DeployctlBuild, "whoami --expect-account", `"$RUNNER_TEMP/deployctl" preview --stack "$STACK"`, "GITHUB_STEP_SUMMARY"},
					refuse:   []string{"--offline", " up "}},
				{id: "comment", needs: []string{"preview"}, ifWant: "always() && " + sameRepoPR,
					commands: []string{"experts-infra-preview", "--method PATCH", "--method POST"}},
				{id: "up-dev", environment: "dev-infra", group: "deploy-dev-infra", assumes: true, stack: "dev",
					ifWant:   "github.event_name == 'push' || github.event_name == 'workflow_dispatch'",
					commands: []string{DeployctlBuild, "whoami --expect-account", `"$RUNNER_TEMP/deployctl" up --stack "$STACK"`}},
				{id: "up-prod", needs: []string{"up-dev"}, environment: "prod-infra", group: "deploy-prod-infra", assumes: true, stack: "prod",
					commands: []string{DeployctlBuild, "whoami --expect-account", `"$RUNNER_TEMP/deployctl" up --stack "$STACK"`}},
				{id: "drift", environment: "${{ matrix.stack }}-infra", group: "deploy-${{ matrix.stack }}-infra", assumes: true,
					ifWant:   "github.event_name == 'schedule'",
					commands: []string{DeployctlBuild, "whoami --expect-account", `preview --stack "$STACK" --refresh --expect-no-changes`, "::error title=drift in $STACK::"}},
			},
		},
		{
			file: "ci.yml",
			on:   map[string]Trigger{"pull_request": {}, "push": {Branches: []string{"main"}}},
			jobs: []jobSpec{
				{id: "test", commands: []string{"bash .ci/test"}},
				{id: "offline-preview", commands: []string{DeployctlBuild, `preview --stack "$STACK" --offline`}},
			},
		},
	}
}

func TestPipelinesHaveTheirStructure(t *testing.T) {
	ws := loadRepoWorkflows(t)
	specs := pipelineSpecs()
	if diff := cmp.Diff(sortedKeys(map[string]bool{"backend.yml": true, "mcp.yml": true, "frontend.yml": true, "infra.yml": true, "ci.yml": true}), sortedKeys(ws)); diff != "" {
		t.Errorf("workflow files (-want +got):\n%s", diff)
	}
	for _, spec := range specs {
		t.Run(spec.file, func(t *testing.T) {
			w := ws[spec.file]
			if w == nil {
				t.Fatalf("%s is missing", spec.file)
			}
			if problems := checkPipeline(w, spec, readStackConfigs(t)); len(problems) > 0 {
				t.Errorf("%s:\n  %s", spec.file, strings.Join(problems, "\n  "))
			}
		})
	}
}

// checkPipeline compares w with spec and returns what differs.
func checkPipeline(w *Workflow, spec pipelineSpec, configs map[string]stackConfig) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if diff := cmp.Diff(spec.on, w.On); diff != "" {
		add("triggers (-want +got):\n%s", diff)
	}
	var ids []string
	for _, j := range spec.jobs {
		ids = append(ids, j.id)
	}
	if diff := cmp.Diff(ids, w.JobOrder); diff != "" {
		add("jobs (-want +got):\n%s", diff)
	}
	if push, ok := w.On["push"]; ok && push.Paths != nil {
		if spec.service != "" {
			for stack, cfg := range configs {
				ctx := cfg.BuildContext(spec.service)
				if ctx == "" {
					add("Pulumi.%s.yaml has no build context for %s", stack, spec.service)
				} else if !matchesAny(push.Paths, ctx+"/Dockerfile") {
					add("push paths %v miss %s's build context %s (Pulumi.%s.yaml)", push.Paths, spec.service, ctx, stack)
				}
			}
		}
		if spec.frontendDir != "" && !matchesAny(push.Paths, spec.frontendDir+"/package.json") {
			add("push paths %v miss the frontend %s", push.Paths, spec.frontendDir)
		}
		if !matchesAny(push.Paths, ".github/workflows/"+w.File) {
			add("push paths %v miss the workflow file itself", push.Paths)
		}
	}
	for _, js := range spec.jobs {
		j := w.Jobs[js.id]
		if j == nil {
			continue
		}
		if diff := cmp.Diff(js.needs, j.Needs); diff != "" {
			add("job %s needs (-want +got):\n%s", js.id, diff)
		}
		if j.If != js.ifWant {
			add("job %s if: %q, want %q", js.id, j.If, js.ifWant)
		}
		if j.Environment != js.environment {
			add("job %s environment %q, want %q", js.id, j.Environment, js.environment)
		}
		if js.stack != "" && js.environment != "" && !gatedEnvironment(js.stack, js.environment) {
			add("job %s environment %q is not one whose jobs the %s roles trust (infra.GitHubEnvironment of %v)", js.id, js.environment, js.stack, infra.GatedPipelines)
		}
		group := ""
		if j.Concurrency != nil && j.Environment != "" {
			group = j.Concurrency.Group
		}
		if group != js.group {
			add("job %s concurrency group %q, want %q", js.id, group, js.group)
		}
		if got := j.Permissions.Scopes["id-token"] == "write"; got != js.assumes {
			add("job %s id-token: write is %v, want %v", js.id, got, js.assumes)
		}
		if got := len(j.StepsUsing(ActionAWSCredentials)) > 0; got != js.assumes {
			add("job %s assumes a role: %v, want %v", js.id, got, js.assumes)
		}
		for _, s := range j.StepsUsing(ActionAWSCredentials) {
			if v := s.With["role-duration-seconds"]; v != "" && js.stack != "" {
				if want := configs[js.stack].MaxSessionSeconds(); v != strconv.Itoa(want) {
					add("job %s role-duration-seconds %s, want Pulumi.%s.yaml's experts:identity.maxSessionSeconds %d", js.id, v, js.stack, want)
				}
			}
		}
		var script strings.Builder
		for _, s := range j.Steps {
			script.WriteString(s.Run + "\n")
		}
		rest := script.String()
		for _, c := range js.commands {
			i := strings.Index(rest, c)
			if i < 0 {
				add("job %s: no run step contains %q after the commands before it", js.id, c)
				continue
			}
			rest = rest[i+len(c):]
		}
		for _, r := range js.refuse {
			if strings.Contains(script.String(), r) {
				add("job %s runs %q", js.id, r)
			}
		}
	}
	return out
}

func TestPipelineCheckFailsOnBrokenStructure(t *testing.T) {
	ws := loadRepoWorkflows(t)
	configs := readStackConfigs(t)
	spec := servicePipeline("api", "api-v")
	src, err := os.ReadFile(filepath.Join(repoRoot, ".github", "workflows", "backend.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if ws["backend.yml"] == nil {
		t.Fatal("backend.yml is missing")
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"fails when the api's sources leave the path filter", "      - app/api/**\n", "", "miss api's build context"},
		{"fails when the workflow leaves its own path filter", "      - .github/workflows/backend.yml\n", "", "miss the workflow file itself"},
		{"fails when tags stop triggering", "    tags: ['api-v*']\n", "", "triggers"},
		{"fails when prod no longer waits for dev", "    needs: release-dev\n", "    needs: test\n", "job release-prod needs"},
		{"fails when prod runs on every push", "    if: needs.release-dev.outputs.promote == 'true'\n", "", "job release-prod if"},
		{"fails when prod rebuilds", "            --promote-from dev --json", "            --json", `"--promote-from dev"`},
		{"fails when the environment is shared", "    environment: prod-api\n", "    environment: prod\n", "job release-prod environment"},
		{"fails when the session differs from the stack's", "          role-duration-seconds: 7200\n", "          role-duration-seconds: 3600\n", "maxSessionSeconds"},
		{"fails when the release loses its artifacts flag", `--json --artifacts "$ARTIFACTS" 2>&1`, `2>&1`, `"--json --artifacts"`},
		{"fails when the dev release promotes", `--json --artifacts "$ARTIFACTS" 2>&1`, `--promote-from dev --json --artifacts "$ARTIFACTS" 2>&1`, `job release-dev runs "--promote-from"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Contains(src, []byte(tt.old)) {
				t.Fatalf("backend.yml does not contain %q", tt.old)
			}
			w, err := Parse("backend.yml", bytes.Replace(src, []byte(tt.old), []byte(tt.new), 1))
			if err != nil {
				t.Fatal(err)
			}
			problems := checkPipeline(w, spec, configs)
			joined := strings.Join(problems, "\n")
			if !strings.Contains(joined, tt.want) {
				t.Errorf("problems do not mention %q:\n%s", tt.want, joined)
			}
		})
	}
	if problems := checkPipeline(ws["backend.yml"], spec, configs); len(problems) > 0 {
		t.Errorf("unchanged backend.yml: %v", problems)
	}
}

// TestPathFiltersCoverDeployctl: a deploy job's behavior depends on every
// package linked into deployctl, so a change to any of them must run the
// pipelines that use it.
func TestPathFiltersCoverDeployctl(t *testing.T) {
	ws := loadRepoWorkflows(t)
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}} {{.Dir}}{{end}}", "./cmd/deployctl")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		importPath, dir, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(importPath, "github.com/experts/platform") {
			continue
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.ToSlash(rel))
	}
	if len(dirs) < 3 {
		t.Fatalf("go list found only %v: the module path changed?", dirs)
	}
	for _, file := range []string{"backend.yml", "mcp.yml", "frontend.yml", "infra.yml"} {
		w := ws[file]
		if w == nil {
			t.Fatalf("%s is missing", file)
		}
		for ev, tr := range w.On {
			if tr.Paths == nil {
				continue
			}
			for _, d := range dirs {
				if !matchesAny(tr.Paths, d+"/x.go") {
					t.Errorf("%s on.%s.paths miss %s, which deployctl links", file, ev, d)
				}
			}
			for _, f := range []string{"go.mod", "go.sum"} {
				if !matchesAny(tr.Paths, f) {
					t.Errorf("%s on.%s.paths miss %s", file, ev, f)
				}
			}
		}
	}
}

// TestPathFiltersNameExistingPaths catches a misspelled filter, which would
// silently never trigger. The application's directories are checked
// against the stack files instead (TestPipelinesHaveTheirStructure).
func TestPathFiltersNameExistingPaths(t *testing.T) {
	ws := loadRepoWorkflows(t)
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(repoRoot, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range sortedKeys(ws) {
		for _, ev := range sortedKeys(ws[file].On) {
			for _, pattern := range ws[file].On[ev].Paths {
				if strings.HasPrefix(pattern, "app/") {
					continue
				}
				re, err := filterRegexp(pattern)
				if err != nil {
					t.Errorf("%s on.%s.paths: %v", file, ev, err)
					continue
				}
				found := false
				for _, f := range files {
					if re.MatchString(f) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("%s on.%s.paths: %q matches no file of the repository", file, ev, pattern)
				}
			}
		}
	}
}

func TestFilterPatterns(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"app/api/**", "app/api/Dockerfile", true},
		{"app/api/**", "app/api/src/main.py", true},
		{"app/api/**", "app/apis/x", false},
		{"infra/**", "infra/policy/x.go", true},
		{"go.mod", "go.mod", true},
		{"go.mod", "x/go.mod", false},
		{"*.yaml", "Pulumi.dev.yaml", true},
		{"*.yaml", "a/Pulumi.dev.yaml", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			if got := matchesAny([]string{tt.pattern}, tt.path); got != tt.want {
				t.Errorf("matches = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := filterRegexp("app/[ab]/**"); err == nil {
		t.Error("a character class is accepted: the matcher does not implement it")
	}
}

// gatedEnvironment reports whether env is the GitHub environment of one of
// the stack's gated pipelines, the only subjects its deploy and infra roles
// trust.
func gatedEnvironment(stack, env string) bool {
	for _, p := range infra.GatedPipelines {
		if infra.GitHubEnvironment(stack, p) == env {
			return true
		}
	}
	return false
}

// filterRegexp turns a GitHub path filter into a regular expression: "**"
// matches any characters, "*" any but "/". Other special characters are
// refused rather than matched wrongly.
func filterRegexp(pattern string) (*regexp.Regexp, error) {
	if strings.ContainsAny(pattern, "?+[]!") {
		return nil, fmt.Errorf("pattern %q uses a special character this matcher does not implement", pattern)
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch {
		case strings.HasPrefix(pattern[i:], "**"):
			b.WriteString(".*")
			i++
		case pattern[i] == '*':
			b.WriteString("[^/]*")
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func matchesAny(patterns []string, path string) bool {
	for _, p := range patterns {
		re, err := filterRegexp(p)
		if err == nil && re.MatchString(path) {
			return true
		}
	}
	return false
}

// stackConfig is the part of a Pulumi.<stack>.yaml the workflows depend on.
type stackConfig struct {
	Config struct {
		Services map[string]struct {
			BuildContext string `yaml:"buildContext"`
		} `yaml:"experts:services"`
		Identity struct {
			MaxSessionSeconds int `yaml:"maxSessionSeconds"`
		} `yaml:"experts:identity"`
	} `yaml:"config"`
}

func (c stackConfig) BuildContext(service string) string {
	return c.Config.Services[service].BuildContext
}

// MaxSessionSeconds is the deploy roles' session limit (the program's
// default when the stack does not set it).
func (c stackConfig) MaxSessionSeconds() int {
	if c.Config.Identity.MaxSessionSeconds == 0 {
		return infra.DefaultMaxSessionSeconds
	}
	return c.Config.Identity.MaxSessionSeconds
}

func readStackConfigs(t *testing.T) map[string]stackConfig {
	t.Helper()
	out := map[string]stackConfig{}
	for _, stack := range []string{"dev", "prod"} {
		src, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi."+stack+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var c stackConfig
		if err := yaml.Unmarshal(src, &c); err != nil {
			t.Fatalf("Pulumi.%s.yaml: %v", stack, err)
		}
		out[stack] = c
	}
	return out
}

// TestDeployTimeoutsOutlastTheReleaseDeadlines: a job killed by GitHub's
// timeout cannot roll back or keep its artifacts, so each release job's
// timeout is above the sum of the deadlines the release itself enforces
// (migration, verification, a rollback with its own smoke gate, the smoke
// gate), and within the role's session.
func TestDeployTimeoutsOutlastTheReleaseDeadlines(t *testing.T) {
	ws := loadRepoWorkflows(t)
	smokes := 2 * smoke.DefaultDeadline // the release's gate and the rollback's
	deadlines := map[string]time.Duration{
		"backend.yml": deploy.DefaultMigrationTimeout + deploy.DefaultVerifyTimeout + stacks.DefaultRollbackTimeout + smokes,
		"mcp.yml":     deploy.DefaultVerifyTimeout + stacks.DefaultRollbackTimeout + smokes,
	}
	for _, file := range sortedKeys(deadlines) {
		for _, id := range []string{"release-dev", "release-prod"} {
			j := ws[file].Jobs[id]
			if j == nil {
				t.Fatalf("%s has no job %s", file, id)
			}
			timeout := time.Duration(j.TimeoutMinutes) * time.Minute
			if timeout <= deadlines[file] {
				t.Errorf("%s job %s: timeout-minutes %d is not above the release's own deadlines (%s)", file, id, j.TimeoutMinutes, deadlines[file])
			}
		}
	}
}

func TestGatedEnvironment(t *testing.T) {
	for env, want := range map[string]bool{"dev-api": true, "prod-infra": true, "prod-frontend": true, "dev": false, "dev-drift": false, "prod-api-2": false} {
		stack, _, _ := strings.Cut(env, "-")
		if got := gatedEnvironment(stack, env); got != want {
			t.Errorf("gatedEnvironment(%s, %s) = %v, want %v", stack, env, got, want)
		}
	}
}
