// Package deploytest has fakes of the AWS clients that package deploy uses,
// driven by scripted responses, for the tests of deploy and of its callers.
// Like the SDK, every fake fails a call whose context has ended.
package deploytest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
)

// Step is one scripted response: Do (when set) runs first, then the call
// returns Out and Err.
type Step[Out any] struct {
	Out Out
	Err error
	Do  func()
}

// Seq returns a handler that answers with the steps in turn and repeats the
// last one once they are used up.
func Seq[In, Out any](steps ...Step[Out]) func(context.Context, In) (Out, error) {
	var (
		mu sync.Mutex
		i  int
	)
	return func(context.Context, In) (Out, error) {
		mu.Lock()
		s := steps[min(i, len(steps)-1)]
		i++
		mu.Unlock()
		if s.Do != nil {
			s.Do()
		}
		return s.Out, s.Err
	}
}

// Call is one recorded call: the operation's name and its input.
type Call struct {
	Op    string
	Input any
}

type recorder struct {
	mu    sync.Mutex
	calls []Call
}

func (r *recorder) record(op string, in any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Op: op, Input: in})
}

// Calls returns the inputs of the recorded calls to op, in order.
func (r *recorder) Calls(op string) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []any
	for _, c := range r.calls {
		if c.Op == op {
			out = append(out, c.Input)
		}
	}
	return out
}

func call[In, Out any](ctx context.Context, r *recorder, op string, in In, h func(context.Context, In) (Out, error)) (Out, error) {
	r.record(op, in)
	var zero Out
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("operation error %s: %w", op, err)
	}
	if h == nil {
		return zero, fmt.Errorf("deploytest: %s is not scripted", op)
	}
	return h(ctx, in)
}

// ECS is a fake ECS client. An operation without a handler fails.
type ECS struct {
	recorder
	RunTaskFunc                func(context.Context, *ecs.RunTaskInput) (*ecs.RunTaskOutput, error)
	DescribeTasksFunc          func(context.Context, *ecs.DescribeTasksInput) (*ecs.DescribeTasksOutput, error)
	StopTaskFunc               func(context.Context, *ecs.StopTaskInput) (*ecs.StopTaskOutput, error)
	ListTasksFunc              func(context.Context, *ecs.ListTasksInput) (*ecs.ListTasksOutput, error)
	DescribeServicesFunc       func(context.Context, *ecs.DescribeServicesInput) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinitionFunc func(context.Context, *ecs.DescribeTaskDefinitionInput) (*ecs.DescribeTaskDefinitionOutput, error)
}

// RunTask implements deploy.ECSAPI.
func (f *ECS) RunTask(ctx context.Context, in *ecs.RunTaskInput, _ ...func(*ecs.Options)) (*ecs.RunTaskOutput, error) {
	return call(ctx, &f.recorder, "RunTask", in, f.RunTaskFunc)
}

// DescribeTasks implements deploy.ECSAPI.
func (f *ECS) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	return call(ctx, &f.recorder, "DescribeTasks", in, f.DescribeTasksFunc)
}

// StopTask implements deploy.ECSAPI.
func (f *ECS) StopTask(ctx context.Context, in *ecs.StopTaskInput, _ ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	return call(ctx, &f.recorder, "StopTask", in, f.StopTaskFunc)
}

// ListTasks implements deploy.ECSAPI.
func (f *ECS) ListTasks(ctx context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	return call(ctx, &f.recorder, "ListTasks", in, f.ListTasksFunc)
}

// DescribeServices implements deploy.ECSAPI.
func (f *ECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return call(ctx, &f.recorder, "DescribeServices", in, f.DescribeServicesFunc)
}

// DescribeTaskDefinition implements deploy.ECSAPI.
func (f *ECS) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return call(ctx, &f.recorder, "DescribeTaskDefinition", in, f.DescribeTaskDefinitionFunc)
}

// Logs is a fake CloudWatch Logs client that pages through Streams the way
// GetLogEvents does: forward tokens from the head, the same token back at the
// end of the stream, the last Limit events when not reading from the head.
type Logs struct {
	recorder
	// Streams maps "group stream" (see Key) to the stream's messages,
	// oldest first; event i is stamped Start plus i seconds.
	Streams map[string][]string
	Start   time.Time
	// PageSize is the most events one response holds (default 2, so that
	// tests page).
	PageSize int
	// Err, when set, fails every call.
	Err error
}

// Key is the Streams key of a log stream.
func Key(group, stream string) string { return group + " " + stream }

// GetLogEvents implements deploy.LogsAPI.
func (f *Logs) GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	return call(ctx, &f.recorder, "GetLogEvents", in, f.getLogEvents)
}

func (f *Logs) getLogEvents(_ context.Context, in *cloudwatchlogs.GetLogEventsInput) (*cloudwatchlogs.GetLogEventsOutput, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	msgs, ok := f.Streams[Key(aws.ToString(in.LogGroupName), aws.ToString(in.LogStreamName))]
	if !ok {
		return nil, &cwtypes.ResourceNotFoundException{Message: aws.String("The specified log stream does not exist.")}
	}
	size := f.PageSize
	if size <= 0 {
		size = 2
	}
	if in.Limit != nil {
		size = min(size, int(*in.Limit))
	}
	from := 0
	if !aws.ToBool(in.StartFromHead) {
		if in.NextToken != nil {
			return nil, fmt.Errorf("deploytest: backward paging is not faked")
		}
		from = max(0, len(msgs)-size)
	} else if tok := aws.ToString(in.NextToken); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "f/"))
		if err != nil {
			return nil, fmt.Errorf("deploytest: bad token %q", tok)
		}
		from = n
	}
	to := min(len(msgs), from+size)
	out := &cloudwatchlogs.GetLogEventsOutput{NextForwardToken: aws.String("f/" + strconv.Itoa(to))}
	for i := from; i < to; i++ {
		out.Events = append(out.Events, cwtypes.OutputLogEvent{
			Timestamp: aws.Int64(f.Start.Add(time.Duration(i) * time.Second).UnixMilli()),
			Message:   aws.String(msgs[i]),
		})
	}
	return out, nil
}

// TargetHealth is a fake Elastic Load Balancing v2 client.
type TargetHealth struct {
	recorder
	Out *elbv2.DescribeTargetHealthOutput
	Err error
}

// DescribeTargetHealth implements deploy.TargetHealthAPI.
func (f *TargetHealth) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	return call(ctx, &f.recorder, "DescribeTargetHealth", in, func(context.Context, *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
		return f.Out, f.Err
	})
}

// APIError is an error as the SDK returns it for an AWS error code, such as
// ExpiredTokenException or ThrottlingException.
func APIError(code, message string) error {
	return &smithy.OperationError{
		ServiceID:     "ECS",
		OperationName: "DescribeTasks",
		Err:           &smithy.GenericAPIError{Code: code, Message: message},
	}
}

// Clock is a fake clock: it stands still until Advance moves it, typically
// from a scripted Step's Do.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
