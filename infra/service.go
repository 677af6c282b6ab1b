package infra

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Service is one ECS Fargate service behind the load balancer, with its
// log group, roles and task definition.
type Service struct {
	pulumi.ResourceState

	Name              pulumi.StringOutput
	Arn               pulumi.StringOutput
	TaskDefinitionArn pulumi.StringOutput
	LogGroupName      pulumi.StringOutput
	LogGroupArn       pulumi.StringOutput
	TaskRoleArn       pulumi.StringOutput
	ExecutionRoleArn  pulumi.StringOutput
	// Family and ContainerName are physical names, known to the plan.
	Family        string
	ContainerName string
	// SecretArns are the ARNs the containers inject, sorted.
	SecretArns []string
	// ExecutionRolePolicy is the inline policy of the execution role: task
	// definitions that use the role depend on it, since ECS pulls the
	// image and reads the secrets with it as soon as a task starts.
	ExecutionRolePolicy pulumi.Resource
}

// ServiceArgs configures one service.
type ServiceArgs struct {
	Config *Config
	// Service is "api" or "mcp".
	Service string
	// Image is the image by digest, "<repository>@sha256:…".
	Image          pulumi.StringInput
	RepositoryArn  pulumi.StringInput
	ClusterArn     pulumi.StringInput
	SubnetIDs      pulumi.StringArrayInput
	SecurityGroup  pulumi.StringInput
	TargetGroupArn pulumi.StringInput
	// Route is the listener rule that forwards to TargetGroupArn: ECS
	// accepts a target group only once a load balancer uses it.
	Route pulumi.Resource
	// PermissionsBoundaryArn caps the task and execution roles.
	PermissionsBoundaryArn pulumi.StringInput
}

// Names of one service's physical resources.

// ServiceFamily is the task definition family of a service, also the
// ECS service name: "experts-dev-api".
func ServiceFamily(cfg *Config, service string) string { return cfg.Name(service) }

// LogGroupName is the log group of a service and its one-off tasks:
// "/experts/dev/api".
func LogGroupName(cfg *Config, service string) string {
	return "/" + Project + "/" + cfg.Environment + "/" + service
}

// DeploymentVersion is what a release's containers report as
// ECS_DEPLOYMENT_VERSION and /version: "<semver>+<git sha>".
func DeploymentVersion(r Release) string { return r.Version + "+" + r.GitSha }

// Container health check: a task that stops answering is replaced after
// three failed checks, 45 s.
const (
	containerCheckIntervalSeconds = 15
	containerCheckTimeoutSeconds  = 5
	containerCheckRetries         = 3
	maxContainerStartPeriod       = 300 // the most ECS accepts
)

// NewService declares one service: log group, execution and task roles,
// task definition and the ECS service.
func NewService(ctx *pulumi.Context, name string, args *ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	if args == nil || args.Config == nil || args.Image == nil || args.Route == nil || args.PermissionsBoundaryArn == nil {
		return nil, fmt.Errorf("service %s: config, image, route and permissions boundary are required", name)
	}
	cfg := args.Config
	sc, ok := cfg.Services[args.Service]
	if !ok {
		return nil, fmt.Errorf("service %s: %s.%s is not configured", name, KeyServices, args.Service)
	}
	s := &Service{
		Family:        ServiceFamily(cfg, args.Service),
		ContainerName: args.Service,
		SecretArns:    secretArns(sc),
	}
	if err := ctx.RegisterComponentResource("experts:infra:Service", name, s, opts...); err != nil {
		return nil, fmt.Errorf("register service %s: %w", name, err)
	}
	parent := pulumi.Parent(s)

	// The log group's name is fixed (the release reads it), so a
	// replacement deletes the old group first: the new one starts empty
	// either way.
	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(LogGroupName(cfg, args.Service)),
		RetentionInDays: pulumi.Int(cfg.LogRetentionDays),
	}, parent, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("declare log group: %w", err)
	}
	s.LogGroupName, s.LogGroupArn = logs.Name, logs.Arn

	execRole, execPolicy, err := newTaskRole(ctx, name+"-execution", cfg, cfg.Name(args.Service, "execution"),
		"Pulls the image of "+s.Family+", writes its logs and reads exactly the secrets it injects",
		executionPolicy(s.SecretArns, args.RepositoryArn, logs.Arn), args.PermissionsBoundaryArn, parent)
	if err != nil {
		return nil, err
	}
	var taskPolicy pulumi.StringOutput
	if sc.EnableExecuteCommand {
		taskPolicy = execCommandPolicy()
	}
	taskRole, _, err := newTaskRole(ctx, name+"-task", cfg, cfg.Name(args.Service, "task"),
		"Identity of the running "+s.Family+" containers", taskPolicy, args.PermissionsBoundaryArn, parent)
	if err != nil {
		return nil, err
	}
	s.ExecutionRoleArn, s.TaskRoleArn = execRole.Arn, taskRole.Arn
	s.ExecutionRolePolicy = execPolicy

	spec := containerSpec{
		Name:         s.ContainerName,
		Service:      sc,
		Release:      cfg.Release[args.Service],
		Region:       cfg.Region,
		StreamPrefix: args.Service,
		ServePort:    true,
	}
	td, err := ecs.NewTaskDefinition(ctx, name+"-taskdef", taskDefinitionArgs(s.Family, sc, spec,
		args.Image, logs.Name, execRole.Arn, taskRole.Arn), parent, pulumi.DependsOn([]pulumi.Resource{execPolicy}))
	if err != nil {
		return nil, fmt.Errorf("declare task definition: %w", err)
	}
	s.TaskDefinitionArn = td.Arn

	svc, err := ecs.NewService(ctx, name, &ecs.ServiceArgs{
		Name:            pulumi.String(s.Family),
		Cluster:         args.ClusterArn,
		TaskDefinition:  td.Arn,
		LaunchType:      pulumi.String("FARGATE"),
		PlatformVersion: pulumi.String("LATEST"),
		DesiredCount:    pulumi.Int(sc.DesiredCount),
		// ECS rolling update: never below minHealthyPercent of the desired
		// count running, never above maxPercent running or starting.
		DeploymentController:            &ecs.ServiceDeploymentControllerArgs{Type: pulumi.String("ECS")},
		DeploymentMinimumHealthyPercent: pulumi.Int(sc.MinHealthyPercent),
		DeploymentMaximumPercent:        pulumi.Int(sc.MaxPercent),
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{
			Enable:   pulumi.Bool(true),
			Rollback: pulumi.Bool(true),
		},
		// Load balancer health checks are ignored this long after a task
		// starts, so that a slow start is not killed as unhealthy.
		HealthCheckGracePeriodSeconds: pulumi.Int(sc.HealthCheckGracePeriodSeconds),
		EnableExecuteCommand:          pulumi.Bool(sc.EnableExecuteCommand),
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        args.SubnetIDs,
			SecurityGroups: pulumi.StringArray{args.SecurityGroup},
			AssignPublicIp: pulumi.Bool(false),
		},
		LoadBalancers: ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: args.TargetGroupArn,
			ContainerName:  pulumi.String(s.ContainerName),
			ContainerPort:  pulumi.Int(sc.ContainerPort),
		}},
		// The service's tasks carry its TaskServiceTagKey tag, which the
		// deploy role's task permissions are conditioned on.
		Tags:                 pulumi.StringMap{TaskServiceTagKey: pulumi.String(args.Service)},
		PropagateTags:        pulumi.String("SERVICE"),
		EnableEcsManagedTags: pulumi.Bool(true),
		// The release driver waits for the rollout itself: the steady-state
		// wait reports success even after a circuit-breaker rollback.
		WaitForSteadyState: pulumi.Bool(false),
	}, parent, pulumi.DependsOn([]pulumi.Resource{args.Route}), serviceReplacement(cfg))
	if err != nil {
		return nil, fmt.Errorf("declare ecs service: %w", err)
	}
	s.Name, s.Arn = svc.Name, svc.ID().ToStringOutput()

	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"serviceName":       s.Name,
		"serviceArn":        s.Arn,
		"taskDefinitionArn": s.TaskDefinitionArn,
		"containerName":     pulumi.String(s.ContainerName),
		"logGroupName":      s.LogGroupName,
		"taskRoleArn":       s.TaskRoleArn,
		"executionRoleArn":  s.ExecutionRoleArn,
	}); err != nil {
		return nil, fmt.Errorf("register service outputs: %w", err)
	}
	return s, nil
}

// serviceReplacement says how an ECS service, whose name is fixed (the
// family), is replaced: ECS refuses a second service of the same name, so
// create-before-delete cannot work. Dev deletes the old service first and
// is briefly down; prod must not go down, so the service is protected and
// the engine refuses to replace (or delete) it, naming the resource; such a
// change is made by hand, with a new name.
func serviceReplacement(cfg *Config) pulumi.ResourceOption {
	if cfg.IsProd() {
		return pulumi.Protect(true)
	}
	return pulumi.DeleteBeforeReplace(true)
}

// taskDefinitionArgs is a Fargate task definition of one container.
// Replaced revisions stay registered (SkipDestroy): a circuit-breaker
// rollback and a rollback to an earlier stack version start tasks from
// them.
func taskDefinitionArgs(family string, sc ServiceConfig, spec containerSpec, image, logGroup, execRole, taskRole pulumi.StringInput) *ecs.TaskDefinitionArgs {
	defs := pulumi.All(image, logGroup).ApplyT(func(v []any) (string, error) {
		img, _ := v[0].(string)
		group, _ := v[1].(string)
		return spec.containerDefinitionsJSON(img, group)
	}).(pulumi.StringOutput)
	return &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(family),
		Cpu:                     pulumi.String(strconv.Itoa(sc.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(sc.Memory)),
		NetworkMode:             pulumi.String("awsvpc"),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"),
			CpuArchitecture:       pulumi.String("X86_64"),
		},
		ExecutionRoleArn:     execRole,
		TaskRoleArn:          taskRole,
		ContainerDefinitions: defs,
		SkipDestroy:          pulumi.Bool(true),
	}
}

// containerSpec is what differs between the containers of a service and
// of its one-off tasks; environment and secrets never do.
type containerSpec struct {
	Name         string
	Service      ServiceConfig
	Release      Release
	Region       string
	StreamPrefix string
	// Command replaces the image's command when set.
	Command []string
	// ServePort maps the container port and checks its health path.
	ServePort bool
}

// ecsContainerDefinition is an ECS container definition as registered.
type ecsContainerDefinition struct {
	Name             string              `json:"name"`
	Image            string              `json:"image"`
	Essential        bool                `json:"essential"`
	Command          []string            `json:"command,omitempty"`
	PortMappings     []ecsPortMapping    `json:"portMappings,omitempty"`
	Environment      []KeyValuePair      `json:"environment"`
	Secrets          []ContainerSecret   `json:"secrets,omitempty"`
	HealthCheck      *ecsHealthCheck     `json:"healthCheck,omitempty"`
	StopTimeout      int                 `json:"stopTimeout"`
	LinuxParameters  ecsLinuxParameters  `json:"linuxParameters"`
	LogConfiguration ecsLogConfiguration `json:"logConfiguration"`
}

type ecsPortMapping struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

type ecsHealthCheck struct {
	Command     []string `json:"command"`
	Interval    int      `json:"interval"`
	Timeout     int      `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod int      `json:"startPeriod"`
}

type ecsLinuxParameters struct {
	// InitProcessEnabled runs an init that forwards SIGTERM and reaps
	// zombies, so that stopTimeout is a real graceful shutdown.
	InitProcessEnabled bool `json:"initProcessEnabled"`
}

type ecsLogConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}

// containerDefinitionsJSON returns the one-container definitions list.
func (c containerSpec) containerDefinitionsJSON(image, logGroup string) (string, error) {
	b, err := json.Marshal([]ecsContainerDefinition{c.containerDefinition(image, logGroup)})
	if err != nil {
		return "", fmt.Errorf("marshal container definitions of %s: %w", c.Name, err)
	}
	return string(b), nil
}

func (c containerSpec) containerDefinition(image, logGroup string) ecsContainerDefinition {
	env := []KeyValuePair{
		{Name: "VERSION", Value: c.Release.Version},
		{Name: "GIT_SHA", Value: c.Release.GitSha},
		{Name: "ECS_DEPLOYMENT_VERSION", Value: DeploymentVersion(c.Release)},
	}
	for _, k := range sortedKeys(c.Service.Environment) {
		env = append(env, KeyValuePair{Name: k, Value: c.Service.Environment[k]})
	}
	var secrets []ContainerSecret
	for _, k := range c.Service.SecretNames() {
		secrets = append(secrets, ContainerSecret{Name: k, ValueFrom: c.Service.Secrets[k]})
	}
	logOptions := map[string]string{
		"awslogs-group":         logGroup,
		"awslogs-region":        c.Region,
		"awslogs-stream-prefix": c.StreamPrefix,
	}
	d := ecsContainerDefinition{
		Name:             c.Name,
		Image:            image,
		Essential:        true,
		Command:          c.Command,
		Environment:      env,
		Secrets:          secrets,
		StopTimeout:      c.Service.StopTimeoutSeconds,
		LinuxParameters:  ecsLinuxParameters{InitProcessEnabled: true},
		LogConfiguration: ecsLogConfiguration{LogDriver: "awslogs", Options: logOptions},
	}
	if c.ServePort {
		port := c.Service.ContainerPort
		d.PortMappings = []ecsPortMapping{{ContainerPort: port, HostPort: port, Protocol: "tcp"}}
		if command := containerHealthCheck(c.Service); command != nil {
			d.HealthCheck = &ecsHealthCheck{
				Command:     command,
				Interval:    containerCheckIntervalSeconds,
				Timeout:     containerCheckTimeoutSeconds,
				Retries:     containerCheckRetries,
				StartPeriod: min(c.Service.HealthCheckGracePeriodSeconds, maxContainerStartPeriod),
			}
		}
		// A service must not stall on a slow log backend; a migration's
		// log lines are its record, so it keeps the blocking default.
		logOptions["mode"] = "non-blocking"
		logOptions["max-buffer-size"] = "25m"
	}
	return d
}

// containerHealthCheck is the service's container health check command,
// nil when it is turned off (HealthCheckNone).
func containerHealthCheck(sc ServiceConfig) []string {
	switch c := sc.HealthCheckCommand; {
	case len(c) == 1 && c[0] == HealthCheckNone:
		return nil
	case len(c) > 0:
		return c
	}
	return []string{"CMD-SHELL", healthCheckCommand(sc.ContainerPort, sc.HealthCheckPath)}
}

// healthCheckCommand asks the container's own health path, with whichever
// HTTP client the image has (curl, wget or Python).
func healthCheckCommand(port int, path string) string {
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
	return strings.Join([]string{
		"curl -fsS -o /dev/null " + url,
		"wget -q -O /dev/null " + url,
		fmt.Sprintf(`python3 -c "import urllib.request as u; u.urlopen('%s', timeout=4)"`, url),
	}, " || ")
}

// secretArns returns the distinct secret ARNs a service injects, sorted.
func secretArns(sc ServiceConfig) []string {
	seen := map[string]bool{}
	var out []string
	for _, arn := range sc.Secrets {
		if !seen[arn] {
			seen[arn] = true
			out = append(out, arn)
		}
	}
	sort.Strings(out)
	return out
}

// newTaskRole declares a role that ECS tasks of this account assume, capped
// by the permissions boundary, with an inline policy when policy is not the
// zero Output (then also returned; nil otherwise).
func newTaskRole(ctx *pulumi.Context, name string, cfg *Config, roleName, description string, policy pulumi.StringOutput,
	boundary pulumi.StringInput, opts ...pulumi.ResourceOption) (*iam.Role, *iam.RolePolicy, error) {
	trust := PolicyJSON(func([]any) PolicyDocument {
		return NewPolicyDocument(Statement{
			Effect:    "Allow",
			Principal: map[string]StringOrList{"Service": {"ecs-tasks.amazonaws.com"}},
			Action:    StringOrList{"sts:AssumeRole"},
			Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": cfg.AccountID}},
		})
	})
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Name:                pulumi.String(roleName),
		Description:         pulumi.String(description),
		AssumeRolePolicy:    trust,
		PermissionsBoundary: boundary,
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("declare role %s: %w", roleName, err)
	}
	if policy.OutputState == nil {
		return role, nil, nil
	}
	rp, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Name:   pulumi.String(roleName),
		Role:   role.Name,
		Policy: policy,
	}, append(opts, pulumi.Parent(role))...)
	if err != nil {
		return nil, nil, fmt.Errorf("declare policy of role %s: %w", roleName, err)
	}
	return role, rp, nil
}

// executionPolicy lets ECS pull the service's image, write its logs and
// read exactly the secrets its containers inject.
func executionPolicy(secrets []string, repositoryArn, logGroupArn pulumi.StringInput) pulumi.StringOutput {
	var smArns, ssmArns StringOrList
	for _, arn := range secrets {
		if strings.HasPrefix(arn, "arn:aws:ssm:") {
			ssmArns = append(ssmArns, arn)
		} else {
			smArns = append(smArns, arn)
		}
	}
	return PolicyJSON(func(v []any) PolicyDocument {
		repo, _ := v[0].(string)
		group, _ := v[1].(string)
		statements := []Statement{
			{Sid: "RegistryLogin", Effect: "Allow", Action: StringOrList{"ecr:GetAuthorizationToken"}, Resource: StringOrList{"*"}},
			{Sid: "PullImage", Effect: "Allow", Action: StringOrList{
				"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
			}, Resource: StringOrList{repo}},
			{Sid: "WriteLogs", Effect: "Allow", Action: StringOrList{"logs:CreateLogStream", "logs:PutLogEvents"},
				Resource: StringOrList{group + ":log-stream:*"}},
		}
		if len(smArns) > 0 {
			statements = append(statements, Statement{Sid: "ReadSecrets", Effect: "Allow",
				Action: StringOrList{"secretsmanager:GetSecretValue"}, Resource: smArns})
		}
		if len(ssmArns) > 0 {
			statements = append(statements, Statement{Sid: "ReadParameters", Effect: "Allow",
				Action: StringOrList{"ssm:GetParameters"}, Resource: ssmArns})
		}
		return NewPolicyDocument(statements...)
	}, repositoryArn, logGroupArn)
}

// execCommandPolicy lets ECS Exec open sessions into the containers.
func execCommandPolicy() pulumi.StringOutput {
	return PolicyJSON(func([]any) PolicyDocument {
		return NewPolicyDocument(Statement{Sid: "EcsExec", Effect: "Allow", Action: StringOrList{
			"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
			"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
		}, Resource: StringOrList{"*"}})
	})
}
