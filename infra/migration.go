package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Migration is the task definition of a service's database migration,
// run as a one-off task by the release before the service rolls out.
type Migration struct {
	pulumi.ResourceState

	TaskDefinitionArn pulumi.StringOutput
	// Family and ContainerName are physical names, known to the plan: the
	// release runs the family and reads the exit code of this container.
	Family        string
	ContainerName string
}

// MigrationArgs configures a migration task definition. It runs the
// service's image with the service's environment, secrets and roles.
type MigrationArgs struct {
	Config *Config
	// Service is the service whose database is migrated ("api").
	Service string
	// Release is the release whose migrations the task runs: its version
	// and sha go into the container's environment.
	Release Release
	// Image is that release's image by digest.
	Image            pulumi.StringInput
	LogGroupName     pulumi.StringInput
	ExecutionRoleArn pulumi.StringInput
	TaskRoleArn      pulumi.StringInput
	// ExecutionRolePolicy is the execution role's policy, which the task
	// definition waits for (Service.ExecutionRolePolicy).
	ExecutionRolePolicy pulumi.Resource
}

// MigrationCommand runs "alembic upgrade head" inside the image.
var MigrationCommand = []string{"scripts/migrate.sh"}

// MigrationContainerName is the container whose exit code decides whether
// a migration succeeded.
const MigrationContainerName = "migrate"

// MigrationFamily is the task definition family of a service's migration:
// "experts-dev-api-migrate".
func MigrationFamily(cfg *Config, service string) string { return cfg.Name(service, "migrate") }

// NewMigration declares the migration task definition of a service.
func NewMigration(ctx *pulumi.Context, name string, args *MigrationArgs, opts ...pulumi.ResourceOption) (*Migration, error) {
	if args == nil || args.Config == nil || args.Image == nil || args.LogGroupName == nil ||
		args.ExecutionRoleArn == nil || args.TaskRoleArn == nil || args.ExecutionRolePolicy == nil {
		return nil, fmt.Errorf("migration %s: config, image, log group, roles and the execution role's policy are required", name)
	}
	cfg := args.Config
	sc, ok := cfg.Services[args.Service]
	if !ok {
		return nil, fmt.Errorf("migration %s: %s.%s is not configured", name, KeyServices, args.Service)
	}
	m := &Migration{Family: MigrationFamily(cfg, args.Service), ContainerName: MigrationContainerName}
	if err := ctx.RegisterComponentResource("experts:infra:Migration", name, m, opts...); err != nil {
		return nil, fmt.Errorf("register migration %s: %w", name, err)
	}
	spec := containerSpec{
		Name:    MigrationContainerName,
		Service: sc,
		Release: args.Release,
		Region:  cfg.Region,
		// Its own prefix in the service's log group: streams are
		// "migrate/migrate/<task id>".
		StreamPrefix: MigrationContainerName,
		Command:      MigrationCommand,
	}
	td, err := ecs.NewTaskDefinition(ctx, name+"-taskdef", taskDefinitionArgs(m.Family, sc, spec,
		args.Image, args.LogGroupName, args.ExecutionRoleArn, args.TaskRoleArn), pulumi.Parent(m),
		pulumi.DependsOn([]pulumi.Resource{args.ExecutionRolePolicy}))
	if err != nil {
		return nil, fmt.Errorf("declare migration task definition: %w", err)
	}
	m.TaskDefinitionArn = td.Arn
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{
		"taskDefinitionArn": m.TaskDefinitionArn,
		"family":            pulumi.String(m.Family),
		"containerName":     pulumi.String(m.ContainerName),
	}); err != nil {
		return nil, fmt.Errorf("register migration outputs: %w", err)
	}
	return m, nil
}
