package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/experts/platform/stacks/deploy"
	"github.com/experts/platform/stacks/deploy/deploytest"
)

const (
	cluster   = "experts-dev"
	arnPrefix = "arn:aws:ecs:eu-west-1:123456789012:"
	migrateTD = arnPrefix + "task-definition/experts-dev-api-migrate:7"
	apiTDOld  = arnPrefix + "task-definition/experts-dev-api:41"
	apiTDNew  = arnPrefix + "task-definition/experts-dev-api:42"
	logGroup  = "/experts/dev/api"
)

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func taskArn(id string) string { return arnPrefix + "task/" + cluster + "/" + id }

func at(minutes int) *time.Time {
	t := t0.Add(time.Duration(minutes) * time.Minute)
	return &t
}

// taskDefinition is a task definition whose containers log to logGroup with
// their own name as stream prefix; withHealthCheck gives each a health check.
func taskDefinition(arn string, withHealthCheck bool, containers ...string) *ecs.DescribeTaskDefinitionOutput {
	td := &ecstypes.TaskDefinition{TaskDefinitionArn: aws.String(arn)}
	for _, c := range containers {
		def := ecstypes.ContainerDefinition{
			Name: aws.String(c),
			LogConfiguration: &ecstypes.LogConfiguration{
				LogDriver: ecstypes.LogDriverAwslogs,
				Options:   map[string]string{"awslogs-group": logGroup, "awslogs-stream-prefix": c, "awslogs-region": "eu-west-1"},
			},
		}
		if withHealthCheck {
			def.HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "true"}}
		}
		td.ContainerDefinitions = append(td.ContainerDefinitions, def)
	}
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: td}
}

// taskDefinitions answers DescribeTaskDefinition from a list.
func taskDefinitions(tds ...*ecs.DescribeTaskDefinitionOutput) func(context.Context, *ecs.DescribeTaskDefinitionInput) (*ecs.DescribeTaskDefinitionOutput, error) {
	return func(_ context.Context, in *ecs.DescribeTaskDefinitionInput) (*ecs.DescribeTaskDefinitionOutput, error) {
		for _, td := range tds {
			if aws.ToString(td.TaskDefinition.TaskDefinitionArn) == aws.ToString(in.TaskDefinition) {
				return td, nil
			}
		}
		return nil, deploytest.APIError("ClientException", "Unable to describe task definition.")
	}
}

// containerState is one container of a fake task.
type containerState struct {
	name   string
	exit   *int32
	reason string
}

func exit(code int32) *int32 { return &code }

// task is a fake task of taskDefinition td.
func task(id, td, status string, containers ...containerState) ecstypes.Task {
	t := ecstypes.Task{
		TaskArn:           aws.String(taskArn(id)),
		TaskDefinitionArn: aws.String(td),
		LastStatus:        aws.String(status),
		CreatedAt:         at(0),
	}
	for _, c := range containers {
		t.Containers = append(t.Containers, ecstypes.Container{Name: aws.String(c.name), ExitCode: c.exit, Reason: strPtr(c.reason)})
	}
	return t
}

// stoppedTask is task, STOPPED at minute stoppedAt with a stop code and
// reason.
func stoppedTask(id, td string, stoppedAt int, code ecstypes.TaskStopCode, reason string, containers ...containerState) ecstypes.Task {
	t := task(id, td, "STOPPED", containers...)
	t.StopCode = code
	t.StoppedReason = aws.String(reason)
	t.StoppedAt = at(stoppedAt)
	return t
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// tasksByArn answers DescribeTasks from a set of tasks, in the order asked.
func tasksByArn(tasks ...ecstypes.Task) func(context.Context, *ecs.DescribeTasksInput) (*ecs.DescribeTasksOutput, error) {
	return func(_ context.Context, in *ecs.DescribeTasksInput) (*ecs.DescribeTasksOutput, error) {
		out := &ecs.DescribeTasksOutput{}
		for _, a := range in.Tasks {
			found := false
			for _, t := range tasks {
				if aws.ToString(t.TaskArn) == a {
					out.Tasks = append(out.Tasks, t)
					found = true
				}
			}
			if !found {
				out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(a), Reason: aws.String("MISSING")})
			}
		}
		return out, nil
	}
}

// logRecorder is a slog handler target that keeps each record's message and
// attributes.
type logRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *logRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *logRecorder) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(r, nil))
}

// records returns the logged records, each as its attributes.
func (r *logRecorder) records(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(r.buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// operator returns an operator over the fakes that polls every millisecond
// and writes a heartbeat line every second poll.
func operator(e *deploytest.ECS, l *deploytest.Logs, clock *deploytest.Clock, log *logRecorder) *deploy.Operator {
	return &deploy.Operator{
		Clients:      deploy.Clients{ECS: e, Logs: l},
		Logger:       log.logger(),
		PollInterval: time.Millisecond,
		Heartbeat:    2 * time.Millisecond,
		Clock:        clock.Now,
		LogLag:       10 * time.Millisecond,
	}
}
