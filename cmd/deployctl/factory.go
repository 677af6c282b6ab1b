package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/deploy"
	"github.com/experts/platform/stacks/publish"
)

// factory holds what commands reach outside the process: the streams, the
// environment, the clock and constructors of the AWS clients and Pulumi
// workspaces they call. main builds the real one (newFactory); tests build
// their own with fakes. A command copies the fields it needs into its
// options struct when it is constructed.
type factory struct {
	Stdout io.Writer // results
	Stderr io.Writer // diagnostics and progress
	Getenv func(string) string
	Now    func() time.Time

	// ReadOutputs reads a stack's outputs through the Automation API.
	ReadOutputs func(ctx context.Context, dir, stack string) (stacks.Outputs, error)
	// PreviewLive runs pulumi preview of an existing stack.
	PreviewLive func(ctx context.Context, dir, stack string, opts stacks.LivePreviewOptions) (map[string]int, error)
	// CallerIdentity builds the STS client whoami asks.
	CallerIdentity func(ctx context.Context) (stacks.CallerIdentityAPI, error)
	// DeployClients builds the ECS, CloudWatch Logs and ELB clients; a
	// non-empty region overrides the configured one.
	DeployClients func(ctx context.Context, region string) (deploy.Clients, error)
	// SiteClients builds the S3 and CloudFront clients of a frontend publish.
	SiteClients func(ctx context.Context, opts publish.ClientOptions) (*publish.Clients, error)

	// NewDriver builds the release driver of a stack (release, rollback).
	NewDriver func(ctx context.Context, s driverSpec) (*stacks.Driver, error)
	// NewEngine is the Pulumi engine of a stack (up, history, status).
	NewEngine func(dir, stack string) stacks.Engine
	// ServiceClient builds the ECS client status asks.
	ServiceClient func(ctx context.Context, region string) (stacks.ServicesAPI, error)

	// Version is what deployctl version prints.
	Version versionInfo
}

// logger returns the structured progress logger (stderr).
func (f *factory) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(f.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// newFactory returns the factory of the real process: os streams and
// environment, the SDK's default AWS configuration chain and the Pulumi CLI
// on PATH.
func newFactory(stdout, stderr io.Writer, getenv func(string) string, v versionInfo) *factory {
	return &factory{
		Stdout:         stdout,
		Stderr:         stderr,
		Getenv:         getenv,
		Now:            time.Now,
		ReadOutputs:    stacks.ReadOutputs,
		PreviewLive:    stacks.PreviewLive,
		CallerIdentity: loadCallerIdentity,
		DeployClients:  loadDeployClients,
		SiteClients:    publish.LoadClients,
		NewDriver:      newDriver,
		NewEngine:      newEngine,
		ServiceClient:  loadServiceClient,
		Version:        v,
	}
}

// loadCallerIdentity builds the STS client from the SDK's default
// configuration.
func loadCallerIdentity(ctx context.Context) (stacks.CallerIdentityAPI, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		// Who the credentials are does not depend on the region; STS
		// answers in every region, so a laptop without one still works.
		cfg.Region = "us-east-1"
	}
	return sts.NewFromConfig(cfg), nil
}

// loadDeployClients builds the ECS clients and refuses to go on without a
// region: every call would fail with the SDK's "missing region".
func loadDeployClients(ctx context.Context, region string) (deploy.Clients, error) {
	clients, err := deploy.LoadClients(ctx, region)
	if err != nil {
		return clients, usageError(err)
	}
	if c, ok := clients.ECS.(*ecs.Client); ok && c.Options().Region == "" {
		return clients, usageErrorf("no AWS region: set AWS_REGION (or a region in AWS_PROFILE's config), or give --stack of a stack with a %q output", stacks.OutputRegion)
	}
	return clients, nil
}
