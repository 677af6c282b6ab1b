// Command experts-policy serves the experts platform's policy rules to the
// Pulumi engine as a policy pack (the same rules `deployctl preview
// --offline` evaluates):
//
//	pulumi preview --stack dev --policy-pack cmd/experts-policy
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/infra/policy/pack"
)

func main() {
	err := policyx.Main(func(*pulumi.Context) (policyx.PolicyPack, error) {
		return pack.New(infra.Project, infra.Policies())
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "experts-policy:", err)
		os.Exit(1)
	}
}
