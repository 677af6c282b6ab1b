// Command plugin is the rehearsal's fake provider plugin. Installed as
// pulumi-resource-aws, pulumi-resource-awsx and pulumi-resource-docker on
// PATH, it serves the package its name ends in (see internal/fakeprovider).
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	// Linked so that the plugin reports the versions go.mod pins.
	_ "github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	_ "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx"
	_ "github.com/pulumi/pulumi-docker/sdk/v4/go/docker"

	"github.com/experts/platform/internal/fakeprovider"
)

func main() {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), filepath.Ext(os.Args[0]))
	pkg := strings.TrimPrefix(name, "pulumi-resource-")
	if err := fakeprovider.Main(pkg); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
