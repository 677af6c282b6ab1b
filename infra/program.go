// Package infra is the Pulumi program of the experts platform: the GitHub
// OIDC deploy identity, the network, ECR, ECS services and their migration
// task, and the S3 + CloudFront site, each a component in its own file,
// with the policy rules that keep it safe.
package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Program is the Pulumi program (main.go runs it with pulumi.Run): it
// declares the stack's resources and exports its outputs.
func Program(ctx *pulumi.Context) error {
	outputs, err := Build(ctx)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(outputs) {
		ctx.Export(k, outputs[k])
	}
	return nil
}

// Build declares every resource of the stack and returns the stack outputs.
// The offline preview calls it directly to see the outputs.
func Build(ctx *pulumi.Context) (pulumi.Map, error) {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkAccount(ctx, cfg); err != nil {
		return nil, err
	}
	logRelease(ctx, cfg)
	boundary, err := NewPermissionsBoundary(ctx, "boundary", cfg)
	if err != nil {
		return nil, err
	}
	runtime, err := NewRuntime(ctx, "runtime", &RuntimeArgs{Config: cfg, PermissionsBoundaryArn: boundary.Arn})
	if err != nil {
		return nil, err
	}
	site, err := NewSite(ctx, "site", &SiteArgs{Config: cfg})
	if err != nil {
		return nil, err
	}
	identity, err := NewIdentity(ctx, "identity", &IdentityArgs{
		Config:     cfg,
		ClusterArn: runtime.ClusterArn,
		Services:   deployTargets(runtime),
		Site:       SiteTargets{BucketArn: site.BucketArn, DistributionArn: site.DistributionArn},

		PermissionsBoundaryArn: boundary.Arn,
	})
	if err != nil {
		return nil, err
	}

	outputs := pulumi.Map{
		OutputEnvironment: pulumi.String(cfg.Environment),
		OutputAccountID:   pulumi.String(cfg.AccountID),
		OutputRegion:      pulumi.String(cfg.Region),
		OutputRelease:     releaseOutput(cfg, runtime),
	}
	for _, part := range []pulumi.Map{runtime.Outputs(), site.Outputs(), identity.Outputs()} {
		for k, v := range part {
			if _, dup := outputs[k]; dup {
				return nil, fmt.Errorf("stack output %q is exported twice", k)
			}
			outputs[k] = v
		}
	}
	return outputs, nil
}

// deployTargets are the resources each service's deploy role is scoped to.
func deployTargets(runtime *Runtime) map[string]ServiceTargets {
	targets := make(map[string]ServiceTargets, len(runtime.Services))
	for name, svc := range runtime.Services {
		targets[name] = ServiceTargets{
			RepositoryArn:        svc.RepositoryArn,
			ServiceArn:           svc.ServiceArn,
			TaskRoleArn:          svc.TaskRoleArn,
			ExecutionRoleArn:     svc.ExecutionRoleArn,
			LogGroupArn:          svc.LogGroupArn,
			TaskDefinitionFamily: svc.TaskDefinitionFamily,
			MigrationFamily:      svc.MigrationFamily,
			SecretArns:           svc.SecretArns,
		}
	}
	return targets
}

// checkAccount refuses to run against any account but the stack's: a
// misconfigured credential must not deploy dev into prod or the reverse.
func checkAccount(ctx *pulumi.Context, cfg *Config) error {
	caller, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return fmt.Errorf("read caller identity: %w", err)
	}
	if caller.AccountId != cfg.AccountID {
		return fmt.Errorf("credentials are for account %s (%s) but stack %s deploys to %s (%s): assume this stack's role",
			caller.AccountId, caller.Arn, cfg.Stack, cfg.AccountID, KeyAccountID)
	}
	return nil
}

// releaseOutput is the live release of the stack: what each service runs
// after this update, with the digest its task definitions reference (also
// when this update built the image), so that the next update, reading it
// back, deploys the very same image. A pending migration release is kept
// with the digest its migration task definition runs.
func releaseOutput(cfg *Config, runtime *Runtime) pulumi.Map {
	out := pulumi.Map{}
	for _, name := range Services {
		r := cfg.Release[name]
		svc := runtime.Services[name]
		entry := releaseEntry(r, svc.Image)
		if r.Migrate != nil && svc.HasMigration() {
			entry["migrate"] = releaseEntry(*r.Migrate, svc.MigrationImage)
		}
		out[name] = entry
	}
	return out
}

func releaseEntry(r Release, image pulumi.StringOutput) pulumi.Map {
	entry := pulumi.Map{
		"version":     pulumi.String(r.Version),
		"gitSha":      pulumi.String(r.GitSha),
		"ref":         pulumi.String(r.Ref),
		"imageDigest": image.ApplyT(ImageDigest),
	}
	return entry
}

// ImageDigest returns the digest of an image reference
// "<repository>@sha256:…", and "" when the reference holds none.
func ImageDigest(ref string) string {
	_, digest, ok := strings.Cut(ref, "@")
	if !ok {
		return ""
	}
	return digest
}

// logRelease says which release the update runs and where it came from.
func logRelease(ctx *pulumi.Context, cfg *Config) {
	parts := make([]string, 0, len(Services))
	for _, name := range Services {
		r := cfg.Release[name]
		p := name + " " + r.Version
		if r.ImageDigest != "" {
			p += " (" + r.ImageDigest + ")"
		}
		if r.Migrate != nil {
			p += ", migrating to " + r.Migrate.Version
		}
		parts = append(parts, p)
	}
	source := map[string]string{
		ReleaseFromDriver:    "handed to this update by the release driver",
		ReleaseFromLive:      "the live release, kept",
		ReleaseFromBootstrap: "the stack file's bootstrap release (the stack has no live release yet)",
	}[cfg.ReleaseSource]
	_ = ctx.Log.Info(fmt.Sprintf("release: %s; %s", strings.Join(parts, "; "), source), nil)
}
