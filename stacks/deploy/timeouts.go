package deploy

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// Defaults of CallLimits.
const (
	DefaultCallTimeout = 60 * time.Second
	DefaultSlowCall    = 10 * time.Second
)

// CallLimits bound every single AWS call: a call that never answers must not
// eat the whole deadline in silence.
type CallLimits struct {
	// Timeout bounds one call, its SDK retries included. Zero means
	// DefaultCallTimeout.
	Timeout time.Duration
	// SlowAfter is when a call in flight is reported as slow, and how often
	// again while it lasts. Zero means DefaultSlowCall.
	SlowAfter time.Duration
	// Logger receives the slow-call lines; nil discards them.
	Logger *slog.Logger
}

// WithCallLimits returns clients whose every call has its own timeout and
// logs a progress line while it is slow.
func WithCallLimits(c Clients, l CallLimits) Clients {
	if l.Timeout <= 0 {
		l.Timeout = DefaultCallTimeout
	}
	if l.SlowAfter <= 0 {
		l.SlowAfter = DefaultSlowCall
	}
	out := Clients{}
	if c.ECS != nil {
		out.ECS = &limitedECS{api: c.ECS, l: l}
	}
	if c.Logs != nil {
		out.Logs = &limitedLogs{api: c.Logs, l: l}
	}
	if c.TargetHealth != nil {
		out.TargetHealth = &limitedTargetHealth{api: c.TargetHealth, l: l}
	}
	return out
}

// limited runs one call with the limits.
func limited[Out any](ctx context.Context, l CallLimits, op string, call func(context.Context) (Out, error)) (Out, error) {
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	if l.Logger != nil {
		start := time.Now()
		go func() {
			t := time.NewTicker(l.SlowAfter)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case <-t.C:
					l.Logger.Info("waiting for AWS", "call", op, "elapsed", time.Since(start).Round(time.Second).String(),
						"timeout", l.Timeout.String())
				}
			}
		}()
	}
	return call(ctx)
}

type limitedECS struct {
	api ECSAPI
	l   CallLimits
}

func (c *limitedECS) RunTask(ctx context.Context, in *ecs.RunTaskInput, o ...func(*ecs.Options)) (*ecs.RunTaskOutput, error) {
	return limited(ctx, c.l, "ecs:RunTask", func(ctx context.Context) (*ecs.RunTaskOutput, error) { return c.api.RunTask(ctx, in, o...) })
}

func (c *limitedECS) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, o ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	return limited(ctx, c.l, "ecs:DescribeTasks", func(ctx context.Context) (*ecs.DescribeTasksOutput, error) {
		return c.api.DescribeTasks(ctx, in, o...)
	})
}

func (c *limitedECS) StopTask(ctx context.Context, in *ecs.StopTaskInput, o ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	return limited(ctx, c.l, "ecs:StopTask", func(ctx context.Context) (*ecs.StopTaskOutput, error) { return c.api.StopTask(ctx, in, o...) })
}

func (c *limitedECS) ListTasks(ctx context.Context, in *ecs.ListTasksInput, o ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	return limited(ctx, c.l, "ecs:ListTasks", func(ctx context.Context) (*ecs.ListTasksOutput, error) { return c.api.ListTasks(ctx, in, o...) })
}

func (c *limitedECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, o ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return limited(ctx, c.l, "ecs:DescribeServices", func(ctx context.Context) (*ecs.DescribeServicesOutput, error) {
		return c.api.DescribeServices(ctx, in, o...)
	})
}

func (c *limitedECS) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, o ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return limited(ctx, c.l, "ecs:DescribeTaskDefinition", func(ctx context.Context) (*ecs.DescribeTaskDefinitionOutput, error) {
		return c.api.DescribeTaskDefinition(ctx, in, o...)
	})
}

type limitedLogs struct {
	api LogsAPI
	l   CallLimits
}

func (c *limitedLogs) GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	return limited(ctx, c.l, "logs:GetLogEvents", func(ctx context.Context) (*cloudwatchlogs.GetLogEventsOutput, error) {
		return c.api.GetLogEvents(ctx, in, o...)
	})
}

type limitedTargetHealth struct {
	api TargetHealthAPI
	l   CallLimits
}

func (c *limitedTargetHealth) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, o ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	return limited(ctx, c.l, "elasticloadbalancing:DescribeTargetHealth", func(ctx context.Context) (*elbv2.DescribeTargetHealthOutput, error) {
		return c.api.DescribeTargetHealth(ctx, in, o...)
	})
}
