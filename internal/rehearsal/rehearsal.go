// Package rehearsal runs the real program (infra.Program) in the real
// Pulumi engine against a local AWS, for tests and benchmarks:
//
//	r := rehearsal.New(t, rehearsal.Options{})         // simulator, backend, plugins
//	st, err := r.Stack(ctx, "dev")                     // an auto.Stack of the inline program
//	res, err := r.Up(ctx, st)                          // steps taken, outputs
//	r.Sim.SetScenario(awssim.Scenario{...})            // what goes wrong next
//	env := r.Env("dev")                                // AWS_* for deployctl against the simulator
//
// New starts an awssim.Simulator (torn down with the test), makes a
// file:// backend with passphrase secrets in a temp dir, copies the repo's
// Pulumi.yaml and stack files into a temp project directory (the app
// directory is linked beside them, so build contexts resolve), and puts the
// fake provider plugins (internal/fakeprovider, built once per test
// binary) first on the engine's PATH as pulumi-resource-aws, -awsx and
// -docker. Stack runs the program inline through the Automation API with
// the Pulumi CLI named by EXPERTS_PULUMI_CLI, which `bash .ci/test` builds;
// without it tests fail with a message naming that command.
//
// Config changes go through the stack (st.SetConfig) and land in the temp
// project's stack file; the repo's files are never written. A test binary
// that uses the package calls Main from its TestMain, which removes the
// built plugins afterwards.
package rehearsal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/infra/stackfile"
	"github.com/experts/platform/internal/awssim"
)

// EnvPulumiCLI names the variable that holds the path of the Pulumi CLI.
const EnvPulumiCLI = "EXPERTS_PULUMI_CLI"

// Passphrase encrypts the rehearsal stacks' secrets.
const Passphrase = "rehearsal-passphrase"

// PulumiCLI is the Pulumi CLI the rehearsal runs: EXPERTS_PULUMI_CLI, or
// where `bash .ci/test` builds it (the tools cache,
// $EXPERTS_TOOLS_DIR or ~/.cache/experts-platform/bin).
func PulumiCLI() (string, error) {
	cli := os.Getenv(EnvPulumiCLI)
	if cli == "" {
		dir := os.Getenv("EXPERTS_TOOLS_DIR")
		if dir == "" {
			cache, err := os.UserCacheDir()
			if err != nil {
				return "", fmt.Errorf("%s is not set and there is no cache directory: run `bash .ci/test`, which builds the Pulumi CLI", EnvPulumiCLI)
			}
			dir = filepath.Join(cache, "experts-platform", "bin")
		}
		cli = filepath.Join(dir, "pulumi")
	}
	if _, err := os.Stat(cli); err != nil { //nolint:gosec // the CLI the test command names
		return "", fmt.Errorf("no Pulumi CLI at %s (%s): run `bash .ci/test`, which builds it from internal/pulumicli", cli, EnvPulumiCLI)
	}
	return cli, nil
}

// Options configure a rehearsal.
type Options struct {
	// RepoRoot holds Pulumi.yaml and the stack files; found from the
	// working directory when empty.
	RepoRoot string
	// AppDir is linked as the project's app directory (the build contexts
	// of the stack files, app/api and app/mcp). Empty: the repo's app/ when
	// it has app/api/Dockerfile and app/mcp/Dockerfile, else this
	// package's testdata/app.
	AppDir string
}

// Rehearsal is one rehearsal environment.
type Rehearsal struct {
	// Sim is the local AWS every stack of this rehearsal runs against.
	Sim *awssim.Simulator
	// Dir is the project directory: Pulumi.yaml, Pulumi.<stack>.yaml, app.
	Dir string
	// Backend is the file:// state backend URL.
	Backend string

	home, cli, pluginDir string
}

// New makes a rehearsal torn down when t ends.
func New(t testing.TB, opts Options) *Rehearsal {
	t.Helper()
	cli, err := PulumiCLI()
	if err != nil {
		t.Fatal(err)
	}
	plugins, err := buildPlugins()
	if err != nil {
		t.Fatalf("build the fake provider plugins: %v", err)
	}
	root := opts.RepoRoot
	if root == "" {
		if root, err = repoRoot(); err != nil {
			t.Fatal(err)
		}
	}
	base := t.TempDir()
	r := &Rehearsal{Dir: filepath.Join(base, "project"), Backend: "file://" + filepath.Join(base, "state"),
		home: filepath.Join(base, "pulumi-home")}
	for _, d := range []string{r.Dir, filepath.Join(base, "state"), r.home, filepath.Join(base, "cli", "bin")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	// NewPulumiCommand wants <root>/bin/pulumi.
	if err := os.Symlink(cli, filepath.Join(base, "cli", "bin", "pulumi")); err != nil {
		t.Fatal(err)
	}
	r.cli = filepath.Join(base, "cli")
	if err := copyProject(root, r.Dir); err != nil {
		t.Fatal(err)
	}
	app := opts.AppDir
	if app == "" {
		app = defaultAppDir(root)
	}
	if err := os.Symlink(app, filepath.Join(r.Dir, "app")); err != nil {
		t.Fatal(err)
	}
	r.Sim, err = awssim.Start(awssim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Sim.Close() })
	r.pluginDir = plugins
	return r
}

// copyProject copies Pulumi.yaml and Pulumi.*.yaml from root to dir.
func copyProject(root, dir string) error {
	files, err := filepath.Glob(filepath.Join(root, "Pulumi*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no Pulumi.yaml in %s", root)
	}
	for _, f := range files {
		data, err := os.ReadFile(f) //nolint:gosec // the repo's own project and stack files
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600); err != nil { //nolint:gosec // into the rehearsal's temp project
			return err
		}
	}
	return nil
}

func defaultAppDir(root string) string {
	app := filepath.Join(root, "app")
	for _, svc := range infra.Services {
		if _, err := os.Stat(filepath.Join(app, svc, "Dockerfile")); err != nil {
			return filepath.Join(root, "internal", "rehearsal", "testdata", "app")
		}
	}
	return app
}

// repoRoot finds the directory of the module's go.mod above the working
// directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod")) //nolint:gosec // go.mod of a parent directory
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/experts/platform\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/experts/platform above the working directory")
		}
		dir = parent
	}
}

// Account is the AWS account a stack of the project deploys to.
func (r *Rehearsal) Account(stack string) (string, error) {
	sf, err := stackfile.Load(r.Dir, stack)
	if err != nil {
		return "", err
	}
	cfg, err := infra.DecodeConfig(stack, sf.Values)
	if err != nil {
		return "", err
	}
	return cfg.AccountID, nil
}

// Env is the AWS environment of a stack's account against the simulator,
// for deployctl or an aws-sdk-go-v2 client in the test.
func (r *Rehearsal) Env(stack string) (map[string]string, error) {
	account, err := r.Account(stack)
	if err != nil {
		return nil, err
	}
	return r.Sim.Env(account), nil
}

// engineEnv is the environment of the Pulumi CLI and its plugins.
func (r *Rehearsal) engineEnv(stack string) (map[string]string, error) {
	env, err := r.Env(stack)
	if err != nil {
		return nil, err
	}
	env["PATH"] = r.pluginDir + string(os.PathListSeparator) + os.Getenv("PATH")
	env["PULUMI_HOME"] = r.home
	env["PULUMI_BACKEND_URL"] = r.Backend
	env["PULUMI_CONFIG_PASSPHRASE"] = Passphrase
	env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
	env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
	env["PULUMI_SKIP_CONFIRMATIONS"] = "true"
	return env, nil
}

// Stack selects (creating it when new) a stack of the program, run inline
// with the project's Pulumi.yaml and stack file.
func (r *Rehearsal) Stack(ctx context.Context, name string) (auto.Stack, error) {
	env, err := r.engineEnv(name)
	if err != nil {
		return auto.Stack{}, err
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: r.cli})
	if err != nil {
		return auto.Stack{}, fmt.Errorf("pulumi CLI: %w", err)
	}
	st, err := auto.UpsertStackInlineSource(ctx, name, infra.Project, infra.Program,
		auto.WorkDir(r.Dir), auto.Pulumi(cmd), auto.EnvVars(env), auto.SecretsProvider("passphrase"), auto.PulumiHome(r.home))
	if err != nil {
		return auto.Stack{}, fmt.Errorf("select rehearsal stack %s: %w", name, err)
	}
	return st, nil
}

// Step is one resource step the engine took.
type Step struct {
	Op   apitype.OpType
	URN  string
	Type string
	// Keys are the properties that caused a replacement.
	Keys []string
}

// Result is what an update did.
type Result struct {
	Steps   []Step
	Outputs auto.OutputMap
	Summary auto.UpdateSummary
	// Log is the engine's progress output.
	Log string
}

// Changed returns the steps that changed something (not "same"), sorted
// by URN then operation.
func (res *Result) Changed() []Step {
	var out []Step
	for _, s := range res.Steps {
		if s.Op != apitype.OpSame && s.Op != apitype.OpRead {
			out = append(out, s)
		}
	}
	sortSteps(out)
	return out
}

func sortSteps(steps []Step) {
	sort.Slice(steps, func(i, j int) bool {
		if steps[i].URN != steps[j].URN {
			return steps[i].URN < steps[j].URN
		}
		return steps[i].Op < steps[j].Op
	})
}

// collect gathers the step events of an operation.
func collect() (chan events.EngineEvent, func() []Step) {
	ch := make(chan events.EngineEvent)
	var (
		steps []Step
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for ev := range ch {
			if ev.ResourcePreEvent != nil {
				m := ev.ResourcePreEvent.Metadata
				steps = append(steps, Step{Op: m.Op, URN: m.URN, Type: m.Type, Keys: m.Keys})
			}
		}
	}()
	return ch, func() []Step { <-done; sortSteps(steps); return steps }
}

// Up runs an update of the stack.
func (r *Rehearsal) Up(ctx context.Context, st auto.Stack, opts ...optup.Option) (*Result, error) {
	ch, steps := collect()
	var log strings.Builder
	res, err := st.Up(ctx, append(opts, optup.EventStreams(ch), optup.ProgressStreams(&log))...)
	out := &Result{Steps: steps(), Outputs: res.Outputs, Summary: res.Summary, Log: log.String()}
	if err != nil {
		return out, fmt.Errorf("up %s: %w\n%s", st.Name(), err, log.String())
	}
	return out, nil
}

// Preview previews an update of the stack.
func (r *Rehearsal) Preview(ctx context.Context, st auto.Stack, opts ...optpreview.Option) (*Result, error) {
	ch, steps := collect()
	var log strings.Builder
	_, err := st.Preview(ctx, append(opts, optpreview.EventStreams(ch), optpreview.ProgressStreams(&log))...)
	out := &Result{Steps: steps(), Log: log.String()}
	if err != nil {
		return out, fmt.Errorf("preview %s: %w\n%s", st.Name(), err, log.String())
	}
	return out, nil
}

// Destroy destroys the stack's resources.
func (r *Rehearsal) Destroy(ctx context.Context, st auto.Stack) (*Result, error) {
	ch, steps := collect()
	var log strings.Builder
	res, err := st.Destroy(ctx, optdestroy.EventStreams(ch), optdestroy.ProgressStreams(&log))
	out := &Result{Steps: steps(), Summary: res.Summary, Log: log.String()}
	if err != nil {
		return out, fmt.Errorf("destroy %s: %w\n%s", st.Name(), err, log.String())
	}
	return out, nil
}

var (
	pluginsOnce sync.Once
	pluginsDir  string
	pluginsErr  error
)

// buildPlugins builds the fake provider plugin once per test binary and
// installs it under the three plugin names.
func buildPlugins() (string, error) {
	pluginsOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			pluginsErr = err
			return
		}
		dir, err := os.MkdirTemp("", "experts-rehearsal-plugins-")
		if err != nil {
			pluginsErr = err
			return
		}
		bin := filepath.Join(dir, "pulumi-resource-aws")
		cmd := exec.CommandContext(context.Background(), "go", "build", "-o", bin, "./internal/fakeprovider/plugin") //nolint:gosec // a path in a temp dir this process made
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			pluginsErr = fmt.Errorf("go build ./internal/fakeprovider/plugin: %w\n%s", err, out)
			return
		}
		for _, name := range []string{"pulumi-resource-awsx", "pulumi-resource-docker"} {
			if err := os.Symlink(bin, filepath.Join(dir, name)); err != nil {
				pluginsErr = err
				return
			}
		}
		pluginsDir = dir
	})
	return pluginsDir, pluginsErr
}

// Main runs a test binary's tests and removes the fake provider plugins it
// built: call it from TestMain, os.Exit(rehearsal.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if pluginsDir != "" {
		_ = os.RemoveAll(pluginsDir)
	}
	return code
}
