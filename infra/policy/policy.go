// Package policy evaluates rules over the resources a stack registers. The
// same rules run in the offline preview and in the infra unit tests; each
// component file of the program adds the rules that keep it safe.
package policy

import (
	"fmt"
	"sort"
)

// Enforcement says whether a violation blocks (mandatory) or warns
// (advisory).
type Enforcement string

// Enforcement levels.
const (
	Mandatory Enforcement = "mandatory"
	Advisory  Enforcement = "advisory"
)

// Markers that stand in plain values for what a reviewer must not see or
// what is not known before the resource exists.
const (
	SecretMarker  = "[secret]"
	UnknownMarker = "[unknown]"
)

// Resource is a registered resource with its inputs as plain values: JSON
// documents (IAM policies) stay strings, secrets are "[secret]".
type Resource struct {
	URN    string         `json:"urn"`
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Parent string         `json:"parent"`
	Inputs map[string]any `json:"inputs"`
}

// Stack is what a rule sees: the environment and every resource.
type Stack struct {
	Name        string
	Environment string // "dev" or "prod"
	Resources   []Resource
}

// IsProd reports whether the rules check the production environment.
func (s *Stack) IsProd() bool { return s.Environment == "prod" }

// OfType returns the resources of one type token, in stack order.
func (s *Stack) OfType(typ string) []Resource {
	var out []Resource
	for _, r := range s.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Violation is one rule failing on one resource (URN empty for rules about
// the whole stack).
type Violation struct {
	Policy      string      `json:"policy"`
	Enforcement Enforcement `json:"enforcement"`
	URN         string      `json:"urn"`
	Message     string      `json:"message"`
}

// Rule is one policy. Exactly one of Check and CheckStack is set.
type Rule struct {
	Name        string
	Description string
	Enforcement Enforcement
	// Types limits Check to resources of these type tokens (all if empty).
	Types []string
	// Check returns the problems of one resource, each a sentence.
	Check func(s *Stack, r Resource) []string
	// CheckStack looks at the stack as a whole.
	CheckStack func(s *Stack) []Violation
}

// Evaluate runs every rule over the stack and returns the violations sorted
// by policy, URN and message.
func Evaluate(rules []Rule, s *Stack) []Violation {
	var out []Violation
	for _, rule := range rules {
		if rule.CheckStack != nil {
			for _, v := range rule.CheckStack(s) {
				v.Policy, v.Enforcement = rule.Name, rule.Enforcement
				out = append(out, v)
			}
			continue
		}
		for _, r := range s.Resources {
			if len(rule.Types) > 0 && !contains(rule.Types, r.Type) {
				continue
			}
			for _, msg := range rule.Check(s, r) {
				out = append(out, Violation{Policy: rule.Name, Enforcement: rule.Enforcement, URN: r.URN, Message: msg})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		if a.URN != b.URN {
			return a.URN < b.URN
		}
		return a.Message < b.Message
	})
	return out
}

// MandatoryOnly returns the violations that block a deployment.
func MandatoryOnly(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Enforcement == Mandatory {
			out = append(out, v)
		}
	}
	return out
}

// Validate checks that rule definitions are complete and names unique.
func Validate(rules []Rule) error {
	seen := map[string]bool{}
	for _, r := range rules {
		switch {
		case r.Name == "" || r.Description == "":
			return fmt.Errorf("policy %q: name and description are required", r.Name)
		case seen[r.Name]:
			return fmt.Errorf("policy %q is defined twice", r.Name)
		case r.Enforcement != Mandatory && r.Enforcement != Advisory:
			return fmt.Errorf("policy %q: enforcement %q is neither mandatory nor advisory", r.Name, r.Enforcement)
		case (r.Check == nil) == (r.CheckStack == nil):
			return fmt.Errorf("policy %q: set exactly one of Check and CheckStack", r.Name)
		}
		seen[r.Name] = true
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
