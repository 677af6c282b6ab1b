// Package pack serves the program's policy rules as a Pulumi policy pack,
// so that `pulumi preview --policy-pack cmd/experts-policy` and `pulumi up`
// enforce the very rules the offline preview evaluates.
package pack

import (
	"context"
	"fmt"
	"sort"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/urn"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/experts/platform/infra/policy"
)

// Version of the pack, reported to the engine.
var Version = semver.MustParse("1.0.0")

// New returns a policy pack with one stack policy per rule.
func New(name string, rules []policy.Rule) (policyx.PolicyPack, error) {
	if err := policy.Validate(rules); err != nil {
		return nil, err
	}
	policies := make([]policyx.Policy, 0, len(rules))
	for _, rule := range rules {
		policies = append(policies, policyx.NewStackValidationPolicy(rule.Name, policyx.StackValidationPolicyArgs{
			Description:      rule.Description,
			EnforcementLevel: level(rule.Enforcement),
			ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
				stack := Stack(args.Resources)
				for _, v := range policy.Evaluate([]policy.Rule{rule}, stack) {
					args.Manager.ReportViolation(v.Message, v.URN)
				}
				return nil
			},
		}))
	}
	pack, err := policyx.NewPolicyPack(name, Version, policyx.EnforcementLevelMandatory, policies)
	if err != nil {
		return nil, fmt.Errorf("policy pack %s: %w", name, err)
	}
	return pack, nil
}

// Stack turns the engine's view of a stack into what the rules see. The
// environment is the stack's name ("dev", "prod"), as in this project's
// stacks.
func Stack(resources []policyx.AnalyzerResource) *policy.Stack {
	s := &policy.Stack{}
	for _, r := range resources {
		if s.Name == "" {
			s.Name = urn.URN(r.URN).Stack().String()
		}
		s.Resources = append(s.Resources, policy.Resource{
			URN:    r.URN,
			Type:   r.Type,
			Name:   r.Name,
			Parent: r.Parent,
			Inputs: policy.PlainMap(resource.ToResourcePropertyMap(r.Properties)),
		})
	}
	sort.Slice(s.Resources, func(i, j int) bool { return s.Resources[i].URN < s.Resources[j].URN })
	s.Environment = s.Name
	return s
}

func level(e policy.Enforcement) policyx.EnforcementLevel {
	if e == policy.Mandatory {
		return policyx.EnforcementLevelMandatory
	}
	return policyx.EnforcementLevelAdvisory
}
