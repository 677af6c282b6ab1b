package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Runtime is everything the api and mcp services run on: network, load
// balancer, image registry and builds, ECS cluster, services, and the
// api's migration task definition.
type Runtime struct {
	pulumi.ResourceState

	ClusterArn          pulumi.StringOutput
	ClusterName         pulumi.StringOutput
	TaskSubnetIDs       pulumi.StringArrayOutput
	TaskSecurityGroupID pulumi.StringOutput
	AlbDNSName          pulumi.StringOutput
	// Services are keyed by service name, "api" and "mcp".
	Services map[string]*ServiceRuntime
}

// RuntimeArgs configures the runtime.
type RuntimeArgs struct {
	Config *Config
	// PermissionsBoundaryArn caps the services' task and execution roles.
	PermissionsBoundaryArn pulumi.StringInput
}

// ServiceRuntime is what one service's release and deploy identity need to
// know: names and ARNs to run, watch and scope permissions to.
type ServiceRuntime struct {
	ServiceName       pulumi.StringOutput
	ServiceArn        pulumi.StringOutput
	TaskDefinitionArn pulumi.StringOutput
	ContainerName     pulumi.StringOutput
	LogGroupName      pulumi.StringOutput
	LogGroupArn       pulumi.StringOutput
	RepositoryURL     pulumi.StringOutput
	RepositoryArn     pulumi.StringOutput
	TargetGroupArn    pulumi.StringOutput
	URL               pulumi.StringOutput
	TaskRoleArn       pulumi.StringOutput
	ExecutionRoleArn  pulumi.StringOutput
	// Image is what the task definitions run, "<repository>@sha256:…".
	Image pulumi.StringOutput
	// TaskDefinitionFamily is the physical family, "experts-dev-api".
	TaskDefinitionFamily string
	// MigrationImage is what the migration task definition runs: the
	// pending release's image while one is set, else Image.
	MigrationImage pulumi.StringOutput
	// MigrationTaskDefinitionArn, MigrationFamily and
	// MigrationContainerName are set for services with migrations (api)
	// only: the zero Output and "" otherwise.
	MigrationTaskDefinitionArn pulumi.StringOutput
	MigrationFamily            string
	MigrationContainerName     string
	// SecretArns are the exact ARNs the task definitions inject, sorted.
	SecretArns []string
}

// HasMigration reports whether the service has a migration task
// definition.
func (s *ServiceRuntime) HasMigration() bool { return s.MigrationFamily != "" }

// NewRuntime declares network, load balancer, registries, images, cluster,
// services and the migration task definition.
func NewRuntime(ctx *pulumi.Context, name string, args *RuntimeArgs, opts ...pulumi.ResourceOption) (*Runtime, error) {
	if args == nil || args.Config == nil {
		return nil, fmt.Errorf("runtime %s: config is required", name)
	}
	cfg := args.Config
	r := &Runtime{Services: map[string]*ServiceRuntime{}}
	if err := ctx.RegisterComponentResource("experts:infra:Runtime", name, r, opts...); err != nil {
		return nil, fmt.Errorf("register runtime %s: %w", name, err)
	}
	parent := pulumi.Parent(r)

	var ports []int
	var targets []LoadBalancerTarget
	for _, svc := range Services {
		sc := cfg.Services[svc]
		ports = append(ports, sc.ContainerPort)
		targets = append(targets, LoadBalancerTarget{
			Service:             svc,
			Host:                cfg.Domain.Host(svc),
			Port:                sc.ContainerPort,
			HealthCheckPath:     sc.HealthCheckPath,
			DeregistrationDelay: sc.DeregistrationDelay(),
		})
	}
	network, err := NewNetwork(ctx, name+"-network", &NetworkArgs{
		Name: cfg.Name(), Network: cfg.Network, ServicePorts: ports,
	}, parent)
	if err != nil {
		return nil, err
	}
	alb, err := NewLoadBalancer(ctx, name+"-alb", &LoadBalancerArgs{
		Name:               cfg.Name(),
		DeletionProtection: cfg.IsProd(),
		CertificateArn:     cfg.Domain.CertificateArn,
		VpcID:              network.VpcID,
		SubnetIDs:          network.PublicSubnetIDs,
		SecurityGroupID:    network.AlbSecurityGroupID,
		Targets:            targets,
	}, parent)
	if err != nil {
		return nil, err
	}
	registry, err := NewRegistry(ctx, name+"-registry", &RegistryArgs{
		Services: Services, Registry: cfg.Registry, AccountID: cfg.AccountID, Region: cfg.Region,
	}, parent)
	if err != nil {
		return nil, err
	}
	cluster, err := NewCluster(ctx, name+"-cluster", &ClusterArgs{
		Name: cfg.Name(), ContainerInsights: cfg.ContainerInsights,
	}, parent)
	if err != nil {
		return nil, err
	}
	r.ClusterArn, r.ClusterName = cluster.Arn, cluster.Name
	r.TaskSubnetIDs, r.TaskSecurityGroupID = network.PrivateSubnetIDs, network.TaskSecurityGroupID
	r.AlbDNSName = alb.DNSName

	auth := registryAuth(ctx, cfg)
	for _, svc := range Services {
		rel := cfg.Release[svc]
		image, err := serviceImage(ctx, name+"-"+svc+"-image", cfg, svc, rel, registry.RepositoryURLs[svc], auth, parent)
		if err != nil {
			return nil, err
		}
		s, err := NewService(ctx, name+"-"+svc, &ServiceArgs{
			Config:         cfg,
			Service:        svc,
			Image:          image,
			RepositoryArn:  registry.RepositoryArns[svc],
			ClusterArn:     cluster.Arn,
			SubnetIDs:      network.PrivateSubnetIDs,
			SecurityGroup:  network.TaskSecurityGroupID,
			TargetGroupArn: alb.TargetGroupArns[svc],
			Route:          alb.Routes[svc],

			PermissionsBoundaryArn: args.PermissionsBoundaryArn,
		}, parent)
		if err != nil {
			return nil, err
		}
		sr := &ServiceRuntime{
			ServiceName:          s.Name,
			ServiceArn:           s.Arn,
			TaskDefinitionArn:    s.TaskDefinitionArn,
			ContainerName:        pulumi.String(s.ContainerName).ToStringOutput(),
			LogGroupName:         s.LogGroupName,
			LogGroupArn:          s.LogGroupArn,
			RepositoryURL:        registry.RepositoryURLs[svc],
			RepositoryArn:        registry.RepositoryArns[svc],
			TargetGroupArn:       alb.TargetGroupArns[svc],
			URL:                  pulumi.String("https://" + cfg.Domain.Host(svc)).ToStringOutput(),
			TaskRoleArn:          s.TaskRoleArn,
			ExecutionRoleArn:     s.ExecutionRoleArn,
			Image:                image,
			TaskDefinitionFamily: s.Family,
			SecretArns:           s.SecretArns,
		}
		if HasMigrations(svc) {
			// A pending release's migrations run on its own image while the
			// service keeps running the current one.
			migrationImage := image
			if rel.Migrate != nil {
				migrationImage, err = serviceImage(ctx, name+"-"+svc+"-migrate-image", cfg, svc, *rel.Migrate,
					registry.RepositoryURLs[svc], auth, parent)
				if err != nil {
					return nil, err
				}
			}
			m, err := NewMigration(ctx, name+"-"+svc+"-migrate", &MigrationArgs{
				Config:           cfg,
				Service:          svc,
				Release:          rel.MigrationRelease(),
				Image:            migrationImage,
				LogGroupName:     s.LogGroupName,
				ExecutionRoleArn: s.ExecutionRoleArn,
				TaskRoleArn:      s.TaskRoleArn,

				ExecutionRolePolicy: s.ExecutionRolePolicy,
			}, parent)
			if err != nil {
				return nil, err
			}
			sr.MigrationTaskDefinitionArn, sr.MigrationImage = m.TaskDefinitionArn, migrationImage
			sr.MigrationFamily, sr.MigrationContainerName = m.Family, m.ContainerName
		}
		r.Services[svc] = sr
	}

	if err := ctx.RegisterResourceOutputs(r, r.Outputs()); err != nil {
		return nil, fmt.Errorf("register runtime outputs: %w", err)
	}
	return r, nil
}

// Outputs returns the stack outputs of the runtime, under the keys the
// release driver and workflows read.
func (r *Runtime) Outputs() pulumi.Map {
	out := pulumi.Map{
		OutputClusterName:         r.ClusterName,
		OutputClusterArn:          r.ClusterArn,
		OutputTaskSubnetIDs:       r.TaskSubnetIDs,
		OutputTaskSecurityGroupID: r.TaskSecurityGroupID,
		OutputAlbDNSName:          r.AlbDNSName,
	}
	for svc, s := range r.Services {
		out[ServiceOutput(svc, SuffixServiceName)] = s.ServiceName
		out[ServiceOutput(svc, SuffixServiceArn)] = s.ServiceArn
		out[ServiceOutput(svc, SuffixTaskDefinitionArn)] = s.TaskDefinitionArn
		out[ServiceOutput(svc, SuffixContainerName)] = s.ContainerName
		out[ServiceOutput(svc, SuffixLogGroupName)] = s.LogGroupName
		out[ServiceOutput(svc, SuffixRepositoryURL)] = s.RepositoryURL
		out[ServiceOutput(svc, SuffixTargetGroupArn)] = s.TargetGroupArn
		out[ServiceOutput(svc, SuffixURL)] = s.URL
		out[ServiceOutput(svc, SuffixImage)] = s.Image
		if s.HasMigration() {
			out[ServiceOutput(svc, SuffixMigrationImage)] = s.MigrationImage
			out[ServiceOutput(svc, SuffixMigrationTaskDefinitionArn)] = s.MigrationTaskDefinitionArn
			out[ServiceOutput(svc, SuffixMigrationContainerName)] = pulumi.String(s.MigrationContainerName)
		}
	}
	return out
}

// registryAuth logs in to the account's registry when a release builds an
// image, and returns the zero value when nothing is built (prod).
func registryAuth(ctx *pulumi.Context, cfg *Config) RegistryAuth {
	builds := false
	for _, svc := range Services {
		rel := cfg.Release[svc]
		builds = builds || rel.Builds() || (rel.Migrate != nil && rel.Migrate.Builds())
	}
	if !builds {
		return RegistryAuth{}
	}
	// The output form of the invoke: the token is a secret, which the
	// plain form refuses to return.
	token := ecr.GetAuthorizationTokenOutput(ctx, ecr.GetAuthorizationTokenOutputArgs{})
	return RegistryAuth{
		// Only the password is a secret; the invoke marks its whole result.
		Username: pulumi.Unsecret(token.UserName()).(pulumi.StringOutput),
		Password: pulumi.ToSecret(token.Password()).(pulumi.StringOutput),
	}
}

// serviceImage returns the image of one release of a service, by digest:
// built and pushed now when the release builds, otherwise the release's
// digest in the service's repository.
func serviceImage(ctx *pulumi.Context, name string, cfg *Config, svc string, rel Release, repositoryURL pulumi.StringOutput,
	auth RegistryAuth, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if !rel.Builds() {
		return repositoryURL.ApplyT(func(url string) string { return url + "@" + rel.ImageDigest }).(pulumi.StringOutput), nil
	}
	sc := cfg.Services[svc]
	img, err := NewImage(ctx, name, &ImageArgs{
		Service:       svc,
		Release:       rel,
		Context:       sc.BuildContext,
		Dockerfile:    sc.Dockerfile,
		RepositoryURL: repositoryURL,
		Auth:          auth,
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return img.Ref, nil
}
