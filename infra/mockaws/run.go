package mockaws

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// Run runs body as the program of one stack under these mocks, with the
// given configuration (full keys to text, as the engine passes it) and the
// keys whose values are secret. It runs as a preview (dry run).
func (m *Mocks) Run(config map[string]string, secretKeys []string, body pulumi.RunFunc) error {
	withConfig := func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = secretKeys
		info.DryRun = true
		info.Parallel = 1
	}
	if err := pulumi.RunErr(body, pulumi.WithMocks(m.project, m.stack, m), withConfig); err != nil {
		return fmt.Errorf("run %s/%s under mocks: %w", m.project, m.stack, err)
	}
	return nil
}

// AwaitOutputs waits, inside a run's body, for every output of outs and
// returns them as plain values, with secrets and unknowns as the markers.
func AwaitOutputs(ctx context.Context, outs pulumi.Map) (map[string]any, error) {
	keys := make([]string, 0, len(outs))
	for k := range outs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	plain := make(map[string]any, len(outs))
	for _, k := range keys {
		res, err := internals.UnsafeAwaitOutput(ctx, pulumi.ToOutput(outs[k]))
		if err != nil {
			return nil, fmt.Errorf("resolve output %s: %w", k, err)
		}
		switch {
		case res.Secret:
			plain[k] = SecretMarker
		case !res.Known:
			plain[k] = UnknownMarker
		default:
			v, err := toPlain(res.Value)
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", k, err)
			}
			plain[k] = v
		}
	}
	return plain, nil
}

// toPlain round-trips v through JSON so that it holds only JSON types.
func toPlain(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}
