// The experts platform's Pulumi program: `pulumi up` and `pulumi preview`
// run this, and deployctl runs the same program (infra.Program) in-process.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/experts/platform/infra"
)

func main() {
	pulumi.Run(infra.Program)
}
