package workflows

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// ActionOptions are what the action simulations need from the machine.
type ActionOptions struct {
	// PulumiCLI is the Pulumi CLI binary pulumi/actions installs, and
	// PulumiVersion its version (the pulumi-version input must equal it).
	PulumiCLI     string
	PulumiVersion string
	// AssumeRole returns the environment configure-aws-credentials exports
	// for role in region (credentials, AWS_REGION…), or the error the
	// action would fail with.
	AssumeRole func(ctx context.Context, role, region string) (map[string]string, error)
	// CallerAccount returns the account of the credentials in env, which
	// configure-aws-credentials compares with allowed-account-ids.
	CallerAccount func(ctx context.Context, env map[string]string) (string, error)
}

// StandardActions returns simulations of the actions the workflows use.
// Each checks its inputs as the action does and fails the step where the
// action would.
func StandardActions(opts ActionOptions) map[string]Action {
	return map[string]Action{
		ActionCheckout:              simulateCheckout,
		"actions/setup-go":          simulateSetup("go", "go-version-file"),
		"actions/setup-node":        simulateSetup("node", "cache-dependency-path"),
		"pulumi/actions":            opts.simulatePulumi,
		ActionAWSCredentials:        opts.simulateCredentials,
		ActionUploadArtifact:        simulateUpload,
		"actions/download-artifact": simulateDownload,
	}
}

func knownInputs(call *ActionCall, known ...string) error {
	for k := range call.Inputs {
		found := false
		for _, x := range known {
			found = found || x == k
		}
		if !found {
			return fmt.Errorf("%s has no input %q", call.Step.Action(), k)
		}
	}
	return nil
}

// simulateCheckout: the rehearsal runs in the repository itself.
func simulateCheckout(_ context.Context, call *ActionCall) error {
	return knownInputs(call, "persist-credentials", "fetch-depth", "fetch-tags", "ref")
}

func simulateSetup(tool, fileInput string) Action {
	return func(_ context.Context, call *ActionCall) error {
		if err := knownInputs(call, "go-version-file", "go-version", "node-version", "node-version-file", "cache", "cache-dependency-path"); err != nil {
			return err
		}
		if f := call.Inputs[fileInput]; f != "" {
			if _, err := os.Stat(filepath.Join(call.Runner.Dir, f)); err != nil {
				return fmt.Errorf("%s: %s: %w", call.Step.Action(), fileInput, err)
			}
		}
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s: %s is not installed on this machine: %w", call.Step.Action(), tool, err)
		}
		return nil
	}
}

func (o ActionOptions) simulatePulumi(_ context.Context, call *ActionCall) error {
	if err := knownInputs(call, "pulumi-version", "command", "stack-name", "work-dir"); err != nil {
		return err
	}
	if call.Inputs["command"] != "" {
		return errors.New("pulumi/actions with a command is not simulated: the workflows run pulumi through deployctl")
	}
	if o.PulumiCLI == "" {
		return errors.New("pulumi/actions: no Pulumi CLI on this machine (bash .ci/test builds it)")
	}
	if v := strings.TrimPrefix(call.Inputs["pulumi-version"], "v"); v != strings.TrimPrefix(o.PulumiVersion, "v") {
		return fmt.Errorf("pulumi/actions installs %q, but the program is tested with %s", v, o.PulumiVersion)
	}
	call.AddPath = append(call.AddPath, filepath.Dir(o.PulumiCLI))
	return nil
}

func (o ActionOptions) simulateCredentials(ctx context.Context, call *ActionCall) error {
	if err := knownInputs(call, "role-to-assume", "aws-region", "allowed-account-ids", "role-duration-seconds", "role-session-name"); err != nil {
		return err
	}
	role, region := call.Inputs["role-to-assume"], call.Inputs["aws-region"]
	if role == "" || region == "" {
		return fmt.Errorf("configure-aws-credentials: role-to-assume %q and aws-region %q are both required", role, region)
	}
	if o.AssumeRole == nil {
		return errors.New("configure-aws-credentials: no AWS to assume a role in")
	}
	env, err := o.AssumeRole(ctx, role, region)
	if err != nil {
		return fmt.Errorf("configure-aws-credentials: assume %s: %w", role, err)
	}
	if allowed := call.Inputs["allowed-account-ids"]; allowed != "" && o.CallerAccount != nil {
		account, err := o.CallerAccount(ctx, env)
		if err != nil {
			return fmt.Errorf("configure-aws-credentials: caller identity: %w", err)
		}
		ok := false
		for _, a := range strings.Split(allowed, ",") {
			ok = ok || strings.TrimSpace(a) == account
		}
		if !ok {
			return fmt.Errorf("configure-aws-credentials: the role's account %s is not in allowed-account-ids %q", account, allowed)
		}
	}
	for k, v := range env {
		call.SetEnv[k] = v
	}
	return nil
}

// ArtifactStore holds one run's artifacts: name → directory.
type ArtifactStore struct {
	Dir   string
	mu    sync.Mutex
	names map[string]string
}

// Names lists the artifacts uploaded so far.
func (a *ArtifactStore) Names() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return sortedKeys(a.names)
}

// Path is where artifact name's files are, or "".
func (a *ArtifactStore) Path(name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.names[name]
}

func simulateUpload(_ context.Context, call *ActionCall) error {
	if err := knownInputs(call, "name", "path", "if-no-files-found", "include-hidden-files", "retention-days", "overwrite"); err != nil {
		return err
	}
	store := call.Runner.Artifacts
	name, src := call.Inputs["name"], call.Inputs["path"]
	if name == "" || src == "" {
		return errors.New("upload-artifact: name and path are required")
	}
	if strings.ContainsAny(src, "*?\n") {
		return errors.New("upload-artifact: patterns and several paths are not simulated")
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(call.Runner.Dir, src)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if _, dup := store.names[name]; dup && call.Inputs["overwrite"] != "true" {
		return fmt.Errorf("upload-artifact: an artifact named %s already exists in this run", name)
	}
	dst := filepath.Join(store.Dir, fmt.Sprintf("%03d", len(store.names)))
	n, err := copyTree(src, dst, call.Inputs["include-hidden-files"] == "true")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("upload-artifact: %w", err)
	}
	if n == 0 {
		switch call.Inputs["if-no-files-found"] {
		case "error":
			return fmt.Errorf("upload-artifact: no files found at %s", call.Inputs["path"])
		case "ignore":
		default:
			fmt.Fprintf(call.Runner.logOrDiscard(), "::warning::No files were found with the provided path: %s. No artifacts will be uploaded.\n", call.Inputs["path"])
		}
		return nil
	}
	if store.names == nil {
		store.names = map[string]string{}
	}
	store.names[name] = dst
	return nil
}

func simulateDownload(_ context.Context, call *ActionCall) error {
	if err := knownInputs(call, "name", "pattern", "path", "merge-multiple"); err != nil {
		return err
	}
	store := call.Runner.Artifacts
	dst := call.Inputs["path"]
	if dst == "" {
		dst = call.Runner.Dir
	}
	if !filepath.IsAbs(dst) {
		dst = filepath.Join(call.Runner.Dir, dst)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if name := call.Inputs["name"]; name != "" {
		src, ok := store.names[name]
		if !ok {
			return fmt.Errorf("download-artifact: artifact %s not found (uploaded: %v)", name, sortedKeys(store.names))
		}
		_, err := copyTree(src, dst, true)
		return err
	}
	var matched []string
	for _, n := range sortedKeys(store.names) {
		if ok, _ := path.Match(call.Inputs["pattern"], n); ok {
			matched = append(matched, n)
		}
	}
	sort.Strings(matched)
	for _, n := range matched {
		if _, err := copyTree(store.names[n], filepath.Join(dst, n), true); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) logOrDiscard() interface{ Write([]byte) (int, error) } {
	if r.Log != nil {
		return r.Log
	}
	return discard{}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// copyTree copies the file or directory src to dst and returns how many
// files it copied.
func copyTree(src, dst string, hidden bool) (int, error) {
	n := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if !hidden && rel != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		if rel == "." {
			target = filepath.Join(dst, d.Name())
		}
		data, err := os.ReadFile(p) //nolint:gosec // the artifact a step named, as upload-artifact reads it
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return err
		}
		n++
		return os.WriteFile(target, data, 0o600) //nolint:gosec // under the artifact store or the path the step named
	})
	return n, err
}
