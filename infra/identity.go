package infra

import "github.com/experts/platform/infra/policy"

// identityRules are the mandatory rules of this component.
var identityRules []policy.Rule
