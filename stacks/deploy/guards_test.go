package deploy_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/experts/platform/stacks/deploy"
	"github.com/experts/platform/stacks/deploy/deploytest"
)

// releaseTaskDefinition is the migration task definition of a release: its
// container runs image with VERSION and GIT_SHA.
func releaseTaskDefinition(image, version, gitSha string) *ecs.DescribeTaskDefinitionOutput {
	td := taskDefinition(migrateTD, false, "migrate")
	c := &td.TaskDefinition.ContainerDefinitions[0]
	c.Image = aws.String(image)
	c.Environment = []ecstypes.KeyValuePair{
		{Name: aws.String("VERSION"), Value: aws.String(version)},
		{Name: aws.String("GIT_SHA"), Value: aws.String(gitSha)},
	}
	return td
}

const (
	newImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/experts-dev-api@sha256:1111"
	oldImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/experts-dev-api@sha256:0000"
)

func TestRunMigrationChecksWhatTheTaskDefinitionRuns(t *testing.T) {
	gitSha := strings.Repeat("c", 40)
	tests := []struct {
		name    string
		td      *ecs.DescribeTaskDefinitionOutput
		wantErr string
	}{
		{"refuses another release's image", releaseTaskDefinition(oldImage, "1.5.0", gitSha), "image " + oldImage + ", want " + newImage},
		{"refuses another version", releaseTaskDefinition(newImage, "1.4.2", gitSha), "VERSION 1.4.2, want 1.5.0"},
		{"refuses another commit", releaseTaskDefinition(newImage, "1.5.0", strings.Repeat("a", 40)), "GIT_SHA " + strings.Repeat("a", 40)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakeECS := &deploytest.ECS{DescribeTaskDefinitionFunc: taskDefinitions(tc.td)}
			op := operator(fakeECS, &deploytest.Logs{}, deploytest.NewClock(t0), &logRecorder{})
			spec := migrationSpec()
			spec.ExpectImage, spec.ExpectVersion, spec.ExpectGitSha = newImage, "1.5.0", gitSha
			res, err := op.RunMigration(t.Context(), spec)
			if !errors.Is(err, deploy.ErrWrongRelease) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("RunMigration() error = %v, want ErrWrongRelease saying %q", err, tc.wantErr)
			}
			if n := len(fakeECS.Calls("RunTask")); n != 0 {
				t.Errorf("RunTask called %d times, want 0", n)
			}
			if res == nil || res.Image != aws.ToString(tc.td.TaskDefinition.ContainerDefinitions[0].Image) {
				t.Errorf("result %+v does not say which image the task definition runs", res)
			}
		})
	}
}

func TestRunMigrationStopsTheTaskItStartedWhenInterruptedDuringRunTask(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fakeECS := &deploytest.ECS{
		DescribeTaskDefinitionFunc: taskDefinitions(taskDefinition(migrateTD, false, "migrate")),
		RunTaskFunc: func(callCtx context.Context, _ *ecs.RunTaskInput) (*ecs.RunTaskOutput, error) {
			cancel() // SIGINT while the call is in flight
			if callCtx.Err() != nil {
				return nil, callCtx.Err()
			}
			return &ecs.RunTaskOutput{Tasks: []ecstypes.Task{migrationTask("PROVISIONING")}}, nil
		},
		DescribeTasksFunc: deploytest.Seq[*ecs.DescribeTasksInput](described(
			stoppedTask(migrationID, migrateTD, 1, ecstypes.TaskStopCodeUserInitiated, "deployctl: the migration wait ended"))),
		StopTaskFunc: deploytest.Seq[*ecs.StopTaskInput](deploytest.Step[*ecs.StopTaskOutput]{Out: &ecs.StopTaskOutput{}}),
	}
	op := operator(fakeECS, &deploytest.Logs{Streams: map[string][]string{}}, deploytest.NewClock(t0), &logRecorder{})
	res, err := op.RunMigration(ctx, migrationSpec())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunMigration() error = %v, want context.Canceled", err)
	}
	if n := len(fakeECS.Calls("StopTask")); n != 1 {
		t.Errorf("StopTask called %d times, want 1: the started task would be orphaned", n)
	}
	if res.TaskArn != taskArn(migrationID) || !strings.Contains(err.Error(), taskArn(migrationID)) {
		t.Errorf("result task %q, error %q: want the task's ARN reported", res.TaskArn, err)
	}
}

func TestClientTokenIsTheSameForTheSameMigration(t *testing.T) {
	a, b := migrationSpec(), migrationSpec()
	b.Timeout = time.Hour
	if deploy.ClientToken(a) != deploy.ClientToken(b) {
		t.Error("the same migration got two tokens: a re-run would start a second task")
	}
	b.Release = "api-v1.5.0"
	if deploy.ClientToken(a) == deploy.ClientToken(b) {
		t.Error("two releases share a token: the second would not start")
	}
	if n := len(deploy.ClientToken(a)); n > 64 {
		t.Errorf("token of %d characters, RunTask takes at most 64", n)
	}
}

// lateLogs has no stream for the first misses calls, as CloudWatch Logs
// lags behind a container that just stopped.
type lateLogs struct {
	misses int32
	calls  atomic.Int32
	next   deploy.LogsAPI
}

func (l *lateLogs) GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	if l.calls.Add(1) <= l.misses {
		return nil, &cwtypes.ResourceNotFoundException{Message: aws.String("The specified log stream does not exist.")}
	}
	return l.next.GetLogEvents(ctx, in, o...)
}

func TestRunMigrationWaitsForALaggingLog(t *testing.T) {
	fakeECS := &deploytest.ECS{
		DescribeTaskDefinitionFunc: taskDefinitions(taskDefinition(migrateTD, false, "migrate")),
		RunTaskFunc: deploytest.Seq[*ecs.RunTaskInput](deploytest.Step[*ecs.RunTaskOutput]{
			Out: &ecs.RunTaskOutput{Tasks: []ecstypes.Task{migrationTask("PROVISIONING")}},
		}),
		DescribeTasksFunc: deploytest.Seq[*ecs.DescribeTasksInput](described(stoppedTask(migrationID, migrateTD, 1,
			ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", containerState{name: "migrate", exit: exit(0)}))),
	}
	logs := &lateLogs{misses: 3, next: &deploytest.Logs{Start: t0, Streams: map[string][]string{
		deploytest.Key(logGroup, migrationStream): {"INFO  [alembic] Running upgrade 41 -> 42"},
	}}}
	op := operator(fakeECS, nil, deploytest.NewClock(t0), &logRecorder{})
	op.Logs = logs
	op.LogLag = time.Second
	res, err := op.RunMigration(t.Context(), migrationSpec())
	if err != nil {
		t.Fatalf("RunMigration() error = %v", err)
	}
	if res.LogLines != 1 || res.LogError != "" {
		t.Errorf("log lines %d, log error %q: want the line that arrived late", res.LogLines, res.LogError)
	}
}

// hangingECS never answers DescribeServices until its context ends.
type hangingECS struct{ deploy.ECSAPI }

func (hangingECS) DescribeServices(ctx context.Context, _ *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCallLimitsEndACallThatNeverAnswersAndSayItIsSlow(t *testing.T) {
	rec := &logRecorder{}
	clients := deploy.WithCallLimits(deploy.Clients{ECS: hangingECS{}}, deploy.CallLimits{
		Timeout: 50 * time.Millisecond, SlowAfter: 10 * time.Millisecond, Logger: rec.logger(),
	})
	_, err := clients.ECS.DescribeServices(t.Context(), &ecs.DescribeServicesInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DescribeServices error = %v, want the call's own deadline", err)
	}
	slow := 0
	for _, r := range rec.records(t) {
		if r["msg"] == "waiting for AWS" && r["call"] == "ecs:DescribeServices" {
			slow++
		}
	}
	if slow == 0 {
		t.Error("no progress line while the call hung")
	}
}
