package infra

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The deploy identity: GitHub Actions workflows of the configured
// repository reach AWS only through the roles declared here, by exchanging
// the job's OIDC token (sts:AssumeRoleWithWebIdentity). There are no
// static keys. Each environment (stack) has one role per pipeline:
//
//   - api and mcp deploy: push the service's image, register its task
//     definitions, update its service, run the api's migration task, and
//     read what the release checks (its logs, its secrets' metadata and
//     state);
//   - frontend deploy: publish the site bucket and invalidate its
//     distribution;
//   - infra: `pulumi up` of this whole program (broad, approval-gated);
//   - preview: read-only, for `pulumi preview` on pull requests.
//
// Deploy and infra roles trust only jobs that run in their own pipeline's
// GitHub environment, named after the stack and the pipeline
// (repo:OWNER/REPO:environment:dev-api; see GitHubEnvironment), so that one
// job reaches one role and the environment's protection rules (required
// reviewers, branch restrictions) gate every credential. The preview role
// trusts only pull_request jobs. Dev may additionally let pushes to
// configured branches assume the dev deploy roles; prod never.
//
// The roles this program creates carry the stack's permissions boundary
// (PermissionsBoundaryName), and the infra role may create and change roles
// only with that boundary attached; it may not change its own role or the
// boundary.

// GitHub's OIDC token issuer, and the audience configure-aws-credentials
// requests.
const (
	GitHubOIDCURL      = "https://" + GitHubOIDCHost
	GitHubOIDCHost     = "token.actions.githubusercontent.com"
	GitHubOIDCAudience = "sts.amazonaws.com"
)

// Pipelines that assume a role, keys of Identity.RoleArns.
const (
	PipelineAPI      = ServiceAPI
	PipelineMCP      = ServiceMCP
	PipelineFrontend = "frontend"
	PipelineInfra    = "infra"
	PipelinePreview  = "preview"
)

// Pipelines lists the pipelines in a fixed order.
var Pipelines = []string{PipelineAPI, PipelineMCP, PipelineFrontend, PipelineInfra, PipelinePreview}

// PipelineTagKey tags every GitHub role with what it is for: "api-deploy",
// "mcp-deploy", "frontend-deploy", "infra" or "preview". The policy rules
// read it (and check it against the role's trust).
const PipelineTagKey = Project + ":pipeline"

// Values of PipelineTagKey for the roles that are not deploy roles.
const (
	pipelineTagInfra   = "infra"
	pipelineTagPreview = "preview"
)

// GitHubEnvironment is the GitHub environment whose jobs may assume the
// role of one pipeline of one stack: "dev-api", "dev-mcp", "dev-frontend",
// "dev-infra", "prod-api"... The preview role has none: it trusts
// pull_request jobs (PreviewSubject).
func GitHubEnvironment(environment, pipeline string) string { return environment + "-" + pipeline }

// GatedPipelines are the pipelines whose roles trust a GitHub environment.
var GatedPipelines = []string{PipelineAPI, PipelineMCP, PipelineFrontend, PipelineInfra}

// PreviewSubject is the context of the OIDC subject the preview role
// trusts: repo:OWNER/REPO:pull_request.
const PreviewSubject = "pull_request"

// TaskServiceTagKey tags every task of a service, and every one-off task
// run for it, with the service's name ("api", "mcp"): the ECS service
// propagates it to its tasks, and whoever runs a one-off task (the
// migration) must set it in RunTask. A deploy role may run, describe and
// stop only tasks carrying its own service's value.
const TaskServiceTagKey = Project + ":service"

// identityComponentType is the component's type.
const identityComponentType = "experts:infra:Identity"

// IdentityArgs are the resources the roles are scoped to. They come from the
// runtime and site components; the identity declares none of them.
type IdentityArgs struct {
	Config     *Config
	ClusterArn pulumi.StringInput
	// Services holds the targets of each service, keyed "api" and "mcp".
	Services map[string]ServiceTargets
	Site     SiteTargets
	// PermissionsBoundaryArn is the boundary every role but the infra role
	// carries (NewPermissionsBoundary).
	PermissionsBoundaryArn pulumi.StringInput
}

// ServiceTargets are the resources of one service that its deploy role may
// change or read.
type ServiceTargets struct {
	RepositoryArn    pulumi.StringInput
	ServiceArn       pulumi.StringInput
	TaskRoleArn      pulumi.StringInput
	ExecutionRoleArn pulumi.StringInput
	// LogGroupArn is the service's (and its migration's) log group, as
	// aws.cloudwatch.LogGroup reports it (without a trailing ":*").
	LogGroupArn pulumi.StringInput
	// TaskDefinitionFamily is the family of the service's task
	// definitions, such as "experts-dev-api".
	TaskDefinitionFamily string
	// MigrationFamily is the family of the migration task definition
	// ("experts-dev-api-migrate"); empty for a service without migrations.
	MigrationFamily string
	// SecretArns are exactly the Secrets Manager secrets and SSM parameters
	// the service's task definitions inject.
	SecretArns []string
}

// SiteTargets are the frontend resources its deploy role publishes to.
type SiteTargets struct {
	BucketArn       pulumi.StringInput
	DistributionArn pulumi.StringInput
}

// Identity is the GitHub OIDC provider (or the account's existing
// one) and the per-pipeline roles of one environment. IdentityConfig is
// its configuration.
type Identity struct {
	pulumi.ResourceState

	// ProviderArn is the ARN of the GitHub OIDC provider the roles trust.
	ProviderArn pulumi.StringOutput
	// RoleArns maps each of Pipelines to the ARN of its role.
	RoleArns map[string]pulumi.StringOutput
	// Environments maps each of GatedPipelines to the GitHub environment
	// its role trusts.
	Environments map[string]string
}

// Outputs returns the stack outputs the workflows read: the role each job
// passes to configure-aws-credentials.
func (c *Identity) Outputs() pulumi.Map {
	out := pulumi.Map{
		OutputOIDCProviderArn:       c.ProviderArn,
		OutputFrontendDeployRoleArn: c.RoleArns[PipelineFrontend],
		OutputInfraRoleArn:          c.RoleArns[PipelineInfra],
		OutputPreviewRoleArn:        c.RoleArns[PipelinePreview],
	}
	for _, svc := range Services {
		out[ServiceOutput(svc, SuffixDeployRoleArn)] = c.RoleArns[svc]
	}
	envs := pulumi.StringMap{}
	for pipeline, env := range c.Environments {
		envs[pipeline] = pulumi.String(env)
	}
	out[OutputGitHubEnvironments] = envs
	return out
}

// identityRole is one role to declare: its trust and its inline policies.
type identityRole struct {
	pipeline    string // key of RoleArns
	tag         string // value of PipelineTagKey
	name        string // physical name
	description string
	trust       githubTrust
	policies    []identityPolicy
}

// identityPolicy is one inline policy of a role. build receives the
// resolved values of inputs, in order, then the provider ARN last.
type identityPolicy struct {
	suffix string // of the policy's name and logical name
	inputs []any
	build  func(values []string) PolicyDocument
}

// githubTrust says which GitHub jobs may assume a role: exact subjects
// (StringEquals) and branch patterns (StringLike, dev deploy roles only).
type githubTrust struct {
	subjects []string
	patterns []string
}

// NewIdentity declares the GitHub OIDC provider (unless the config names
// the account's existing one) and the roles of every pipeline.
func NewIdentity(ctx *pulumi.Context, name string, args *IdentityArgs, opts ...pulumi.ResourceOption) (*Identity, error) {
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("new identity: %w", err)
	}
	cfg := args.Config
	c := &Identity{RoleArns: make(map[string]pulumi.StringOutput, len(Pipelines)), Environments: map[string]string{}}
	for _, p := range GatedPipelines {
		c.Environments[p] = GitHubEnvironment(cfg.Environment, p)
	}
	if err := ctx.RegisterComponentResource(identityComponentType, name, c, opts...); err != nil {
		return nil, fmt.Errorf("register identity component: %w", err)
	}
	parent := pulumi.Parent(c)

	if arn := cfg.Identity.OIDCProviderArn; arn != "" {
		// IAM allows one provider per issuer and account: stacks that
		// share an account share its provider, and the stack that created
		// it keeps managing it.
		c.ProviderArn = pulumi.String(arn).ToStringOutput()
	} else {
		// No thumbprint: IAM validates GitHub's certificate against its
		// own trusted CAs and ignores thumbprints for this issuer.
		provider, err := iam.NewOpenIdConnectProvider(ctx, name+"-github", &iam.OpenIdConnectProviderArgs{
			Url:           pulumi.String(GitHubOIDCURL),
			ClientIdLists: pulumi.StringArray{pulumi.String(GitHubOIDCAudience)},
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("github oidc provider: %w", err)
		}
		c.ProviderArn = provider.Arn
	}

	for _, r := range identityRoles(cfg, args) {
		trust := PolicyJSON(func(v []any) PolicyDocument {
			return githubTrustPolicy(v[0].(string), r.trust)
		}, c.ProviderArn)
		roleArgs := &iam.RoleArgs{
			Name:               pulumi.String(r.name),
			Description:        pulumi.String(r.description),
			AssumeRolePolicy:   trust,
			MaxSessionDuration: pulumi.Int(cfg.Identity.MaxSessionSeconds),
			Tags:               pulumi.StringMap{PipelineTagKey: pulumi.String(r.tag)},
		}
		if r.pipeline != PipelineInfra {
			// The infra role is created by the stack's first, administrator
			// run and never by itself: it carries no boundary.
			roleArgs.PermissionsBoundary = args.PermissionsBoundaryArn
		}
		role, err := iam.NewRole(ctx, name+"-"+r.logicalSuffix(), roleArgs, parent)
		if err != nil {
			return nil, fmt.Errorf("role %s: %w", r.name, err)
		}
		for _, p := range r.policies {
			build := p.build
			doc := PolicyJSON(func(v []any) PolicyDocument {
				values := make([]string, len(v))
				for i, x := range v {
					values[i], _ = x.(string)
				}
				return build(values)
			}, append(slices.Clone(p.inputs), c.ProviderArn)...)
			if _, err := iam.NewRolePolicy(ctx, name+"-"+r.logicalSuffix()+"-"+p.suffix, &iam.RolePolicyArgs{
				Name:   pulumi.String(r.name + "-" + p.suffix),
				Role:   role.Name,
				Policy: doc,
			}, parent); err != nil {
				return nil, fmt.Errorf("policy %s of role %s: %w", p.suffix, r.name, err)
			}
		}
		c.RoleArns[r.pipeline] = role.Arn
	}

	if err := ctx.RegisterResourceOutputs(c, c.Outputs()); err != nil {
		return nil, fmt.Errorf("register identity outputs: %w", err)
	}
	return c, nil
}

// logicalSuffix names the role's resources after the pipeline: "api-deploy",
// "infra", "preview".
func (r identityRole) logicalSuffix() string { return r.tag }

// identityFamilyPattern is what ECS accepts as a task definition family.
var identityFamilyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// validate refuses args that would produce a role scoped to nothing, or to
// the wrong things.
func (a *IdentityArgs) validate() error {
	if a == nil || a.Config == nil {
		return errors.New("args.Config is required")
	}
	cfg := a.Config
	var errs []error
	if a.ClusterArn == nil {
		errs = append(errs, errors.New("args.ClusterArn is required"))
	}
	if a.PermissionsBoundaryArn == nil {
		errs = append(errs, errors.New("args.PermissionsBoundaryArn is required"))
	}
	for svc := range a.Services {
		if !slices.Contains(Services, svc) {
			errs = append(errs, fmt.Errorf("args.Services[%q]: unknown service (the services are %s)", svc, strings.Join(Services, ", ")))
		}
	}
	for _, svc := range Services {
		t, ok := a.Services[svc]
		if !ok {
			errs = append(errs, fmt.Errorf("args.Services[%q] is required", svc))
			continue
		}
		for field, in := range map[string]pulumi.StringInput{
			"RepositoryArn": t.RepositoryArn, "ServiceArn": t.ServiceArn, "TaskRoleArn": t.TaskRoleArn,
			"ExecutionRoleArn": t.ExecutionRoleArn, "LogGroupArn": t.LogGroupArn,
		} {
			if in == nil {
				errs = append(errs, fmt.Errorf("args.Services[%q].%s is required", svc, field))
			}
		}
		if !identityFamilyPattern.MatchString(t.TaskDefinitionFamily) {
			errs = append(errs, fmt.Errorf("args.Services[%q].TaskDefinitionFamily %q is not a task definition family", svc, t.TaskDefinitionFamily))
		}
		if t.MigrationFamily != "" && !identityFamilyPattern.MatchString(t.MigrationFamily) {
			errs = append(errs, fmt.Errorf("args.Services[%q].MigrationFamily %q is not a task definition family", svc, t.MigrationFamily))
		}
		for _, arn := range t.SecretArns {
			if !isSecretArn(arn, cfg.Region, cfg.AccountID) {
				errs = append(errs, fmt.Errorf("args.Services[%q].SecretArns: %q is not a secret or parameter ARN in %s, account %s",
					svc, arn, cfg.Region, cfg.AccountID))
			}
		}
	}
	if a.Site.BucketArn == nil || a.Site.DistributionArn == nil {
		errs = append(errs, errors.New("args.Site.BucketArn and args.Site.DistributionArn are required"))
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// identityRoles lists the roles of the environment with their trust and
// policies.
func identityRoles(cfg *Config, args *IdentityArgs) []identityRole {
	prefix := cfg.GitHub.SubjectPrefix()
	gated := func(pipeline string) githubTrust {
		return githubTrust{subjects: []string{prefix + ":environment:" + GitHubEnvironment(cfg.Environment, pipeline)}}
	}
	deploy := func(pipeline string) githubTrust {
		t := gated(pipeline)
		if !cfg.IsProd() {
			// A narrow, configured convenience for dev only (DecodeConfig
			// refuses it on prod): pushes to these branches may deploy dev
			// without going through the environment.
			for _, p := range cfg.GitHub.DevBranchPatterns {
				t.patterns = append(t.patterns, prefix+":ref:refs/heads/"+p)
			}
		}
		return t
	}
	var roles []identityRole
	for _, svc := range Services {
		t := args.Services[svc]
		scope := deployScope{
			region: cfg.Region, account: cfg.AccountID,
			family: t.TaskDefinitionFamily, migrationFamily: t.MigrationFamily,
			lookupZones: !cfg.Network.Existing(),
			service:     svc,
			push:        !cfg.IsProd(),
		}
		policies := []identityPolicy{{
			suffix: "access",
			inputs: []any{args.ClusterArn, t.RepositoryArn, t.ServiceArn, t.TaskRoleArn, t.ExecutionRoleArn, t.LogGroupArn},
			build: func(v []string) PolicyDocument {
				s := scope
				s.cluster, s.repository, s.serviceArn, s.taskRole, s.executionRole, s.logGroup = v[0], v[1], v[2], v[3], v[4], v[5]
				return serviceDeployPolicy(s)
			},
		}}
		roles = append(roles, identityRole{
			pipeline:    svc,
			tag:         svc + "-deploy",
			name:        cfg.Name(svc, "deploy"),
			description: fmt.Sprintf("GitHub Actions: releases of the %s service to %s", svc, cfg.Environment),
			trust:       deploy(svc),
			policies:    appendStatePolicy(policies, cfg, stateReadWrite),
		})
	}
	roles = append(roles,
		identityRole{
			pipeline:    PipelineFrontend,
			tag:         PipelineFrontend + "-deploy",
			name:        cfg.Name(PipelineFrontend, "deploy"),
			description: "GitHub Actions: frontend publishes to " + cfg.Environment,
			trust:       deploy(PipelineFrontend),
			policies: appendStatePolicy([]identityPolicy{{
				suffix: "access",
				inputs: []any{args.Site.BucketArn, args.Site.DistributionArn},
				build:  func(v []string) PolicyDocument { return frontendDeployPolicy(v[0], v[1]) },
			}}, cfg, stateRead),
		},
		identityRole{
			pipeline:    PipelineInfra,
			tag:         pipelineTagInfra,
			name:        cfg.Name(PipelineInfra),
			description: "GitHub Actions: pulumi up of the whole " + cfg.Environment + " stack (approval-gated environment only)",
			trust:       gated(PipelineInfra),
			policies: appendStatePolicy([]identityPolicy{{
				suffix: "access",
				build:  func(v []string) PolicyDocument { return infraPolicy(cfg, v[len(v)-1]) },
			}}, cfg, stateReadWrite),
		},
		identityRole{
			pipeline:    PipelinePreview,
			tag:         pipelineTagPreview,
			name:        cfg.Name(PipelinePreview),
			description: "GitHub Actions: read-only pulumi preview of " + cfg.Environment + " on pull requests",
			trust:       githubTrust{subjects: []string{prefix + ":" + PreviewSubject}},
			policies: appendStatePolicy([]identityPolicy{{
				suffix: "access",
				build:  func([]string) PolicyDocument { return previewPolicy() },
			}}, cfg, stateRead),
		},
	)
	return roles
}

// githubTrustPolicy lets jobs of the configured repository assume a role
// with their OIDC token: always for the audience configure-aws-credentials
// requests, and only for exactly the listed subjects (or, separately, the
// branch patterns).
func githubTrustPolicy(providerArn string, t githubTrust) PolicyDocument {
	aud := GitHubOIDCHost + ":aud"
	sub := GitHubOIDCHost + ":sub"
	statement := func(sid, op string, subjects []string) Statement {
		var subValue any = subjects
		if len(subjects) == 1 {
			subValue = subjects[0]
		}
		cond := map[string]map[string]any{"StringEquals": {aud: GitHubOIDCAudience}}
		if op == "StringEquals" {
			cond[op][sub] = subValue
		} else {
			cond[op] = map[string]any{sub: subValue}
		}
		return Statement{
			Sid:       sid,
			Effect:    "Allow",
			Principal: map[string]StringOrList{"Federated": {providerArn}},
			Action:    StringOrList{"sts:AssumeRoleWithWebIdentity"},
			Condition: cond,
		}
	}
	doc := NewPolicyDocument(statement("GitHubJobs", "StringEquals", t.subjects))
	if len(t.patterns) > 0 {
		doc.Statement = append(doc.Statement, statement("GitHubDevBranches", "StringLike", t.patterns))
	}
	return doc
}

// deployScope holds the resolved ARNs one service deploy role is scoped to.
type deployScope struct {
	region, account                   string
	service                           string // "api", "mcp": the TaskServiceTagKey value
	cluster, repository, serviceArn   string
	taskRole, executionRole, logGroup string
	family, migrationFamily           string
	// push is set where releases build and push images (dev); prod only
	// checks that the digest it deploys is in its registry.
	push bool
	// lookupZones is set when the stack creates its VPC: the awsx Vpc
	// component looks up the region's availability zones on every run of
	// the program, a release's `pulumi up` included.
	lookupZones bool
}

// serviceDeployPolicy is what a release of one service does, and nothing
// else: push its image (dev only), register its task definitions, point
// its service at them, run its migration task in its cluster, and read
// what the release checks. Every action is one the release's own code
// (stacks/deploy) or its `pulumi up` of the service's resources calls; the
// IAM simulation test (internal/iamsim) replays those calls against it.
func serviceDeployPolicy(s deployScope) PolicyDocument {
	clusterName := s.cluster[strings.LastIndex(s.cluster, "/")+1:]
	tasks := fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/*", s.region, s.account, clusterName)
	family := func(f string) string {
		return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:*", s.region, s.account, f)
	}
	inCluster := map[string]map[string]any{"ArnEquals": {"ecs:cluster": s.cluster}}
	ownTasks := map[string]map[string]any{
		"ArnEquals":    {"ecs:cluster": s.cluster},
		"StringEquals": {"aws:ResourceTag/" + TaskServiceTagKey: s.service},
	}
	families := StringOrList{family(s.family)}
	if s.migrationFamily != "" {
		families = append(families, family(s.migrationFamily))
	}

	var doc PolicyDocument
	if s.push {
		doc.Statement = append(doc.Statement,
			// The registry login token cannot be scoped to a repository.
			Statement{Sid: "EcrLogin", Effect: "Allow", Action: StringOrList{"ecr:GetAuthorizationToken"}, Resource: StringOrList{"*"}},
			// docker push (layers, then the manifest) and the tag pushes,
			// which read the manifest back.
			Statement{Sid: "EcrPushOwnRepository", Effect: "Allow", Action: StringOrList{
				"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
				"ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
			}, Resource: StringOrList{s.repository}})
	} else {
		// The release preflight checks that the digest is in this
		// registry (CheckImagePresent); nothing is pushed.
		doc.Statement = append(doc.Statement, Statement{Sid: "EcrFindOwnImages", Effect: "Allow",
			Action: StringOrList{"ecr:DescribeImages"}, Resource: StringOrList{s.repository}})
	}
	doc.Statement = append(doc.Statement,
		// Registration is authorized on the family; reading a task
		// definition back (the provider after registering, the release's
		// checks) only on "*".
		Statement{Sid: "EcsRegisterOwnFamilies", Effect: "Allow", Action: StringOrList{"ecs:RegisterTaskDefinition"}, Resource: families},
		Statement{Sid: "EcsReadTaskDefinitions", Effect: "Allow", Action: StringOrList{"ecs:DescribeTaskDefinition"}, Resource: StringOrList{"*"}},
		// Registering a tagged task definition (the provider's default
		// tags) needs ecs:TagResource, on the family being registered only.
		Statement{Sid: "EcsTagOnRegister", Effect: "Allow", Action: StringOrList{"ecs:TagResource"}, Resource: families,
			Condition: map[string]map[string]any{"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}},
		Statement{Sid: "EcsOwnService", Effect: "Allow", Action: StringOrList{
			"ecs:DescribeServices", "ecs:UpdateService",
		}, Resource: StringOrList{s.serviceArn}},
		// ListTasks(cluster, serviceName) names no container instance: ECS
		// authorizes it on "*", with the cluster as condition.
		Statement{Sid: "EcsListClusterTasks", Effect: "Allow", Action: StringOrList{"ecs:ListTasks"},
			Resource: StringOrList{"*"}, Condition: inCluster},
		// Only the service's own tasks: those the service started (it
		// propagates TaskServiceTagKey) and its one-off tasks.
		Statement{Sid: "EcsOwnTasks", Effect: "Allow", Action: StringOrList{"ecs:DescribeTasks", "ecs:StopTask"},
			Resource: StringOrList{tasks}, Condition: ownTasks},
		// The failure bundle of a release reports why targets are
		// unhealthy. ELB authorizes DescribeTargetHealth on "*" only; it
		// returns target states and reasons, no data.
		Statement{Sid: "TargetHealth", Effect: "Allow",
			Action: StringOrList{"elasticloadbalancing:DescribeTargetHealth"}, Resource: StringOrList{"*"}},
	)
	if s.lookupZones {
		// A release's `pulumi up` runs the whole program, whose awsx Vpc
		// calls ec2:DescribeAvailabilityZones: without it the up fails
		// before it changes anything. IAM authorizes it on "*" only; it
		// returns zone names, no data.
		doc.Statement = append(doc.Statement, Statement{Sid: "AvailabilityZones", Effect: "Allow",
			Action: StringOrList{"ec2:DescribeAvailabilityZones"}, Resource: StringOrList{"*"}})
	}
	if s.migrationFamily != "" {
		// The migration task must carry the service's tag, so that the
		// release can then describe and stop it (and nothing else).
		doc.Statement = append(doc.Statement,
			Statement{Sid: "EcsRunMigration", Effect: "Allow", Action: StringOrList{"ecs:RunTask"},
				Resource: StringOrList{family(s.migrationFamily)},
				Condition: map[string]map[string]any{
					"ArnEquals":    {"ecs:cluster": s.cluster},
					"StringEquals": {"aws:RequestTag/" + TaskServiceTagKey: s.service},
				}},
			Statement{Sid: "EcsTagOnRun", Effect: "Allow", Action: StringOrList{"ecs:TagResource"}, Resource: StringOrList{tasks},
				Condition: map[string]map[string]any{"StringEquals": {
					"ecs:CreateAction":                    "RunTask",
					"aws:RequestTag/" + TaskServiceTagKey: s.service,
				}}},
		)
	}
	doc.Statement = append(doc.Statement,
		// Registering a task definition passes its roles to ECS tasks.
		Statement{Sid: "PassOwnTaskRoles", Effect: "Allow", Action: StringOrList{"iam:PassRole"},
			Resource:  StringOrList{s.taskRole, s.executionRole},
			Condition: identityPassedToECSTasks()},
		// The migration's log lines are its record.
		Statement{Sid: "ReadOwnLogs", Effect: "Allow", Action: StringOrList{"logs:GetLogEvents"},
			Resource: StringOrList{s.logGroup + ":log-stream:*"}},
	)
	return NewPolicyDocument(doc.Statement...)
}

// frontendDeployPolicy lets the publisher upload, list and delete the
// site's objects and invalidate its distribution.
func frontendDeployPolicy(bucketArn, distributionArn string) PolicyDocument {
	return NewPolicyDocument(
		Statement{Sid: "ListSiteBucket", Effect: "Allow", Action: StringOrList{"s3:ListBucket"}, Resource: StringOrList{bucketArn}},
		Statement{Sid: "WriteSiteObjects", Effect: "Allow", Action: StringOrList{
			"s3:DeleteObject", "s3:GetObject", "s3:PutObject",
		}, Resource: StringOrList{bucketArn + "/*"}},
		Statement{Sid: "InvalidateSite", Effect: "Allow", Action: StringOrList{
			"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation",
		}, Resource: StringOrList{distributionArn}},
	)
}

// State access levels.
const (
	stateRead      = false
	stateReadWrite = true
)

// appendStatePolicy adds access to the Pulumi state backend, when the
// config names one. Roles that run `pulumi up` write checkpoints, history
// and locks; the others only read the stack (outputs, config, preview).
func appendStatePolicy(policies []identityPolicy, cfg *Config, write bool) []identityPolicy {
	id := cfg.Identity
	if id.StateBucket == "" {
		return policies
	}
	return append(policies, identityPolicy{
		suffix: "state",
		build: func([]string) PolicyDocument {
			return statePolicy(id.StateBucket, id.StateKMSKeyArn, Project, cfg.Stack, write)
		},
	})
}

// StatePaths are the object key patterns of one stack in a Pulumi DIY
// backend (project-scoped layout): its checkpoint, backups, history and
// locks. Nothing else in the bucket belongs to the stack.
func StatePaths(project, stack string) []string {
	return []string{
		fmt.Sprintf(".pulumi/stacks/%s/%s.json*", project, stack),
		fmt.Sprintf(".pulumi/backups/%s/%s/*", project, stack),
		fmt.Sprintf(".pulumi/history/%s/%s/*", project, stack),
		fmt.Sprintf(".pulumi/locks/%s/%s/*", project, stack),
	}
}

// stateMetadata is the backend's own metadata, which every Pulumi command
// reads to learn the layout.
const stateMetadata = ".pulumi/meta.yaml"

// statePolicy reads (and, with write, updates) this stack's objects in the
// backend bucket, and uses the key that encrypts them. Other stacks'
// objects, in the same bucket, are out of reach.
func statePolicy(bucket, keyArn, project, stack string, write bool) PolicyDocument {
	objects := StringOrList{"s3:GetObject"}
	keyActions := StringOrList{"kms:Decrypt"}
	if write {
		objects = StringOrList{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"}
		keyActions = StringOrList{"kms:Decrypt", "kms:GenerateDataKey"}
	}
	bucketArn := "arn:aws:s3:::" + bucket
	var paths, prefixes StringOrList
	for _, p := range StatePaths(project, stack) {
		paths = append(paths, bucketArn+"/"+p)
		prefixes = append(prefixes, p)
	}
	doc := NewPolicyDocument(
		Statement{Sid: "ListOwnState", Effect: "Allow", Action: StringOrList{"s3:ListBucket"}, Resource: StringOrList{bucketArn},
			Condition: map[string]map[string]any{"StringLike": {"s3:prefix": []string(prefixes)}}},
		Statement{Sid: "ReadBackendMetadata", Effect: "Allow", Action: StringOrList{"s3:GetObject"},
			Resource: StringOrList{bucketArn + "/" + stateMetadata}},
		Statement{Sid: "OwnStackState", Effect: "Allow", Action: objects, Resource: paths},
	)
	if keyArn != "" {
		doc.Statement = append(doc.Statement, Statement{Sid: "StateKey", Effect: "Allow", Action: keyActions, Resource: StringOrList{keyArn}})
	}
	return doc
}

// infraPolicy is what `pulumi up` of this program needs: create, change
// and delete every resource it declares. It is broad by necessity, and
// bounded three ways:
//
//   - reach: only jobs in the stack's approval-gated GitHub environment can
//     assume the role (never a pull request or a branch push);
//   - place: write access is limited to this account and region for the
//     regional services (EC2 networking, load balancing, ECS, ECR, logs),
//     to this account's CloudFront, and to the site bucket by name;
//   - IAM: only roles and policies named after this environment
//     ("experts-<env>-*"), passed only to ECS tasks, plus this stack's
//     OIDC provider and the service-linked roles its services need.
//
// Those IAM rights include the infra role's own policies: the program
// manages the role it runs as, so changing them is a reviewed change of
// this program that the environment's approval gates. Reads that cannot be
// scoped (Describe/List/Get of metadata) are on "*"; object and secret
// data is never readable through them.
func infraPolicy(cfg *Config, providerArn string) PolicyDocument {
	r, a := cfg.Region, cfg.AccountID
	envRoles := fmt.Sprintf("arn:aws:iam::%s:role/%s-*", a, cfg.Name())
	envPolicies := fmt.Sprintf("arn:aws:iam::%s:policy/%s-*", a, cfg.Name())
	boundaryRequired := map[string]map[string]any{"StringEquals": {"iam:PermissionsBoundary": PermissionsBoundaryArn(cfg)}}
	doc := NewPolicyDocument(
		Statement{Sid: "ReadMetadata", Effect: "Allow", Action: StringOrList{
			"cloudfront:DescribeFunction", "cloudfront:GetCachePolicy", "cloudfront:GetDistribution", "cloudfront:GetDistributionConfig",
			"cloudfront:GetOriginAccessControl", "cloudfront:GetOriginRequestPolicy", "cloudfront:GetResponseHeadersPolicy",
			"cloudfront:List*",
			"ec2:Describe*",
			"ecr:DescribeImages", "ecr:DescribeRegistry", "ecr:DescribeRepositories", "ecr:GetAuthorizationToken",
			"ecr:GetLifecyclePolicy", "ecr:GetRegistryPolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource",
			"ecs:Describe*", "ecs:List*",
			"elasticloadbalancing:Describe*",
			"logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
		}, Resource: StringOrList{"*"}},
		Statement{Sid: "Network", Effect: "Allow", Action: StringOrList{"ec2:*"},
			Resource: StringOrList{fmt.Sprintf("arn:aws:ec2:%s:%s:*", r, a)}},
		Statement{Sid: "LoadBalancing", Effect: "Allow", Action: StringOrList{"elasticloadbalancing:*"},
			Resource: StringOrList{fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:*", r, a)}},
		// Task definition families are ARNs of the region too:
		// RegisterTaskDefinition is authorized on them.
		Statement{Sid: "Containers", Effect: "Allow", Action: StringOrList{"ecs:*"},
			Resource: StringOrList{fmt.Sprintf("arn:aws:ecs:%s:%s:*", r, a)}},
		Statement{Sid: "Registry", Effect: "Allow", Action: StringOrList{"ecr:*"},
			Resource: StringOrList{fmt.Sprintf("arn:aws:ecr:%s:%s:repository/*", r, a)}},
		Statement{Sid: "Logs", Effect: "Allow", Action: StringOrList{"logs:*"},
			Resource: StringOrList{fmt.Sprintf("arn:aws:logs:%s:%s:log-group:*", r, a)}},
		Statement{Sid: "SiteBucket", Effect: "Allow", Action: StringOrList{"s3:*"},
			Resource: StringOrList{"arn:aws:s3:::" + cfg.Site.BucketName}},
		Statement{Sid: "Distribution", Effect: "Allow", Action: StringOrList{"cloudfront:*"},
			Resource: StringOrList{fmt.Sprintf("arn:aws:cloudfront::%s:*", a)}},
		// CloudFront authorizes creating these on "*" only: no ARN exists
		// before the call, and "cloudfront:*" on the account's ARNs never
		// matches them.
		Statement{Sid: "CreateSiteResources", Effect: "Allow", Action: StringOrList{
			"cloudfront:CreateCachePolicy", "cloudfront:CreateDistribution", "cloudfront:CreateFunction",
			"cloudfront:CreateOriginAccessControl", "cloudfront:CreateResponseHeadersPolicy",
		}, Resource: StringOrList{"*"}},
		Statement{Sid: "Certificates", Effect: "Allow", Action: StringOrList{"acm:DescribeCertificate", "acm:ListTagsForCertificate"},
			Resource: StringOrList{cfg.Domain.CertificateArn, cfg.Domain.SiteCertificateArn}},
		// Roles of this environment, always with the boundary: IAM checks
		// iam:PermissionsBoundary on every call that creates a role or
		// changes what it may do.
		Statement{Sid: "EnvironmentRolesWithBoundary", Effect: "Allow", Action: StringOrList{
			"iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
			"iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
		}, Resource: StringOrList{envRoles}, Condition: boundaryRequired},
		Statement{Sid: "EnvironmentRoles", Effect: "Allow", Action: StringOrList{
			"iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
			"iam:ListRolePolicies", "iam:ListRoleTags", "iam:TagRole", "iam:UntagRole",
			"iam:UpdateRole", "iam:UpdateRoleDescription",
		}, Resource: StringOrList{envRoles}},
		Statement{Sid: "EnvironmentPolicies", Effect: "Allow", Action: StringOrList{
			"iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:GetPolicy",
			"iam:GetPolicyVersion", "iam:ListPolicyTags", "iam:ListPolicyVersions", "iam:TagPolicy", "iam:UntagPolicy",
		}, Resource: StringOrList{envPolicies}},
		Statement{Sid: "PassEnvironmentRolesToTasks", Effect: "Allow", Action: StringOrList{"iam:PassRole"},
			Resource:  StringOrList{envRoles},
			Condition: identityPassedToECSTasks()},
	)
	linked := []string{"ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com"}
	if cfg.Registry.ReplicateToAccountID != "" {
		linked = append(linked, "replication.ecr.amazonaws.com")
	}
	doc.Statement = append(doc.Statement, Statement{Sid: "ServiceLinkedRoles", Effect: "Allow",
		Action:    StringOrList{"iam:CreateServiceLinkedRole"},
		Resource:  StringOrList{fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/*", a)},
		Condition: map[string]map[string]any{"StringEquals": {"iam:AWSServiceName": linked}}})
	if cfg.Identity.OIDCProviderArn == "" {
		doc.Statement = append(doc.Statement, Statement{Sid: "GitHubProvider", Effect: "Allow", Action: StringOrList{
			"iam:AddClientIDToOpenIDConnectProvider", "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider",
			"iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviderTags", "iam:RemoveClientIDFromOpenIDConnectProvider",
			"iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
		}, Resource: StringOrList{providerArn}})
	}
	// The registry's replication settings, where this environment
	// replicates or receives images, are account-level writes that IAM
	// authorizes only on "*". (Task definitions are never deregistered:
	// replaced revisions stay for rollbacks.)
	var accountLevel StringOrList
	if cfg.Registry.ReplicateToAccountID != "" {
		accountLevel = append(accountLevel, "ecr:PutReplicationConfiguration")
	}
	if cfg.Registry.AcceptReplicationFromAccountID != "" {
		accountLevel = append(accountLevel, "ecr:DeleteRegistryPolicy", "ecr:PutRegistryPolicy")
	}
	if len(accountLevel) > 0 {
		doc.Statement = append(doc.Statement, Statement{Sid: "RegistryReplication", Effect: "Allow", Action: accountLevel, Resource: StringOrList{"*"}})
	}
	// The role may not widen itself, or the boundary that caps every
	// role it creates: both change only in an administrator's run.
	doc.Statement = append(doc.Statement,
		Statement{Sid: "DenyChangingOwnRole", Effect: "Deny", Action: StringOrList{
			"iam:AttachRolePolicy", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRolePolicy",
			"iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole",
			"iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
		}, Resource: StringOrList{fmt.Sprintf("arn:aws:iam::%s:role/%s", a, cfg.Name(PipelineInfra))}},
		Statement{Sid: "DenyChangingBoundary", Effect: "Deny", Action: StringOrList{
			"iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion",
			"iam:TagPolicy", "iam:UntagPolicy",
		}, Resource: StringOrList{PermissionsBoundaryArn(cfg)}},
		Statement{Sid: "DenyRemovingBoundaries", Effect: "Deny", Action: StringOrList{"iam:DeleteRolePermissionsBoundary"},
			Resource: StringOrList{envRoles}},
	)
	return doc
}

// previewPolicy reads the metadata `pulumi preview` (and its --refresh)
// compares against: Describe/List/Get of the services this program uses.
// It grants no object, secret, parameter, log or image data.
func previewPolicy() PolicyDocument {
	return NewPolicyDocument(Statement{Sid: "ReadMetadata", Effect: "Allow", Action: StringOrList{
		"acm:DescribeCertificate", "acm:ListTagsForCertificate",
		"cloudfront:DescribeFunction", "cloudfront:GetCachePolicy", "cloudfront:GetDistribution", "cloudfront:GetDistributionConfig",
		"cloudfront:GetOriginAccessControl", "cloudfront:GetOriginRequestPolicy", "cloudfront:GetResponseHeadersPolicy",
		"cloudfront:ListTagsForResource",
		"ec2:Describe*",
		"ecr:DescribeRegistry", "ecr:DescribeRepositories", "ecr:GetAuthorizationToken", "ecr:GetLifecyclePolicy",
		"ecr:GetRegistryPolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource",
		"ecs:Describe*", "ecs:List*",
		"elasticloadbalancing:Describe*",
		"iam:GetOpenIDConnectProvider", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole", "iam:GetRolePolicy",
		"iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:ListRoleTags",
		"logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
		"s3:GetAccelerateConfiguration", "s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration",
		"s3:GetReplicationConfiguration",
	}, Resource: StringOrList{"*"}})
}
