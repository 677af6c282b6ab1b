package infra

import "github.com/experts/platform/infra/policy"

// siteRules are the mandatory rules of this component.
var siteRules []policy.Rule
