package infra

import "github.com/experts/platform/infra/policy"

// runtimeRules are the mandatory rules of this component.
var runtimeRules []policy.Rule
