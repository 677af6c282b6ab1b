package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/smoke"
	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/deploy"
)

// driverSpec says which stack a release driver drives and where its
// output goes.
type driverSpec struct {
	Dir, Stack string
	Logger     *slog.Logger
	Progress   io.Writer // the engine's output
	Artifacts  string
	Run        *infra.Run
}

// otherStacks reads other stacks' outputs (--promote-from) through the
// Automation API.
type otherStacks struct {
	dir  string
	read func(ctx context.Context, dir, stack string) (stacks.Outputs, error)
}

func (o otherStacks) StackOutputs(ctx context.Context, stack string) (stacks.Outputs, error) {
	return o.read(ctx, o.dir, stack)
}

// newEngine is the Automation API engine of a stack of the project in dir.
func newEngine(dir, stack string) stacks.Engine { return &stacks.LocalEngine{Dir: dir, Stack: stack} }

// newDriver builds the release driver of the real process: the Automation
// API engine, and AWS clients of the SDK's default chain in the stack's
// region, every call bounded by its own timeout.
func newDriver(ctx context.Context, s driverSpec) (*stacks.Driver, error) {
	engine := &stacks.LocalEngine{Dir: s.Dir, Stack: s.Stack}
	outputs, err := engine.Outputs(ctx)
	if err != nil {
		return nil, automationError(err, s.Stack, s.Dir)
	}
	region, _ := outputs[stacks.OutputRegion].(string)
	clients, err := loadDeployClients(ctx, region)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	registry := stacks.Registry{API: ecr.NewFromConfig(cfg)}
	return &stacks.Driver{
		Stack:  s.Stack,
		Engine: engine,
		Deployer: &deploy.Operator{
			Clients:      deploy.WithCallLimits(clients, deploy.CallLimits{Logger: s.Logger}),
			Logger:       s.Logger,
			ArtifactsDir: s.Artifacts,
		},
		Smoker:   &stacks.SmokeGate{Policy: smoke.DefaultPolicy(), Logger: s.Logger, ArtifactsDir: s.Artifacts, MCPEndpoint: "/mcp"},
		Identity: stacks.STSAccount{API: sts.NewFromConfig(cfg)},
		Images:   registry,
		Tagger:   registry,
		Digests:  registry,
		Other:    otherStacks{dir: s.Dir, read: stacks.ReadOutputs},
		Logger:   s.Logger,
		Progress: s.Progress,
		Clock:    time.Now,
		Run:      s.Run,
	}, nil
}

// loadServiceClient builds the ECS client of status in the stack's region.
func loadServiceClient(ctx context.Context, region string) (stacks.ServicesAPI, error) {
	clients, err := loadDeployClients(ctx, region)
	if err != nil {
		return nil, err
	}
	return clients.ECS, nil
}
