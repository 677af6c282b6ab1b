package stacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"gopkg.in/yaml.v3"

	"github.com/experts/platform/infra"
)

// Engine is what the release driver does with one stack through the Pulumi
// engine. LocalEngine is the Automation API implementation; tests pass
// their own.
type Engine interface {
	// Preview plans an update with the given configuration and returns
	// its steps.
	Preview(ctx context.Context, u Update) (*PlanResult, error)
	// Up runs an update and returns its steps and the new outputs.
	Up(ctx context.Context, u Update) (*UpResult, error)
	// History returns the stack's updates, newest first, as the backend
	// keeps them.
	History(ctx context.Context) ([]HistoryEntry, error)
	// Outputs returns the stack's current outputs.
	Outputs(ctx context.Context) (Outputs, error)
}

// Update is one preview or update.
type Update struct {
	// Config are keys handed to this update only, on top of the stack
	// file (objects as JSON text): experts:release and experts:deployment.
	Config map[string]string
	// Message is recorded with the update in the stack's history.
	Message string
	// Refresh reads the actual state of every resource first (drift).
	Refresh bool
	// ExpectNoChanges fails a preview or update that would change anything.
	ExpectNoChanges bool
	// Progress receives the engine's progress output.
	Progress io.Writer
}

// Step is one resource step of a preview or update.
type Step struct {
	URN  string `json:"urn"`
	Type string `json:"type"`
	Op   string `json:"op"`
}

// Name is the logical name of the step's resource (the last part of its
// URN).
func (s Step) Name() string { return s.URN[strings.LastIndex(s.URN, "::")+2:] }

// Changed reports whether the step changes the resource.
func (s Step) Changed() bool { return s.Op != "same" && s.Op != "read" && s.Op != "" }

// PlanResult is a preview's outcome.
type PlanResult struct {
	Steps   []Step         `json:"steps"`
	Changes map[string]int `json:"changes"`
}

// UpResult is an update's outcome.
type UpResult struct {
	Steps   []Step         `json:"steps"`
	Changes map[string]int `json:"changes"`
	Outputs Outputs        `json:"-"`
}

// HistoryEntry is one update in the stack's history. Self-managed backends
// number nothing and keep no outputs; the ledger (Ledger) numbers them.
type HistoryEntry struct {
	Kind        string            `json:"kind"`   // update, refresh, destroy…
	Result      string            `json:"result"` // succeeded, failed, in-progress
	Start       time.Time         `json:"startTime"`
	End         time.Time         `json:"endTime"`
	Message     string            `json:"message,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	// Config is the configuration the update ran with, secrets left out.
	Config          map[string]string `json:"-"`
	ResourceChanges map[string]int    `json:"resourceChanges,omitempty"`
}

// ErrConcurrentUpdate reports that another update holds the stack's lock.
var ErrConcurrentUpdate = errors.New("another update of the stack is in progress")

// ConcurrentUpdateError says that the stack is locked, and by whom when the
// engine says so.
type ConcurrentUpdateError struct {
	Stack string
	// Holder is the engine's description of the lock ("created by
	// runner@host (pid 42) at …"), when it gave one.
	Holder string
	Err    error
}

func (e *ConcurrentUpdateError) Error() string {
	who := ""
	if e.Holder != "" {
		who = " (lock " + e.Holder + ")"
	}
	return fmt.Sprintf("stack %s is being updated by another run%s: wait for it to finish and run again "+
		"(workflows serialize deploys with a concurrency group; never delete the lock while the other run may be writing)", e.Stack, who)
}

// Unwrap lets errors.Is match ErrConcurrentUpdate.
func (e *ConcurrentUpdateError) Unwrap() []error { return []error{ErrConcurrentUpdate, e.Err} }

// classifyEngineError turns the Automation API's errors into the product's
// before anything wraps them (the auto predicates use a plain type
// assertion).
func classifyEngineError(stack, op string, err error) error {
	if err == nil {
		return nil
	}
	if auto.IsConcurrentUpdateError(err) {
		return &ConcurrentUpdateError{Stack: stack, Holder: lockHolder(err.Error()), Err: err}
	}
	return fmt.Errorf("%s stack %s: %w", op, stack, err)
}

// lockHolder finds the "created by …" part of the engine's message about a
// lock file.
func lockHolder(msg string) string {
	for _, line := range strings.Split(msg, "\n") {
		if i := strings.Index(line, "created by "); i >= 0 {
			return strings.TrimSpace(line[i:])
		}
	}
	return ""
}

// LocalEngine runs the repository's program inline (infra.Program) for one
// stack, with the project and stack files of Dir, through the Automation
// API. It needs the Pulumi CLI and the stack's backend (PULUMI_BACKEND_URL
// or pulumi login).
type LocalEngine struct {
	Dir   string
	Stack string

	once sync.Once
	st   auto.Stack
	err  error
}

// EngineFor returns the engine of a stack that is already selected, with
// the project and stack files of dir (the rehearsal's stacks, which carry
// their own environment).
func EngineFor(st auto.Stack, dir string) *LocalEngine {
	e := &LocalEngine{Dir: dir, Stack: st.Name(), st: st}
	e.once.Do(func() {})
	return e
}

func (e *LocalEngine) stack(ctx context.Context) (auto.Stack, error) {
	e.once.Do(func() {
		e.st, e.err = auto.SelectStackLocalSource(ctx, e.Stack, e.Dir, auto.Program(infra.Program))
		if e.err != nil {
			e.err = fmt.Errorf("select stack %s: %w", e.Stack, e.err)
		}
	})
	return e.st, e.err
}

// configFile writes the stack file with the update's own keys added to a
// temporary file and returns its path: the update runs with it
// (--config-file), so the history entry records those keys while the
// checkout's stack file stays as committed. The returned function removes
// the file.
func (e *LocalEngine) configFile(extra map[string]string) (string, func(), error) {
	if len(extra) == 0 {
		return "", func() {}, nil
	}
	src := filepath.Join(e.Dir, "Pulumi."+e.Stack+".yaml")
	doc, err := WithStackConfig(src, extra)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "deployctl-config-")
	if err != nil {
		return "", nil, fmt.Errorf("write update config: %w", err)
	}
	path := filepath.Join(dir, "Pulumi."+e.Stack+".yaml")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("write update config: %w", err)
	}
	return path, func() { _ = os.RemoveAll(dir) }, nil
}

// WithStackConfig returns the stack file at path with the given keys set
// under config: (objects given as JSON text become YAML objects). Every
// other key, secure values and the encryption salt stay as they are.
func WithStackConfig(path string, extra map[string]string) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if doc == nil {
		doc = map[string]any{}
	}
	cfg, _ := doc["config"].(map[string]any)
	if cfg == nil {
		cfg = map[string]any{}
	}
	for _, k := range sortedKeys(extra) {
		var v any
		if err := json.Unmarshal([]byte(extra[k]), &v); err != nil {
			v = extra[k] // plain text
		}
		cfg[k] = v
	}
	doc["config"] = cfg
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render update config: %w", err)
	}
	return out, nil
}

// collectSteps gathers the resource steps of an engine event stream. The
// returned function, called once the operation has returned, waits for the
// stream to end, but not for long: the Automation API does not close the
// stream of an operation that failed before the engine started.
func collectSteps(ch <-chan events.EngineEvent) func() []Step {
	var (
		mu    sync.Mutex
		steps []Step
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for ev := range ch {
			if ev.ResourcePreEvent != nil {
				m := ev.ResourcePreEvent.Metadata
				mu.Lock()
				steps = append(steps, Step{URN: m.URN, Type: m.Type, Op: string(m.Op)})
				mu.Unlock()
			}
		}
	}()
	return func() []Step {
		select {
		case <-done:
		case <-time.After(streamGrace):
		}
		mu.Lock()
		defer mu.Unlock()
		out := append([]Step(nil), steps...)
		sort.SliceStable(out, func(i, j int) bool { return out[i].URN < out[j].URN })
		return out
	}
}

// streamGrace is how long an operation's event stream may take to end
// after the operation returned.
const streamGrace = 5 * time.Second

// Preview implements Engine.
func (e *LocalEngine) Preview(ctx context.Context, u Update) (*PlanResult, error) {
	st, err := e.stack(ctx)
	if err != nil {
		return nil, err
	}
	path, cleanup, err := e.configFile(u.Config)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	ch := make(chan events.EngineEvent)
	wait := collectSteps(ch)
	opts := []optpreview.Option{optpreview.EventStreams(ch)}
	if path != "" {
		opts = append(opts, optpreview.ConfigFile(path))
	}
	if u.Message != "" {
		opts = append(opts, optpreview.Message(u.Message))
	}
	if u.Refresh {
		opts = append(opts, optpreview.Refresh())
	}
	if u.ExpectNoChanges {
		opts = append(opts, optpreview.ExpectNoChanges())
	}
	if u.Progress != nil {
		opts = append(opts, optpreview.ProgressStreams(u.Progress), optpreview.Diff())
	}
	res, err := st.Preview(ctx, opts...)
	steps := wait()
	if err != nil {
		return &PlanResult{Steps: steps}, classifyEngineError(e.Stack, "preview", err)
	}
	changes := make(map[string]int, len(res.ChangeSummary))
	for op, n := range res.ChangeSummary {
		changes[string(op)] = n
	}
	return &PlanResult{Steps: steps, Changes: changes}, nil
}

// Up implements Engine.
func (e *LocalEngine) Up(ctx context.Context, u Update) (*UpResult, error) {
	st, err := e.stack(ctx)
	if err != nil {
		return nil, err
	}
	path, cleanup, err := e.configFile(u.Config)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	ch := make(chan events.EngineEvent)
	wait := collectSteps(ch)
	opts := []optup.Option{optup.EventStreams(ch)}
	if path != "" {
		opts = append(opts, optup.ConfigFile(path))
	}
	if u.Message != "" {
		opts = append(opts, optup.Message(u.Message))
	}
	if u.Refresh {
		opts = append(opts, optup.Refresh())
	}
	if u.ExpectNoChanges {
		opts = append(opts, optup.ExpectNoChanges())
	}
	if u.Progress != nil {
		opts = append(opts, optup.ProgressStreams(u.Progress))
	}
	res, err := st.Up(ctx, opts...)
	steps := wait()
	if err != nil {
		return &UpResult{Steps: steps}, classifyEngineError(e.Stack, "update", err)
	}
	out := &UpResult{Steps: steps, Outputs: plainOutputs(res.Outputs)}
	if res.Summary.ResourceChanges != nil {
		out.Changes = *res.Summary.ResourceChanges
	}
	return out, nil
}

// History implements Engine. Secret config values are left out.
func (e *LocalEngine) History(ctx context.Context) ([]HistoryEntry, error) {
	st, err := e.stack(ctx)
	if err != nil {
		return nil, err
	}
	hist, err := st.History(ctx, 0, 0, opthistory.ShowSecrets(false))
	if err != nil {
		return nil, classifyEngineError(e.Stack, "read history of", err)
	}
	out := make([]HistoryEntry, 0, len(hist))
	for _, h := range hist {
		out = append(out, historyEntry(h))
	}
	return out, nil
}

func historyEntry(h auto.UpdateSummary) HistoryEntry {
	entry := HistoryEntry{
		Kind:        h.Kind,
		Result:      h.Result,
		Start:       parseTime(h.StartTime),
		Message:     h.Message,
		Environment: h.Environment,
		Config:      map[string]string{},
	}
	if h.EndTime != nil {
		entry.End = parseTime(*h.EndTime)
	}
	if h.ResourceChanges != nil {
		entry.ResourceChanges = *h.ResourceChanges
	}
	for k, v := range h.Config {
		if !v.Secret {
			entry.Config[k] = v.Value
		}
	}
	return entry
}

func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999 -0700 MST"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// Outputs implements Engine.
func (e *LocalEngine) Outputs(ctx context.Context) (Outputs, error) {
	st, err := e.stack(ctx)
	if err != nil {
		return nil, err
	}
	outs, err := st.Outputs(ctx)
	if err != nil {
		return nil, classifyEngineError(e.Stack, "read outputs of", err)
	}
	return plainOutputs(outs), nil
}

func plainOutputs(outs auto.OutputMap) Outputs {
	plain := make(Outputs, len(outs))
	for k, v := range outs {
		if !v.Secret {
			plain[k] = v.Value
		}
	}
	return plain
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
