package mockaws

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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
