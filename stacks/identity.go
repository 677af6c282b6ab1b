package stacks

import "context"

// STSAccount is the AccountReader of a release: STS GetCallerIdentity,
// classified as Whoami classifies it (expired or rejected credentials say
// what to check).
type STSAccount struct{ API CallerIdentityAPI }

// Account implements AccountReader.
func (s STSAccount) Account(ctx context.Context) (Caller, error) { return Whoami(ctx, s.API, "") }
