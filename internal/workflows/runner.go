package workflows

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Runner runs the steps of one job on this machine as a GitHub-hosted
// runner would: run: scripts under bash with the step's environment
// (expressions evaluated strictly, see Context), GITHUB_OUTPUT, GITHUB_ENV,
// GITHUB_PATH and GITHUB_STEP_SUMMARY files read back after every step,
// step outputs and job outputs passed on, and uses: steps handed to the
// action simulations in Actions (an action without one is an error).
type Runner struct {
	// Dir is the checked-out repository (GITHUB_WORKSPACE).
	Dir string
	// Temp is RUNNER_TEMP; each job gets a fresh directory under it.
	Temp string
	// Env is the machine's environment (PATH, HOME, the simulator's
	// endpoints…), the base of every step's environment.
	Env map[string]string
	// GitHub is the github context (event_name, ref, sha, repository,
	// run_id, event…); GITHUB_* variables are derived from it.
	GitHub map[string]any
	// Vars are the variables of the job's environment and repository.
	Vars map[string]string
	// Secrets are the secrets a job may read (GITHUB_TOKEN only here).
	Secrets map[string]string
	// Actions simulate uses: steps by action name ("actions/checkout").
	Actions map[string]Action
	// Artifacts is the run's artifact store, shared by the jobs of one run.
	Artifacts *ArtifactStore
	// Log receives every step's output, as a job log would.
	Log io.Writer
	// Prepare, when set, runs once per job on its fresh RUNNER_TEMP before
	// the first step (a tool cache, as setup actions restore one).
	Prepare func(jobTemp string) error
}

// Action simulates one action: it gets the evaluated inputs and may set
// outputs, environment variables and PATH entries for later steps.
type Action func(ctx context.Context, call *ActionCall) error

// ActionCall is one uses: step being simulated.
type ActionCall struct {
	Step   Step
	Inputs map[string]string
	// Env is the step's environment (read-only).
	Env     map[string]string
	Runner  *Runner
	JobTemp string
	Outputs map[string]string
	// SetEnv and AddPath change the environment of later steps.
	SetEnv  map[string]string
	AddPath []string
}

// StepResult is what one step did.
type StepResult struct {
	Label   string
	Skipped bool
	Failed  bool
	Err     error
	Outputs map[string]string
}

// JobResult is what one job did.
type JobResult struct {
	Job     string
	Result  string // success, failure or skipped
	Outputs map[string]string
	Steps   []StepResult
	// Summary is everything the steps wrote to GITHUB_STEP_SUMMARY.
	Summary string
	// Errors are the ::error workflow commands the steps printed.
	Errors []string
	// Log is the job's whole log.
	Log string
}

// Failed returns the first failed step, or nil.
func (r *JobResult) Failed() *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Failed {
			return &r.Steps[i]
		}
	}
	return nil
}

// RunJob runs job id of w with the given matrix combination (nil without
// one) and the results of the jobs it needs. Errors are problems of the
// rehearsal itself (an expression that cannot be evaluated, an action
// without a simulation); a failing step is a JobResult with Result
// "failure".
func (r *Runner) RunJob(ctx context.Context, w *Workflow, id string, matrix map[string]string, needs map[string]*JobResult) (*JobResult, error) {
	j := w.Jobs[id]
	if j == nil {
		return nil, fmt.Errorf("%s has no job %s", w.File, id)
	}
	res := &JobResult{Job: id, Outputs: map[string]string{}}
	for _, n := range j.Needs {
		if needs[n] == nil {
			return nil, fmt.Errorf("job %s needs %s, which has not run", id, n)
		}
	}
	jobTemp, err := os.MkdirTemp(r.Temp, id+"-")
	if err != nil {
		return nil, fmt.Errorf("job temp: %w", err)
	}
	if r.Prepare != nil {
		if err := r.Prepare(jobTemp); err != nil {
			return nil, fmt.Errorf("prepare job %s: %w", id, err)
		}
	}
	var log strings.Builder
	logw := io.Writer(&log)
	if r.Log != nil {
		logw = io.MultiWriter(&log, r.Log)
	}
	defer func() { res.Log = log.String() }()

	steps := map[string]any{}
	ectx := &Context{Values: r.contextValues(jobTemp, matrix, needs, steps)}
	for _, n := range j.Needs {
		if needs[n].Result != "success" {
			ectx.Failed = true
		}
	}
	run, err := ectx.Condition(j.If)
	if err != nil {
		return nil, fmt.Errorf("job %s if: %w", id, err)
	}
	if !run {
		res.Result = "skipped"
		return res, nil
	}
	if j.Environment != "" {
		if _, err := ectx.Interpolate(j.Environment); err != nil {
			return nil, fmt.Errorf("job %s environment: %w", id, err)
		}
	}

	env := map[string]string{}
	for k, v := range r.Env {
		env[k] = v
	}
	for k, v := range r.defaultEnv(jobTemp) {
		env[k] = v
	}
	for _, scope := range []map[string]string{w.Env, j.Env} {
		for _, k := range sortedKeys(scope) {
			v, err := ectx.Interpolate(scope[k])
			if err != nil {
				return nil, fmt.Errorf("job %s env %s: %w", id, k, err)
			}
			env[k] = v
		}
	}
	var paths []string
	failed := false
	for i, s := range j.Steps {
		ectx.Failed = failed
		ectx.Values["env"] = toAnyMap(env)
		sr := StepResult{Label: s.Label(), Outputs: map[string]string{}}
		ok, err := ectx.Condition(s.If)
		if err != nil {
			return nil, fmt.Errorf("job %s step %q if: %w", id, s.Label(), err)
		}
		if !ok {
			sr.Skipped = true
			res.Steps = append(res.Steps, sr)
			fmt.Fprintf(logw, "::group::%s (skipped)\n::endgroup::\n", s.Label())
			continue
		}
		stepEnv := map[string]string{}
		for k, v := range env {
			stepEnv[k] = v
		}
		for _, k := range sortedKeys(s.Env) {
			v, err := ectx.Interpolate(s.Env[k])
			if err != nil {
				return nil, fmt.Errorf("job %s step %q env %s: %w", id, s.Label(), k, err)
			}
			stepEnv[k] = v
		}
		if len(paths) > 0 {
			stepEnv["PATH"] = strings.Join(paths, string(os.PathListSeparator)) + string(os.PathListSeparator) + stepEnv["PATH"]
		}
		files, err := newStepFiles(jobTemp, i)
		if err != nil {
			return nil, err
		}
		for k, v := range files.env() {
			stepEnv[k] = v
		}
		fmt.Fprintf(logw, "::group::%s\n", s.Label())
		var stepErr error
		switch {
		case s.Run != "":
			stepErr = r.runScript(ctx, w, s, i, jobTemp, stepEnv, logw)
		case s.Uses != "":
			stepErr, err = r.runAction(ctx, s, ectx, stepEnv, jobTemp, files)
			if err != nil {
				return nil, fmt.Errorf("job %s step %q: %w", id, s.Label(), err)
			}
		default:
			return nil, fmt.Errorf("job %s step %q has neither run nor uses", id, s.Label())
		}
		fmt.Fprintf(logw, "::endgroup::\n")
		outs, newEnv, newPaths, summary, err := files.read()
		if err != nil {
			return nil, fmt.Errorf("job %s step %q: %w", id, s.Label(), err)
		}
		for k, v := range outs {
			sr.Outputs[k] = v
		}
		for k, v := range newEnv {
			env[k] = v
		}
		paths = append(newPaths, paths...)
		res.Summary += summary
		if stepErr != nil {
			sr.Err = stepErr
			if !s.ContinueOnError {
				sr.Failed = true
				failed = true
			}
			fmt.Fprintf(logw, "step %q failed: %v\n", s.Label(), stepErr)
		}
		if s.ID != "" {
			outcome := "success"
			if stepErr != nil {
				outcome = "failure"
			}
			steps[s.ID] = map[string]any{"outputs": toAnyMap(sr.Outputs), "outcome": outcome, "conclusion": outcome}
		}
		res.Steps = append(res.Steps, sr)
	}
	res.Errors = errorAnnotations(log.String())
	res.Result = "success"
	if failed {
		res.Result = "failure"
	}
	ectx.Failed = failed
	for _, k := range sortedKeys(j.Outputs) {
		v, err := ectx.Interpolate(j.Outputs[k])
		if err != nil {
			if failed && errors.Is(err, ErrMissing) {
				continue // a failed job's missing outputs stay unset
			}
			return nil, fmt.Errorf("job %s output %s: %w", id, k, err)
		}
		res.Outputs[k] = v
	}
	return res, nil
}

func (r *Runner) contextValues(jobTemp string, matrix map[string]string, needs map[string]*JobResult, steps map[string]any) map[string]any {
	needsCtx := map[string]any{}
	for id, n := range needs {
		needsCtx[id] = map[string]any{"outputs": toAnyMap(n.Outputs), "result": n.Result}
	}
	github := map[string]any{}
	for k, v := range r.GitHub {
		github[k] = v
	}
	github["workspace"] = r.Dir
	if _, ok := github["token"]; !ok {
		github["token"] = r.Secrets["GITHUB_TOKEN"]
	}
	values := map[string]any{
		"github":  github,
		"vars":    toAnyMap(r.Vars),
		"secrets": toAnyMap(r.Secrets),
		"steps":   steps,
		"needs":   needsCtx,
		"runner":  map[string]any{"temp": jobTemp, "os": "Linux", "arch": "X64"},
		"job":     map[string]any{"status": "success"},
	}
	if matrix != nil {
		values["matrix"] = toAnyMap(matrix)
	}
	return values
}

// defaultEnv is what GitHub sets for every step.
func (r *Runner) defaultEnv(jobTemp string) map[string]string {
	str := func(k string) string { return toString(r.GitHub[k]) }
	ref := str("ref")
	refName := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	refType := "branch"
	if strings.HasPrefix(ref, "refs/tags/") {
		refType = "tag"
	}
	return map[string]string{
		"CI":                "true",
		"GITHUB_ACTIONS":    "true",
		"GITHUB_WORKSPACE":  r.Dir,
		"GITHUB_EVENT_NAME": str("event_name"),
		"GITHUB_REF":        ref,
		"GITHUB_REF_NAME":   refName,
		"GITHUB_REF_TYPE":   refType,
		"GITHUB_SHA":        str("sha"),
		"GITHUB_REPOSITORY": str("repository"),
		"GITHUB_ACTOR":      str("actor"),
		"GITHUB_RUN_ID":     str("run_id"),
		"GITHUB_RUN_NUMBER": str("run_number"),
		// GITHUB_RUN_ATTEMPT and the server URL make run links.
		"GITHUB_RUN_ATTEMPT": str("run_attempt"),
		"GITHUB_SERVER_URL":  str("server_url"),
		"RUNNER_TEMP":        jobTemp,
		"RUNNER_OS":          "Linux",
	}
}

// runScript runs one run: step as GitHub does for shell: bash
// (bash --noprofile --norc -eo pipefail), in its working directory.
func (r *Runner) runScript(ctx context.Context, w *Workflow, s Step, i int, jobTemp string, env map[string]string, log io.Writer) error {
	shell := s.Shell
	if shell == "" {
		shell = w.DefaultShell
	}
	args := []string{"-e"}
	if shell == "bash" {
		args = []string{"--noprofile", "--norc", "-eo", "pipefail"}
	} else if shell != "" {
		return fmt.Errorf("shell %q is not simulated", shell)
	}
	script := filepath.Join(jobTemp, fmt.Sprintf("step-%02d.sh", i))
	if err := os.WriteFile(script, []byte(s.Run), 0o600); err != nil {
		return fmt.Errorf("write script: %w", err)
	}
	cmd := exec.CommandContext(ctx, "bash", append(args, script)...) //nolint:gosec // running the workflow's own script is the point
	cmd.Dir = r.Dir
	if s.WorkingDirectory != "" {
		cmd.Dir = filepath.Join(r.Dir, s.WorkingDirectory)
	}
	cmd.Env = envList(env)
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// runAction simulates a uses: step. The first error is the step's failure,
// the second a problem of the rehearsal.
func (r *Runner) runAction(ctx context.Context, s Step, ectx *Context, env map[string]string, jobTemp string, files *stepFiles) (error, error) {
	sim := r.Actions[s.Action()]
	if sim == nil {
		return nil, fmt.Errorf("no simulation for action %s", s.Action())
	}
	inputs := map[string]string{}
	for _, k := range sortedKeys(s.With) {
		v, err := ectx.Interpolate(s.With[k])
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", k, err)
		}
		inputs[k] = v
	}
	call := &ActionCall{Step: s, Inputs: inputs, Env: env, Runner: r, JobTemp: jobTemp,
		Outputs: map[string]string{}, SetEnv: map[string]string{}}
	stepErr := sim(ctx, call)
	var b strings.Builder
	for _, k := range sortedKeys(call.Outputs) {
		fmt.Fprintf(&b, "%s<<EOF_OUTPUT\n%s\nEOF_OUTPUT\n", k, call.Outputs[k])
	}
	if err := appendFile(files.output, b.String()); err != nil {
		return nil, err
	}
	b.Reset()
	for _, k := range sortedKeys(call.SetEnv) {
		fmt.Fprintf(&b, "%s<<EOF_ENV\n%s\nEOF_ENV\n", k, call.SetEnv[k])
	}
	if err := appendFile(files.envFile, b.String()); err != nil {
		return nil, err
	}
	if err := appendFile(files.path, strings.Join(append(call.AddPath, ""), "\n")); err != nil {
		return nil, err
	}
	return stepErr, nil
}

func appendFile(path, s string) error {
	if s == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600) //nolint:gosec // a step file this runner created
	if err != nil {
		return fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	if _, err := f.WriteString(s); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

// stepFiles are the per-step files GitHub passes in GITHUB_OUTPUT,
// GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY.
type stepFiles struct {
	output, envFile, path, summary string
}

func newStepFiles(dir string, i int) (*stepFiles, error) {
	f := &stepFiles{}
	for name, p := range map[string]*string{"output": &f.output, "env": &f.envFile, "path": &f.path, "summary": &f.summary} {
		*p = filepath.Join(dir, fmt.Sprintf("step-%02d.%s", i, name))
		if err := os.WriteFile(*p, nil, 0o600); err != nil {
			return nil, fmt.Errorf("create %s file: %w", name, err)
		}
	}
	return f, nil
}

func (f *stepFiles) env() map[string]string {
	return map[string]string{"GITHUB_OUTPUT": f.output, "GITHUB_ENV": f.envFile, "GITHUB_PATH": f.path, "GITHUB_STEP_SUMMARY": f.summary}
}

func (f *stepFiles) read() (outputs, env map[string]string, paths []string, summary string, err error) {
	if outputs, err = readKeyValues(f.output); err != nil {
		return nil, nil, nil, "", fmt.Errorf("GITHUB_OUTPUT: %w", err)
	}
	if env, err = readKeyValues(f.envFile); err != nil {
		return nil, nil, nil, "", fmt.Errorf("GITHUB_ENV: %w", err)
	}
	p, err := os.ReadFile(f.path)
	if err != nil {
		return nil, nil, nil, "", fmt.Errorf("GITHUB_PATH: %w", err)
	}
	for _, line := range strings.Split(string(p), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			paths = append([]string{line}, paths...)
		}
	}
	s, err := os.ReadFile(f.summary)
	if err != nil {
		return nil, nil, nil, "", fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	return outputs, env, paths, string(s), nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// readKeyValues parses the name=value and name<<DELIMITER forms GitHub
// accepts in GITHUB_OUTPUT and GITHUB_ENV; anything else is an error, as
// on GitHub ("Unable to process file command").
func readKeyValues(path string) (map[string]string, error) {
	f, err := os.Open(path) //nolint:gosec // a step file this runner created
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok && envName.MatchString(name) && !strings.Contains(name, "=") {
			var value []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				value = append(value, sc.Text())
			}
			if !closed {
				return nil, fmt.Errorf("%s: no closing delimiter %q", name, delim)
			}
			out[name] = strings.Join(value, "\n")
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !envName.MatchString(name) {
			return nil, fmt.Errorf("invalid line %q (want name=value or name<<DELIMITER)", line)
		}
		out[name] = value
	}
	return out, sc.Err()
}

var errorCommand = regexp.MustCompile(`(?m)^::error(?: [^:]*)?::(.*)$`)

func errorAnnotations(log string) []string {
	var out []string
	for _, m := range errorCommand.FindAllStringSubmatch(log, -1) {
		out = append(out, m[1])
	}
	return out
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, k+"="+m[k])
	}
	return out
}
