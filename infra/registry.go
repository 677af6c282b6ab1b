package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Registry is the ECR repositories of the services and, between dev
// and prod, the cross-account replication that lets prod deploy the very
// digest dev verified.
type Registry struct {
	pulumi.ResourceState

	// RepositoryURLs and RepositoryArns are keyed by service.
	RepositoryURLs map[string]pulumi.StringOutput
	RepositoryArns map[string]pulumi.StringOutput
}

// RegistryArgs configures the repositories.
type RegistryArgs struct {
	Services  []string
	Registry  RegistryConfig
	AccountID string
	Region    string
}

// RepositoryName is the ECR repository of a service, "experts/api". It is
// the same in every account: ECR replicates an image into the repository
// of the same name, so prod's own repository (with its scanning and
// lifecycle) receives the images dev pushes. Each environment has its own
// account, so the names never collide.
func RepositoryName(service string) string { return Project + "/" + service }

// NewRegistry declares the repositories, their lifecycle policies and
// the replication between the environments' accounts.
func NewRegistry(ctx *pulumi.Context, name string, args *RegistryArgs, opts ...pulumi.ResourceOption) (*Registry, error) {
	if args == nil || len(args.Services) == 0 || args.AccountID == "" || args.Region == "" {
		return nil, fmt.Errorf("registry %s: services, account and region are required", name)
	}
	r := &Registry{RepositoryURLs: map[string]pulumi.StringOutput{}, RepositoryArns: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("experts:infra:Registry", name, r, opts...); err != nil {
		return nil, fmt.Errorf("register registry %s: %w", name, err)
	}
	parent := pulumi.Parent(r)

	lifecycle, err := lifecyclePolicyJSON(args.Registry)
	if err != nil {
		return nil, err
	}
	var arns []any
	for _, svc := range args.Services {
		repo, err := ecr.NewRepository(ctx, name+"-"+svc, &ecr.RepositoryArgs{
			Name: pulumi.String(RepositoryName(svc)),
			// Tags stay mutable: ":<branch>-latest" moves with every build.
			// Nothing deploys by tag: task definitions name the digest, so
			// a moved tag never changes what runs or what a rollback
			// restores.
			ImageTagMutability: pulumi.String("MUTABLE"),
			ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
				ScanOnPush: pulumi.Bool(true),
			},
			// AES256 (ECR-managed keys) replicates across accounts without
			// key policies; the images hold no secrets.
			EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
				&ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("AES256")},
			},
			// Deleting the stack must not delete the images that releases
			// and rollbacks refer to.
			ForceDelete: pulumi.Bool(false),
			// The name is fixed (replication keeps names), so a replacement
			// could never create the new repository before deleting the
			// old, and deleting would drop every released image: the
			// engine refuses both (protect), naming the repository.
		}, parent, pulumi.Protect(true))
		if err != nil {
			return nil, fmt.Errorf("declare repository %s: %w", svc, err)
		}
		if _, err := ecr.NewLifecyclePolicy(ctx, name+"-"+svc+"-lifecycle", &ecr.LifecyclePolicyArgs{
			Repository: repo.Name,
			Policy:     pulumi.String(lifecycle),
		}, parent); err != nil {
			return nil, fmt.Errorf("declare lifecycle policy %s: %w", svc, err)
		}
		r.RepositoryURLs[svc] = repo.RepositoryUrl
		r.RepositoryArns[svc] = repo.Arn
		arns = append(arns, repo.Arn)
	}

	if to := args.Registry.ReplicateToAccountID; to != "" {
		filters := ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArray{}
		for _, svc := range args.Services {
			filters = append(filters, &ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs{
				Filter:     pulumi.String(RepositoryName(svc)),
				FilterType: pulumi.String("PREFIX_MATCH"),
			})
		}
		// The replication configuration is one per registry (account and
		// region): this stack owns it.
		if _, err := ecr.NewReplicationConfiguration(ctx, name+"-replication", &ecr.ReplicationConfigurationArgs{
			ReplicationConfiguration: &ecr.ReplicationConfigurationReplicationConfigurationArgs{
				Rules: ecr.ReplicationConfigurationReplicationConfigurationRuleArray{
					&ecr.ReplicationConfigurationReplicationConfigurationRuleArgs{
						Destinations: ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArray{
							&ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs{
								Region:     pulumi.String(args.Region),
								RegistryId: pulumi.String(to),
							},
						},
						RepositoryFilters: filters,
					},
				},
			},
		}, parent); err != nil {
			return nil, fmt.Errorf("declare replication to %s: %w", to, err)
		}
	}

	if from := args.Registry.AcceptReplicationFromAccountID; from != "" {
		// ReplicateImage only, on these repositories only: without
		// CreateRepository the other account cannot add repositories here.
		policy := PolicyJSON(func(values []any) PolicyDocument {
			resources := make(StringOrList, len(values))
			for i, v := range values {
				resources[i], _ = v.(string)
			}
			return NewPolicyDocument(Statement{
				Sid:       "ReplicationFrom" + from,
				Effect:    "Allow",
				Principal: map[string]StringOrList{"AWS": {fmt.Sprintf("arn:aws:iam::%s:root", from)}},
				Action:    StringOrList{"ecr:ReplicateImage"},
				Resource:  resources,
			})
		}, arns...)
		// The registry policy is one per registry: this stack owns it.
		if _, err := ecr.NewRegistryPolicy(ctx, name+"-policy", &ecr.RegistryPolicyArgs{Policy: policy}, parent); err != nil {
			return nil, fmt.Errorf("declare registry policy for %s: %w", from, err)
		}
	}

	outputs := pulumi.Map{}
	for svc := range r.RepositoryURLs {
		outputs[svc+"RepositoryUrl"] = r.RepositoryURLs[svc]
		outputs[svc+"RepositoryArn"] = r.RepositoryArns[svc]
	}
	if err := ctx.RegisterResourceOutputs(r, outputs); err != nil {
		return nil, fmt.Errorf("register registry outputs: %w", err)
	}
	return r, nil
}

// maxLifecycleCount is the count of the release rule: a repository never
// holds that many released images, so the rule never expires one; it
// exists to claim them before the count rule can.
const maxLifecycleCount = 10000

// ecrLifecyclePolicy is an ECR lifecycle policy document.
type ecrLifecyclePolicy struct {
	Rules []ecrLifecycleRule `json:"rules"`
}

type ecrLifecycleRule struct {
	RulePriority int                   `json:"rulePriority"`
	Description  string                `json:"description"`
	Selection    ecrLifecycleSelection `json:"selection"`
	Action       ecrLifecycleAction    `json:"action"`
}

type ecrLifecycleSelection struct {
	TagStatus      string   `json:"tagStatus"`
	TagPatternList []string `json:"tagPatternList,omitempty"`
	CountType      string   `json:"countType"`
	CountUnit      string   `json:"countUnit,omitempty"`
	CountNumber    int      `json:"countNumber"`
}

type ecrLifecycleAction struct {
	Type string `json:"type"`
}

// lifecyclePolicyJSON never expires an image a release ran (tagged with
// ReleaseTagPrefix; an image matched by a rule is never expired by a
// lower-priority one), expires untagged images after untaggedExpireDays,
// and keeps the last keepReleaseImages of the other tagged images (builds
// not released, or not yet).
func lifecyclePolicyJSON(r RegistryConfig) (string, error) {
	p := ecrLifecyclePolicy{Rules: []ecrLifecycleRule{
		{
			RulePriority: 1,
			Description:  "Never expire images a release ran",
			Selection: ecrLifecycleSelection{
				TagStatus: "tagged", TagPatternList: []string{ReleaseTagPrefix + "*"},
				CountType: "imageCountMoreThan", CountNumber: maxLifecycleCount,
			},
			Action: ecrLifecycleAction{Type: "expire"},
		},
		{
			RulePriority: 2,
			Description:  fmt.Sprintf("Expire untagged images after %d days", r.UntaggedExpireDays),
			Selection: ecrLifecycleSelection{
				TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: r.UntaggedExpireDays,
			},
			Action: ecrLifecycleAction{Type: "expire"},
		},
		{
			RulePriority: 3,
			Description:  fmt.Sprintf("Keep the last %d other tagged images", r.KeepReleaseImages),
			Selection: ecrLifecycleSelection{
				TagStatus: "tagged", TagPatternList: []string{"*"}, CountType: "imageCountMoreThan", CountNumber: r.KeepReleaseImages,
			},
			Action: ecrLifecycleAction{Type: "expire"},
		},
	}}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("marshal lifecycle policy: %w", err)
	}
	return string(b), nil
}
