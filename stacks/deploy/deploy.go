// Package deploy runs and watches the ECS side of a release: the one-off
// migration task, the verification of a service deployment (which does not
// take "stable" for "succeeded"), and the failure bundle that explains a
// failed rollout from stopped tasks, service events, logs and target health.
//
// Every AWS call goes through the narrow interfaces below, so the release
// driver and the tests can pass their own implementations.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/experts/platform/internal/awsauth"
)

// ECSAPI is the part of the ECS client this package uses.
type ECSAPI interface {
	RunTask(ctx context.Context, in *ecs.RunTaskInput, optFns ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	StopTask(ctx context.Context, in *ecs.StopTaskInput, optFns ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// LogsAPI is the part of the CloudWatch Logs client this package uses.
type LogsAPI interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// TargetHealthAPI is the part of the Elastic Load Balancing v2 client this
// package uses.
type TargetHealthAPI interface {
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// Errors that callers classify with errors.Is. Every failure this package
// reports wraps one of them.
var (
	// ErrMigrationFailed: the migration task stopped without exit code 0
	// from its named container.
	ErrMigrationFailed = errors.New("migration failed")
	// ErrRolledBack: the PRIMARY deployment runs another task definition
	// than the one released (the circuit breaker rolled back).
	ErrRolledBack = errors.New("deployment rolled back")
	// ErrNotDeployed: the PRIMARY deployment runs another task definition
	// and nothing says the released one was ever rolled out.
	ErrNotDeployed = errors.New("task definition not deployed")
	// ErrRolloutFailed: the deployment's rolloutState is FAILED.
	ErrRolloutFailed = errors.New("rollout failed")
	// ErrStuck: the rollout makes no progress (no healthy task within the
	// window, or tasks keep stopping for the same reason).
	ErrStuck = errors.New("rollout is not making progress")
	// ErrTimeout: the deadline of the wait passed.
	ErrTimeout = errors.New("deadline passed")
	// ErrCredentialsExpired: AWS refused the session token as expired.
	ErrCredentialsExpired = awsauth.ErrCredentialsExpired
)

// Defaults used when an Operator or a spec leaves a field at zero.
const (
	DefaultPollInterval = 6 * time.Second
	DefaultHeartbeat    = 60 * time.Second
	// stopTimeout bounds the StopTask call made after the wait ended.
	stopTimeout = 30 * time.Second
	// runTaskTimeout bounds the RunTask call, which is finished even
	// when the command is interrupted.
	runTaskTimeout = 2 * time.Minute
)

// The tag every migration task carries, so that ListTasks, DescribeTasks
// and IAM conditions can tell migration tasks from service tasks.
const (
	MigrationTagKey   = "purpose"
	MigrationTagValue = "migration"
)

// Clients are the AWS clients an Operator calls. TargetHealth may be nil
// when no target group is read.
type Clients struct {
	ECS          ECSAPI
	Logs         LogsAPI
	TargetHealth TargetHealthAPI
}

// Operator runs migrations, verifies deployments and collects failure
// bundles. The zero values of the optional fields are usable defaults.
type Operator struct {
	Clients

	// Logger receives progress: state changes, service events and
	// heartbeat lines. Nil discards them.
	Logger *slog.Logger
	// ArtifactsDir receives migration logs and failure bundles. Empty
	// writes no files.
	ArtifactsDir string
	// StepSummary is a file that failure bundles are appended to as
	// markdown (the runner's $GITHUB_STEP_SUMMARY). Empty appends nothing.
	StepSummary string
	// PollInterval is the time between two polls while waiting.
	PollInterval time.Duration
	// Heartbeat is the time between two progress lines while nothing
	// changes. It is counted in polls, so it never drifts from them.
	Heartbeat time.Duration
	// Clock returns the current time; nil means time.Now. Deadlines and
	// fail-fast windows are measured with it.
	Clock func() time.Time
	// LogLag is how long a log that is still empty is read again after its
	// container ran. Zero means DefaultLogLag.
	LogLag time.Duration
}

// DefaultLogLag covers CloudWatch Logs' usual delivery delay.
const DefaultLogLag = 20 * time.Second

func (o *Operator) logLag() time.Duration {
	if o.LogLag <= 0 {
		return DefaultLogLag
	}
	return o.LogLag
}

// logLagPoll is the pause between two reads of a lagging log.
func (o *Operator) logLagPoll() time.Duration { return max(o.logLag()/10, time.Millisecond) }

// LoadClients builds the AWS clients from the default configuration chain
// (environment, shared config, web identity), so the SDK's standard endpoint
// settings (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) apply. A non-empty
// region overrides the configured one. Throttling and transient errors are
// retried with capped exponential backoff.
func LoadClients(ctx context.Context, region string) (Clients, error) {
	opts := []func(*config.LoadOptions) error{config.WithRetryer(newRetryer)}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return Clients{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return Clients{
		ECS:          ecs.NewFromConfig(cfg),
		Logs:         cloudwatchlogs.NewFromConfig(cfg),
		TargetHealth: elbv2.NewFromConfig(cfg),
	}, nil
}

// newRetryer is the SDK's standard retryer (throttling and 5xx errors,
// jittered exponential backoff, retry quota) with more attempts than the
// default 3, since a poll loop that gives up on one throttled call fails a
// whole release, and a cap on the backoff so that a wait never stalls long.
func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 8
		o.MaxBackoff = 20 * time.Second
	})
}

func (o *Operator) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o.Logger
}

func (o *Operator) now() time.Time {
	if o.Clock == nil {
		return time.Now()
	}
	return o.Clock()
}

func (o *Operator) pollInterval() time.Duration {
	if o.PollInterval <= 0 {
		return DefaultPollInterval
	}
	return o.PollInterval
}

// heartbeatPolls is the number of polls between two heartbeat lines.
func (o *Operator) heartbeatPolls() int {
	hb := o.Heartbeat
	if hb <= 0 {
		hb = DefaultHeartbeat
	}
	return max(1, int(hb/o.pollInterval()))
}

// CredentialsExpiredError reports that AWS refused a call because of the
// credentials (Expired: the session token had expired), and says what to
// check.
type CredentialsExpiredError = awsauth.CredentialsError

// awsError wraps the error of an AWS call with what was being done, and
// turns refused credentials into a CredentialsExpiredError.
func awsError(op string, err error) error {
	if ce := awsauth.Classify(op, err); ce != nil {
		return ce
	}
	return fmt.Errorf("%s: %w", op, err)
}

// errDeadline ends a poll whose deadline passed.
var errDeadline = errors.New("deadline passed")

// poll calls check at once and then on every tick until check reports done
// or fails, the context ends (its error is returned as is, also when a call
// failed because of it) or the deadline passes (errDeadline).
func (o *Operator) poll(ctx context.Context, deadline time.Time, check func(context.Context) (bool, error)) error {
	ticker := time.NewTicker(o.pollInterval())
	defer ticker.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := check(ctx)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr // the call failed because the context ended
			}
			return err
		}
		if done {
			return nil
		}
		if !o.now().Before(deadline) {
			return errDeadline
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
