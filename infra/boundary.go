package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PermissionsBoundaryName is the managed policy that caps every role of the
// environment except the infra role: "experts-dev-boundary".
func PermissionsBoundaryName(cfg *Config) string { return cfg.Name("boundary") }

// PermissionsBoundaryArn is the ARN of PermissionsBoundaryName. The infra
// role may create and change roles only with this boundary attached, and
// may not change the boundary itself.
func PermissionsBoundaryArn(cfg *Config) string {
	return fmt.Sprintf("arn:aws:iam::%s:policy/%s", cfg.AccountID, PermissionsBoundaryName(cfg))
}

// NewPermissionsBoundary declares the boundary. The stack's first run, by
// an administrator, creates it; the infra role is denied changing it, so a
// change to it is an administrator's run again.
func NewPermissionsBoundary(ctx *pulumi.Context, name string, cfg *Config, opts ...pulumi.ResourceOption) (*iam.Policy, error) {
	doc := PolicyJSON(func([]any) PolicyDocument { return permissionsBoundaryPolicy(cfg) })
	p, err := iam.NewPolicy(ctx, name, &iam.PolicyArgs{
		Name:        pulumi.String(PermissionsBoundaryName(cfg)),
		Description: pulumi.String("Caps every " + cfg.Environment + " role the infra role creates: no IAM changes, only the services this program runs on"),
		Policy:      doc,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("declare permissions boundary: %w", err)
	}
	return p, nil
}

// permissionsBoundaryPolicy is the most any capped role may do: the
// services the deploy, preview, task and execution roles use, reads of
// IAM, and passing this environment's roles to ECS tasks. It grants
// nothing by itself (a boundary only caps); it holds no IAM write, so a
// role created with it can never create or widen another role.
func permissionsBoundaryPolicy(cfg *Config) PolicyDocument {
	envRoles := fmt.Sprintf("arn:aws:iam::%s:role/%s-*", cfg.AccountID, cfg.Name())
	return NewPolicyDocument(
		Statement{Sid: "Services", Effect: "Allow", Action: StringOrList{
			"acm:DescribeCertificate", "acm:ListTagsForCertificate",
			"cloudfront:CreateInvalidation", "cloudfront:Describe*", "cloudfront:Get*", "cloudfront:List*",
			"ec2:Describe*",
			"ecr:*", "ecs:*",
			"elasticloadbalancing:Describe*",
			"iam:Get*", "iam:List*",
			"kms:Decrypt", "kms:GenerateDataKey",
			"logs:*",
			"s3:*",
			"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
			"ssm:GetParameters",
			"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
			"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
		}, Resource: StringOrList{"*"}},
		Statement{Sid: "PassEnvironmentRolesToTasks", Effect: "Allow", Action: StringOrList{"iam:PassRole"},
			Resource: StringOrList{envRoles}, Condition: identityPassedToECSTasks()},
	)
}
