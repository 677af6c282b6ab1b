package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Cluster is the ECS cluster the services and one-off tasks run in.
type Cluster struct {
	pulumi.ResourceState

	Arn  pulumi.StringOutput
	Name pulumi.StringOutput
}

// ClusterArgs configures the cluster.
type ClusterArgs struct {
	// Name is the physical name, such as "experts-dev".
	Name              string
	ContainerInsights bool
}

// NewCluster declares the ECS cluster.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if args == nil || args.Name == "" {
		return nil, fmt.Errorf("cluster %s: name is required", name)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("experts:infra:Cluster", name, c, opts...); err != nil {
		return nil, fmt.Errorf("register cluster %s: %w", name, err)
	}
	insights := "disabled"
	if args.ContainerInsights {
		insights = "enabled"
	}
	cluster, err := ecs.NewCluster(ctx, name, &ecs.ClusterArgs{
		Name: pulumi.String(args.Name),
		Settings: ecs.ClusterSettingArray{&ecs.ClusterSettingArgs{
			Name:  pulumi.String("containerInsights"),
			Value: pulumi.String(insights),
		}},
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("declare cluster: %w", err)
	}
	c.Arn, c.Name = cluster.Arn, cluster.Name
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"arn": c.Arn, "name": c.Name}); err != nil {
		return nil, fmt.Errorf("register cluster outputs: %w", err)
	}
	return c, nil
}
