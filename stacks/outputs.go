// Package stacks runs operations on the experts stacks: the offline preview,
// and (through Pulumi's Automation API) reading outputs and history,
// releases and rollbacks.
package stacks

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/experts/platform/infra"
)

// Stack output keys that workflows and deployctl read, as the program
// defines and exports them (infra/outputs.go).
const (
	OutputEnvironment           = infra.OutputEnvironment
	OutputRelease               = infra.OutputRelease
	OutputClusterName           = infra.OutputClusterName
	OutputClusterArn            = infra.OutputClusterArn
	OutputTaskSubnetIDs         = infra.OutputTaskSubnetIDs
	OutputTaskSecurityGroupID   = infra.OutputTaskSecurityGroupID
	OutputAlbDNSName            = infra.OutputAlbDNSName
	OutputSiteBucketName        = infra.OutputSiteBucketName
	OutputSiteDistributionID    = infra.OutputSiteDistributionID
	OutputSiteDistributionArn   = infra.OutputSiteDistributionArn
	OutputSiteURL               = infra.OutputSiteURL
	OutputOIDCProviderArn       = infra.OutputOIDCProviderArn
	OutputInfraRoleArn          = infra.OutputInfraRoleArn
	OutputPreviewRoleArn        = infra.OutputPreviewRoleArn
	OutputFrontendDeployRoleArn = infra.OutputFrontendDeployRoleArn
	OutputGitHubEnvironments    = infra.OutputGitHubEnvironments
	OutputAccountID             = infra.OutputAccountID
	OutputRegion                = infra.OutputRegion
)

// Per-service output suffixes; the key is the service name followed by the
// suffix, for example "apiServiceName".
const (
	SuffixServiceName                = infra.SuffixServiceName
	SuffixServiceArn                 = infra.SuffixServiceArn
	SuffixTaskDefinitionArn          = infra.SuffixTaskDefinitionArn
	SuffixContainerName              = infra.SuffixContainerName
	SuffixLogGroupName               = infra.SuffixLogGroupName
	SuffixRepositoryURL              = infra.SuffixRepositoryURL
	SuffixTargetGroupArn             = infra.SuffixTargetGroupArn
	SuffixURL                        = infra.SuffixURL
	SuffixDeployRoleArn              = infra.SuffixDeployRoleArn
	SuffixImage                      = infra.SuffixImage
	SuffixMigrationImage             = infra.SuffixMigrationImage
	SuffixMigrationTaskDefinitionArn = infra.SuffixMigrationTaskDefinitionArn
	SuffixMigrationContainerName     = infra.SuffixMigrationContainerName
)

// ServiceOutput is the output key for one service, such as
// ServiceOutput("api", SuffixServiceName) == "apiServiceName".
func ServiceOutput(service, suffix string) string { return infra.ServiceOutput(service, suffix) }

// Outputs are a stack's outputs as plain values (strings, numbers, lists,
// maps), as JSON would decode them.
type Outputs map[string]any

// String returns the string output key, or an error that names the key and
// the outputs that do exist.
func (o Outputs) String(key string) (string, error) {
	v, ok := o[key]
	if !ok {
		return "", fmt.Errorf("stack output %q is missing (outputs present: %s)", key, o.keys())
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("stack output %q is %v, want a non-empty string", key, v)
	}
	return s, nil
}

// Strings returns the list-of-strings output key.
func (o Outputs) Strings(key string) ([]string, error) {
	v, ok := o[key]
	if !ok {
		return nil, fmt.Errorf("stack output %q is missing (outputs present: %s)", key, o.keys())
	}
	list, ok := v.([]any)
	if !ok {
		if ss, ok := v.([]string); ok {
			return ss, nil
		}
		return nil, fmt.Errorf("stack output %q is %v, want a list of strings", key, v)
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("stack output %q holds %v, want strings only", key, item)
		}
		out = append(out, s)
	}
	return out, nil
}

func (o Outputs) keys() string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "none: has the stack been deployed?"
	}
	return strings.Join(keys, ", ")
}

// ReadOutputs reads the outputs of stack from its backend through the
// Automation API, with the project in dir (the repository root). Secret
// outputs are left out: nothing that reads outputs needs a secret.
func ReadOutputs(ctx context.Context, dir, stack string) (Outputs, error) {
	s, err := auto.SelectStackLocalSource(ctx, stack, dir)
	if err != nil {
		return nil, fmt.Errorf("select stack %s: %w", stack, err)
	}
	outs, err := s.Outputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read outputs of stack %s: %w", stack, err)
	}
	plain := make(Outputs, len(outs))
	for k, v := range outs {
		if v.Secret {
			continue
		}
		plain[k] = v.Value
	}
	return plain, nil
}
