// Package workflows reads this repository's GitHub Actions workflows into a
// small typed model, checks them against the hardening rules the pipelines
// depend on (Check), and runs a job's steps on this machine the way a runner
// would, with GitHub's environment simulated (Runner), so that the commands
// the workflows run are rehearsed by the test suite.
package workflows

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Workflow is one workflow file.
type Workflow struct {
	// File is the file's base name, such as "backend.yml".
	File string
	Name string
	// On maps each trigger (push, pull_request, schedule…) to its filter;
	// a trigger without settings has an empty Trigger.
	On map[string]Trigger
	// Permissions are the workflow-level permissions.
	Permissions Permissions
	// DefaultShell is defaults.run.shell ("" when unset).
	DefaultShell string
	Env          map[string]string
	Jobs         map[string]*Job
	// JobOrder lists the job ids in file order.
	JobOrder []string
}

// Trigger is the filter of one event.
type Trigger struct {
	Branches []string
	Tags     []string
	Paths    []string
	// PathsIgnore and the other *-ignore filters are kept to be refused.
	PathsIgnore    []string
	BranchesIgnore []string
	TagsIgnore     []string
	// Cron holds the schedules of a schedule trigger.
	Cron []string
}

// Permissions is a permissions block: unset, a scalar (read-all,
// write-all) or a map of scopes to read/write/none.
type Permissions struct {
	Set    bool
	All    string
	Scopes map[string]string
}

// Job is one job.
type Job struct {
	ID             string
	Name           string
	RunsOn         string
	Needs          []string
	If             string
	TimeoutMinutes int
	// Environment is the environment name ("" without one); EnvironmentURL
	// its url.
	Environment    string
	EnvironmentURL string
	Concurrency    *Concurrency
	Permissions    Permissions
	// Matrix is the strategy's matrix: each combination, include entries
	// expanded (nil without a strategy).
	Matrix  []map[string]string
	Outputs map[string]string
	Env     map[string]string
	Steps   []Step
}

// Concurrency is a job's concurrency setting.
type Concurrency struct {
	Group            string
	CancelInProgress string
}

// Step is one step of a job.
type Step struct {
	ID   string
	Name string
	// Uses is the action reference, and UsesComment the comment on its line
	// (the version a full commit id stands for).
	Uses             string
	UsesComment      string
	Run              string
	If               string
	Shell            string
	WorkingDirectory string
	With             map[string]string
	Env              map[string]string
	ContinueOnError  bool
	// Line is the step's line in the file.
	Line int
}

// Label names the step for messages: its name, id, action or first line
// of its script.
func (s Step) Label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.ID != "":
		return s.ID
	case s.Uses != "":
		return s.Uses
	default:
		first, _, _ := strings.Cut(strings.TrimSpace(s.Run), "\n")
		return first
	}
}

// Action returns the action of a uses: step without its ref
// ("actions/checkout"), or "".
func (s Step) Action() string {
	a, _, _ := strings.Cut(s.Uses, "@")
	return a
}

// Ref returns the ref a uses: step pins ("3d3c42e…", "v7"), or "".
func (s Step) Ref() string {
	_, ref, _ := strings.Cut(s.Uses, "@")
	return ref
}

// StepsUsing returns the steps of the job that use action (without ref).
func (j *Job) StepsUsing(action string) []Step {
	var out []Step
	for _, s := range j.Steps {
		if s.Action() == action {
			out = append(out, s)
		}
	}
	return out
}

// LoadDir parses every .yml and .yaml file of dir.
func LoadDir(dir string) ([]*Workflow, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read workflows: %w", err)
	}
	var out []*Workflow
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name())) //nolint:gosec // a file of the directory asked for
		if err != nil {
			return nil, fmt.Errorf("read workflow: %w", err)
		}
		w, err := Parse(e.Name(), src)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// Parse reads one workflow file. Keys it does not know are ignored; values
// of the wrong shape are errors that name the file and the key.
func Parse(file string, src []byte) (*Workflow, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("parse %s: not a mapping", file)
	}
	p := &parser{file: file}
	w := &Workflow{File: file, Jobs: map[string]*Job{}}
	for k, v := range pairs(doc.Content[0]) {
		switch k.Value {
		case "name":
			w.Name = p.scalar(v, "name")
		case "on", "true": // yaml 1.1 reads an unquoted on as true
			w.On = p.triggers(v)
		case "permissions":
			w.Permissions = p.permissions(v, "permissions")
		case "defaults":
			w.DefaultShell = p.defaultShell(v, "defaults")
		case "env":
			w.Env = p.stringMap(v, "env")
		case "jobs":
			for id, jv := range pairs(v) {
				j := p.job(id.Value, jv)
				w.Jobs[id.Value] = j
				w.JobOrder = append(w.JobOrder, id.Value)
			}
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return w, nil
}

type parser struct {
	file string
	err  error
}

func (p *parser) fail(n *yaml.Node, key, format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("parse %s:%d: %s: %s", p.file, n.Line, key, fmt.Sprintf(format, args...))
	}
}

// pairs iterates over the key/value nodes of a mapping (nothing for other
// nodes).
func pairs(n *yaml.Node) func(func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

func (p *parser) scalar(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode {
		p.fail(n, key, "want a single value")
		return ""
	}
	return n.Value
}

// list accepts a sequence of scalars or one scalar.
func (p *parser) list(n *yaml.Node, key string) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			out = append(out, p.scalar(c, key))
		}
		return out
	default:
		p.fail(n, key, "want a list")
		return nil
	}
}

func (p *parser) stringMap(n *yaml.Node, key string) map[string]string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n, key, "want a mapping")
		return nil
	}
	out := map[string]string{}
	for k, v := range pairs(n) {
		out[k.Value] = p.scalar(v, key+"."+k.Value)
	}
	return out
}

func (p *parser) triggers(n *yaml.Node) map[string]Trigger {
	out := map[string]Trigger{}
	switch n.Kind {
	case yaml.ScalarNode:
		out[n.Value] = Trigger{}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			out[p.scalar(c, "on")] = Trigger{}
		}
	case yaml.MappingNode:
		for k, v := range pairs(n) {
			key := "on." + k.Value
			var t Trigger
			if k.Value == "schedule" {
				for _, c := range v.Content {
					for ck, cv := range pairs(c) {
						if ck.Value == "cron" {
							t.Cron = append(t.Cron, p.scalar(cv, key+".cron"))
						}
					}
				}
				out[k.Value] = t
				continue
			}
			for fk, fv := range pairs(v) {
				switch fk.Value {
				case "branches":
					t.Branches = p.list(fv, key+".branches")
				case "tags":
					t.Tags = p.list(fv, key+".tags")
				case "paths":
					t.Paths = p.list(fv, key+".paths")
				case "paths-ignore":
					t.PathsIgnore = p.list(fv, key+".paths-ignore")
				case "branches-ignore":
					t.BranchesIgnore = p.list(fv, key+".branches-ignore")
				case "tags-ignore":
					t.TagsIgnore = p.list(fv, key+".tags-ignore")
				}
			}
			out[k.Value] = t
		}
	default:
		p.fail(n, "on", "want an event, a list or a mapping")
	}
	return out
}

func (p *parser) permissions(n *yaml.Node, key string) Permissions {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return Permissions{}
		}
		return Permissions{Set: true, All: n.Value}
	case yaml.MappingNode:
		return Permissions{Set: true, Scopes: p.stringMap(n, key)}
	default:
		p.fail(n, key, "want read-all, write-all or a mapping")
		return Permissions{}
	}
}

func (p *parser) defaultShell(n *yaml.Node, key string) string {
	for k, v := range pairs(n) {
		if k.Value != "run" {
			continue
		}
		for rk, rv := range pairs(v) {
			if rk.Value == "shell" {
				return p.scalar(rv, key+".run.shell")
			}
		}
	}
	return ""
}

func (p *parser) job(id string, n *yaml.Node) *Job {
	j := &Job{ID: id}
	key := "jobs." + id
	for k, v := range pairs(n) {
		switch k.Value {
		case "name":
			j.Name = p.scalar(v, key+".name")
		case "runs-on":
			j.RunsOn = strings.Join(p.list(v, key+".runs-on"), ",")
		case "needs":
			j.Needs = p.list(v, key+".needs")
		case "if":
			j.If = p.scalar(v, key+".if")
		case "timeout-minutes":
			m, err := strconv.Atoi(p.scalar(v, key+".timeout-minutes"))
			if err != nil {
				p.fail(v, key+".timeout-minutes", "want a number of minutes")
			}
			j.TimeoutMinutes = m
		case "environment":
			if v.Kind == yaml.ScalarNode {
				j.Environment = v.Value
				break
			}
			env := p.stringMap(v, key+".environment")
			j.Environment, j.EnvironmentURL = env["name"], env["url"]
		case "concurrency":
			if v.Kind == yaml.ScalarNode {
				j.Concurrency = &Concurrency{Group: v.Value}
				break
			}
			c := p.stringMap(v, key+".concurrency")
			j.Concurrency = &Concurrency{Group: c["group"], CancelInProgress: c["cancel-in-progress"]}
		case "permissions":
			j.Permissions = p.permissions(v, key+".permissions")
		case "strategy":
			for sk, sv := range pairs(v) {
				if sk.Value == "matrix" {
					j.Matrix = p.matrix(sv, key+".strategy.matrix")
				}
			}
		case "outputs":
			j.Outputs = p.stringMap(v, key+".outputs")
		case "env":
			j.Env = p.stringMap(v, key+".env")
		case "steps":
			if v.Kind != yaml.SequenceNode {
				p.fail(v, key+".steps", "want a list")
				break
			}
			for i, sn := range v.Content {
				j.Steps = append(j.Steps, p.step(sn, fmt.Sprintf("%s.steps[%d]", key, i)))
			}
		}
	}
	return j
}

func (p *parser) step(n *yaml.Node, key string) Step {
	s := Step{Line: n.Line}
	for k, v := range pairs(n) {
		switch k.Value {
		case "id":
			s.ID = p.scalar(v, key+".id")
		case "name":
			s.Name = p.scalar(v, key+".name")
		case "uses":
			s.Uses = p.scalar(v, key+".uses")
			s.UsesComment = strings.TrimSpace(strings.TrimPrefix(v.LineComment, "#"))
		case "run":
			s.Run = p.scalar(v, key+".run")
		case "if":
			s.If = p.scalar(v, key+".if")
		case "shell":
			s.Shell = p.scalar(v, key+".shell")
		case "working-directory":
			s.WorkingDirectory = p.scalar(v, key+".working-directory")
		case "with":
			s.With = p.stringMap(v, key+".with")
		case "env":
			s.Env = p.stringMap(v, key+".env")
		case "continue-on-error":
			s.ContinueOnError = p.scalar(v, key+".continue-on-error") == "true"
		}
	}
	return s
}

// matrix expands a matrix of scalar lists and include entries into its
// combinations, in file order.
func (p *parser) matrix(n *yaml.Node, key string) []map[string]string {
	combos := []map[string]string{{}}
	var include []map[string]string
	for k, v := range pairs(n) {
		switch k.Value {
		case "include":
			for _, c := range v.Content {
				include = append(include, p.stringMap(c, key+".include"))
			}
		case "exclude":
			p.fail(v, key+".exclude", "not supported by this model: list the combinations instead")
		default:
			values := p.list(v, key+"."+k.Value)
			var next []map[string]string
			for _, c := range combos {
				for _, val := range values {
					m := map[string]string{k.Value: val}
					for ck, cv := range c {
						m[ck] = cv
					}
					next = append(next, m)
				}
			}
			combos = next
		}
	}
	if len(combos) == 1 && len(combos[0]) == 0 {
		return include
	}
	if len(include) > 0 {
		// GitHub merges include entries into matching combinations; keep
		// the model honest by accepting only one of the two forms.
		p.fail(n, key, "combine include with other keys: not supported by this model, list the combinations under include")
	}
	return combos
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
