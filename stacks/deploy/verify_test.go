package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks/deploy"
	"github.com/experts/platform/stacks/deploy/deploytest"
)

const (
	service   = "experts-dev-api"
	elbReason = "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/experts-dev-api/0a1b2c)"
)

func verifySpec() deploy.VerifySpec {
	return deploy.VerifySpec{
		Cluster:           cluster,
		Service:           service,
		TaskDefinition:    apiTDNew,
		Since:             t0,
		Timeout:           30 * time.Minute,
		HealthyWithin:     10 * time.Minute,
		MaxSameStopReason: 3,
	}
}

func deployment(id, status, td string, rollout ecstypes.DeploymentRolloutState, running, desired int32) ecstypes.Deployment {
	return ecstypes.Deployment{
		Id:             aws.String(id),
		Status:         aws.String(status),
		TaskDefinition: aws.String(td),
		RolloutState:   rollout,
		RunningCount:   running,
		PendingCount:   desired - running,
		DesiredCount:   desired,
		CreatedAt:      at(0),
	}
}

func event(id string, minute int, message string) ecstypes.ServiceEvent {
	return ecstypes.ServiceEvent{Id: aws.String(id), CreatedAt: at(minute), Message: aws.String(message)}
}

// serviceState is one DescribeServices answer: deployments and events
// (newest first).
func serviceState(deps []ecstypes.Deployment, events ...ecstypes.ServiceEvent) deploytest.Step[*ecs.DescribeServicesOutput] {
	return deploytest.Step[*ecs.DescribeServicesOutput]{Out: &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{
		ServiceName: aws.String(service),
		Status:      aws.String("ACTIVE"),
		Deployments: deps,
		Events:      events,
	}}}}
}

func healthyTask(id, td string, health ecstypes.HealthStatus) ecstypes.Task {
	t := task(id, td, "RUNNING", containerState{name: "api"})
	t.HealthStatus = health
	return t
}

// serviceTasks fakes ListTasks and DescribeTasks from the tasks a scenario
// has at the nth DescribeServices call.
type serviceTasks struct {
	polls   *int
	running func(poll int) []ecstypes.Task
	stopped func(poll int) []ecstypes.Task
}

func (s serviceTasks) at(status ecstypes.DesiredStatus) []ecstypes.Task {
	f := s.running
	if status == ecstypes.DesiredStatusStopped {
		f = s.stopped
	}
	if f == nil {
		return nil
	}
	return f(*s.polls)
}

func (s serviceTasks) list(_ context.Context, in *ecs.ListTasksInput) (*ecs.ListTasksOutput, error) {
	if aws.ToString(in.ServiceName) != service || aws.ToString(in.Cluster) != cluster {
		return nil, errors.New("ListTasks of another service")
	}
	out := &ecs.ListTasksOutput{TaskArns: []string{}}
	for _, t := range s.at(in.DesiredStatus) {
		out.TaskArns = append(out.TaskArns, aws.ToString(t.TaskArn))
	}
	return out, nil
}

func (s serviceTasks) describe(ctx context.Context, in *ecs.DescribeTasksInput) (*ecs.DescribeTasksOutput, error) {
	return tasksByArn(append(s.at(ecstypes.DesiredStatusRunning), s.at(ecstypes.DesiredStatusStopped)...)...)(ctx, in)
}

func TestVerifyDeployment(t *testing.T) {
	inProgress := []ecstypes.Deployment{
		deployment("ecs-svc/2", "PRIMARY", apiTDNew, ecstypes.DeploymentRolloutStateInProgress, 1, 2),
		deployment("ecs-svc/1", "ACTIVE", apiTDOld, ecstypes.DeploymentRolloutStateCompleted, 2, 2),
	}
	completed := []ecstypes.Deployment{deployment("ecs-svc/2", "PRIMARY", apiTDNew, ecstypes.DeploymentRolloutStateCompleted, 2, 2)}
	failedDeployment := deployment("ecs-svc/2", "ACTIVE", apiTDNew, ecstypes.DeploymentRolloutStateFailed, 0, 2)
	failedDeployment.RolloutStateReason = aws.String("ECS deployment circuit breaker: tasks failed to start.")
	oneHealthy := func(int) []ecstypes.Task {
		return []ecstypes.Task{healthyTask("r1", apiTDNew, ecstypes.HealthStatusHealthy)}
	}
	elbStop := func(id string, minute int) ecstypes.Task {
		return stoppedTask(id, apiTDNew, minute, ecstypes.TaskStopCodeServiceSchedulerInitiated, elbReason, containerState{name: "api", exit: exit(143)})
	}
	tests := []struct {
		name          string
		healthCheck   bool
		services      []deploytest.Step[*ecs.DescribeServicesOutput]
		running       func(poll int) []ecstypes.Task
		stopped       func(poll int) []ecstypes.Task
		advance       time.Duration
		cancelAt      int
		wantIs        error
		wantErr       string
		wantDescribes int
	}{
		{
			name:          "succeeds when the PRIMARY deployment runs the new task definition, COMPLETED with all tasks running",
			healthCheck:   true,
			services:      []deploytest.Step[*ecs.DescribeServicesOutput]{serviceState(inProgress), serviceState(inProgress), serviceState(completed)},
			running:       oneHealthy,
			wantDescribes: 3,
		},
		{
			name: "waits while COMPLETED has fewer tasks running than desired",
			services: []deploytest.Step[*ecs.DescribeServicesOutput]{
				serviceState([]ecstypes.Deployment{deployment("ecs-svc/2", "PRIMARY", apiTDNew, ecstypes.DeploymentRolloutStateCompleted, 1, 2)}),
				serviceState(completed),
			},
			running:       oneHealthy,
			wantDescribes: 2,
		},
		{
			name:        "counts RUNNING tasks as healthy when the task definition has no health check",
			healthCheck: false,
			services: []deploytest.Step[*ecs.DescribeServicesOutput]{
				serviceState(inProgress), serviceState(inProgress), serviceState(inProgress), serviceState(completed),
			},
			running: func(int) []ecstypes.Task {
				return []ecstypes.Task{healthyTask("r1", apiTDNew, ecstypes.HealthStatusUnknown)}
			},
			advance:       4 * time.Minute,
			wantDescribes: 4,
		},
		{
			name: "counts neither scale-in nor user stops as failures",
			services: []deploytest.Step[*ecs.DescribeServicesOutput]{
				serviceState(inProgress), serviceState(inProgress), serviceState(inProgress), serviceState(completed),
			},
			running: oneHealthy,
			stopped: func(int) []ecstypes.Task {
				scaleIn := "Scaling activity initiated by (deployment ecs-svc/2)"
				return []ecstypes.Task{
					stoppedTask("x1", apiTDNew, 1, ecstypes.TaskStopCodeServiceSchedulerInitiated, scaleIn, containerState{name: "api", exit: exit(0)}),
					stoppedTask("x2", apiTDNew, 1, ecstypes.TaskStopCodeServiceSchedulerInitiated, scaleIn, containerState{name: "api", exit: exit(143)}),
					stoppedTask("x3", apiTDNew, 1, ecstypes.TaskStopCodeUserInitiated, "Task stopped by user", containerState{name: "api", exit: exit(137)}),
					stoppedTask("x4", apiTDNew, 1, ecstypes.TaskStopCodeServiceSchedulerInitiated, scaleIn, containerState{name: "api", exit: exit(0)}),
				}
			},
			wantDescribes: 4,
		},
		{
			name: "fails as rolled back when the circuit breaker puts the old task definition back as PRIMARY",
			services: []deploytest.Step[*ecs.DescribeServicesOutput]{serviceState([]ecstypes.Deployment{
				deployment("ecs-svc/3", "PRIMARY", apiTDOld, ecstypes.DeploymentRolloutStateInProgress, 1, 2),
				failedDeployment,
			}, event("e2", 6, "(service experts-dev-api) rolling back to deployment ecs-svc/1."))},
			wantIs: deploy.ErrRolledBack,
			wantErr: "service experts-dev-api: deployment rolled back: PRIMARY deployment ecs-svc/3 runs " + apiTDOld + ", not " + apiTDNew +
				"; deployment ecs-svc/2 of it is ACTIVE with rollout FAILED: ECS deployment circuit breaker: tasks failed to start." +
				"; event: (service experts-dev-api) rolling back to deployment ecs-svc/1.",
			wantDescribes: 1,
		},
		{
			name: "fails as rolled back when only the events tell of the rollback",
			services: []deploytest.Step[*ecs.DescribeServicesOutput]{serviceState(
				[]ecstypes.Deployment{deployment("ecs-svc/3", "PRIMARY", apiTDOld, ecstypes.DeploymentRolloutStateCompleted, 2, 2)},
				event("e3", 9, "(service experts-dev-api) has reached a steady state."),
				event("e2", 6, "(service experts-dev-api) (deployment ecs-svc/2) deployment failed: tasks failed to start."),
				event("e1", -60, "(service experts-dev-api) rolling back to deployment ecs-svc/0."),
			)},
			wantIs: deploy.ErrRolledBack,
			wantErr: "service experts-dev-api: deployment rolled back: PRIMARY deployment ecs-svc/3 runs " + apiTDOld + ", not " + apiTDNew +
				"; event: (service experts-dev-api) (deployment ecs-svc/2) deployment failed: tasks failed to start.",
			wantDescribes: 1,
		},
		{
			name: "fails as not deployed when nothing shows the new task definition rolled out",
			services: []deploytest.Step[*ecs.DescribeServicesOutput]{serviceState(
				[]ecstypes.Deployment{deployment("ecs-svc/1", "PRIMARY", apiTDOld, ecstypes.DeploymentRolloutStateCompleted, 2, 2)},
			)},
			wantIs: deploy.ErrNotDeployed,
			wantErr: "service experts-dev-api: task definition not deployed: PRIMARY deployment ecs-svc/1 runs " + apiTDOld + ", not " + apiTDNew +
				", and no deployment or event shows it rolled out",
			wantDescribes: 1,
		},
		{
			name: "fails when the rollout is FAILED",
			services: []deploytest.Step[*ecs.DescribeServicesOutput]{
				serviceState(inProgress),
				serviceState([]ecstypes.Deployment{func() ecstypes.Deployment {
					d := deployment("ecs-svc/2", "PRIMARY", apiTDNew, ecstypes.DeploymentRolloutStateFailed, 0, 2)
					d.RolloutStateReason = aws.String("ECS deployment circuit breaker: tasks failed to start.")
					return d
				}()}),
			},
			running:       oneHealthy,
			wantIs:        deploy.ErrRolloutFailed,
			wantErr:       "service experts-dev-api: rollout failed: deployment ecs-svc/2 of " + apiTDNew + ": ECS deployment circuit breaker: tasks failed to start.",
			wantDescribes: 2,
		},
		{
			name:     "fails fast when tasks of the deployment keep stopping for the same reason",
			services: []deploytest.Step[*ecs.DescribeServicesOutput]{serviceState(inProgress)},
			stopped: func(poll int) []ecstypes.Task {
				third := elbStop("s3", 3)
				if poll < 4 { // still stopping: no exit code yet, not counted yet
					third.LastStatus = aws.String("DEPROVISIONING")
					third.Containers[0].ExitCode = nil
				}
				return [][]ecstypes.Task{
					{elbStop("s1", 1)},
					{elbStop("s1", 1), stoppedTask("old1", apiTDOld, 1, ecstypes.TaskStopCodeServiceSchedulerInitiated, elbReason)},
					{elbStop("s1", 1), stoppedTask("old1", apiTDOld, 1, ecstypes.TaskStopCodeServiceSchedulerInitiated, elbReason),
						stoppedTask("s2", apiTDNew, 2, ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
							containerState{name: "api", exit: exit(1)}), third},
					{elbStop("s1", 1), stoppedTask("old1", apiTDOld, 1, ecstypes.TaskStopCodeServiceSchedulerInitiated, elbReason),
						stoppedTask("s2", apiTDNew, 2, ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
							containerState{name: "api", exit: exit(1)}), third},
					{elbStop("s1", 1), stoppedTask("old1", apiTDOld, 1, ecstypes.TaskStopCodeServiceSchedulerInitiated, elbReason),
						stoppedTask("s2", apiTDNew, 2, ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
							containerState{name: "api", exit: exit(1)}), third, elbStop("s4", 4)},
				}[min(poll, 5)-1]
			},
			advance:       time.Minute,
			wantIs:        deploy.ErrStuck,
			wantErr:       "service experts-dev-api: rollout is not making progress: 3 tasks of " + apiTDNew + " stopped for the same reason: " + elbReason + "; container api exited with code 143",
			wantDescribes: 5,
		},
		{
			name:        "fails fast when no task becomes healthy within the window",
			healthCheck: true,
			services:    []deploytest.Step[*ecs.DescribeServicesOutput]{serviceState(inProgress)},
			running: func(int) []ecstypes.Task {
				return []ecstypes.Task{healthyTask("r1", apiTDNew, ecstypes.HealthStatusUnhealthy), healthyTask("o1", apiTDOld, ecstypes.HealthStatusHealthy)}
			},
			advance:       4 * time.Minute,
			wantIs:        deploy.ErrStuck,
			wantErr:       "service experts-dev-api: rollout is not making progress: no task of " + apiTDNew + " became healthy within 10m0s of the deployment's start (no task of it has stopped)",
			wantDescribes: 3,
		},
		{
			name:          "times out when the rollout never completes",
			healthCheck:   true,
			services:      []deploytest.Step[*ecs.DescribeServicesOutput]{serviceState(inProgress)},
			running:       oneHealthy,
			advance:       10 * time.Minute,
			wantIs:        deploy.ErrTimeout,
			wantErr:       "service experts-dev-api: deadline passed: deployment of " + apiTDNew + " not verified within 30m0s (last seen: IN_PROGRESS running=1 pending=1 desired=2 failedTasks=0)",
			wantDescribes: 3,
		},
		{
			name:          "returns context.Canceled when the context is canceled while waiting",
			services:      []deploytest.Step[*ecs.DescribeServicesOutput]{serviceState(inProgress)},
			running:       oneHealthy,
			cancelAt:      2,
			wantIs:        context.Canceled,
			wantErr:       "verify service experts-dev-api: context canceled",
			wantDescribes: 2,
		},
		{
			name: "says the credentials expired and what to check",
			services: []deploytest.Step[*ecs.DescribeServicesOutput]{{
				Err: deploytest.APIError("ExpiredToken", "The security token included in the request is expired"),
			}},
			wantIs: deploy.ErrCredentialsExpired,
			wantErr: "describe service experts-dev-api: AWS credentials expired (ExpiredToken): the role session ended before the command did; " +
				"check the role's session duration (role-duration-seconds of configure-aws-credentials, at most the role's MaxSessionDuration) " +
				"against the command's deadline",
			wantDescribes: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			clock := deploytest.NewClock(t0)
			polls := 0
			describe := deploytest.Seq[*ecs.DescribeServicesInput](tc.services...)
			tasks := serviceTasks{polls: &polls, running: tc.running, stopped: tc.stopped}
			fakeECS := &deploytest.ECS{
				DescribeTaskDefinitionFunc: taskDefinitions(taskDefinition(apiTDNew, tc.healthCheck, "api")),
				DescribeServicesFunc: func(ctx context.Context, in *ecs.DescribeServicesInput) (*ecs.DescribeServicesOutput, error) {
					polls++
					clock.Advance(tc.advance)
					if polls == tc.cancelAt {
						cancel()
					}
					return describe(ctx, in)
				},
				ListTasksFunc:     tasks.list,
				DescribeTasksFunc: tasks.describe,
			}
			op := operator(fakeECS, &deploytest.Logs{}, clock, &logRecorder{})

			err := op.VerifyDeployment(ctx, verifySpec())

			if tc.wantIs == nil && err != nil {
				t.Fatalf("VerifyDeployment() error = %v, want nil", err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("VerifyDeployment() error = %v, want errors.Is %v", err, tc.wantIs)
			}
			if tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Errorf("VerifyDeployment() error:\n got %v\nwant %s", err, tc.wantErr)
			}
			if polls != tc.wantDescribes {
				t.Errorf("DescribeServices called %d times, want %d", polls, tc.wantDescribes)
			}
		})
	}
}

func TestVerifyDeploymentPrintsNewEventsOnceAndProgressOnChange(t *testing.T) {
	inProgress := []ecstypes.Deployment{
		deployment("ecs-svc/2", "PRIMARY", apiTDNew, ecstypes.DeploymentRolloutStateInProgress, 1, 2),
		deployment("ecs-svc/1", "ACTIVE", apiTDOld, ecstypes.DeploymentRolloutStateCompleted, 2, 2),
	}
	completed := []ecstypes.Deployment{deployment("ecs-svc/2", "PRIMARY", apiTDNew, ecstypes.DeploymentRolloutStateCompleted, 2, 2)}
	e1 := event("e1", -30, "(service experts-dev-api) has reached a steady state.")
	e2 := event("e2", 1, "(service experts-dev-api) has started 1 tasks: (task r1).")
	e3 := event("e3", 2, "(service experts-dev-api) registered 1 targets in (target-group experts-dev-api)")
	e4 := event("e4", 3, "(service experts-dev-api) has reached a steady state.")
	polls := 0
	tasks := serviceTasks{polls: &polls, running: func(int) []ecstypes.Task {
		return []ecstypes.Task{healthyTask("r1", apiTDNew, ecstypes.HealthStatusHealthy)}
	}}
	describe := deploytest.Seq[*ecs.DescribeServicesInput](
		serviceState(inProgress, e2, e1),
		serviceState(inProgress, e3, e2, e1),
		serviceState(completed, e4, e3, e2, e1),
	)
	fakeECS := &deploytest.ECS{
		DescribeTaskDefinitionFunc: taskDefinitions(taskDefinition(apiTDNew, true, "api")),
		DescribeServicesFunc: func(ctx context.Context, in *ecs.DescribeServicesInput) (*ecs.DescribeServicesOutput, error) {
			polls++
			return describe(ctx, in)
		},
		ListTasksFunc:     tasks.list,
		DescribeTasksFunc: tasks.describe,
	}
	logs := &logRecorder{}
	op := operator(fakeECS, &deploytest.Logs{}, deploytest.NewClock(t0), logs)

	if err := op.VerifyDeployment(t.Context(), verifySpec()); err != nil {
		t.Fatalf("VerifyDeployment() error = %v", err)
	}

	var got []string
	for _, r := range logs.records(t) {
		line := r["msg"].(string)
		if m, ok := r["message"]; ok {
			line += ": " + m.(string)
		}
		if r["msg"] == "deployment progress" || r["msg"] == "waiting for deployment" {
			line += ": " + r["rollout"].(string)
		}
		got = append(got, line)
	}
	want := []string{
		"verifying deployment",
		"service event: " + aws.ToString(e2.Message),
		"a task of the deployment is healthy",
		"deployment progress: IN_PROGRESS",
		"service event: " + aws.ToString(e3.Message),
		"waiting for deployment: IN_PROGRESS",
		"service event: " + aws.ToString(e4.Message),
		"deployment verified",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress lines (-want +got):\n%s", diff)
	}
}

func TestCredentialsExpiredErrorSaysWhatToCheck(t *testing.T) {
	fakeECS := &deploytest.ECS{
		DescribeTaskDefinitionFunc: func(context.Context, *ecs.DescribeTaskDefinitionInput) (*ecs.DescribeTaskDefinitionOutput, error) {
			return nil, deploytest.APIError("ExpiredTokenException", "The security token included in the request is expired")
		},
	}
	op := operator(fakeECS, &deploytest.Logs{}, deploytest.NewClock(t0), &logRecorder{})

	err := op.VerifyDeployment(t.Context(), verifySpec())

	var ce *deploy.CredentialsExpiredError
	if !errors.As(err, &ce) {
		t.Fatalf("VerifyDeployment() error = %v, want a CredentialsExpiredError", err)
	}
	for _, want := range []string{"AWS credentials expired", "session duration", "MaxSessionDuration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	var apiErr interface{ ErrorCode() string }
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ExpiredTokenException" {
		t.Errorf("error %v does not keep the SDK error", err)
	}
}

func TestVerifyDeploymentTakesFamilyAndRevisionForItsARN(t *testing.T) {
	completed := []ecstypes.Deployment{deployment("ecs-svc/2", "PRIMARY", apiTDNew, ecstypes.DeploymentRolloutStateCompleted, 2, 2)}
	fakeECS := &deploytest.ECS{
		DescribeTaskDefinitionFunc: func(_ context.Context, in *ecs.DescribeTaskDefinitionInput) (*ecs.DescribeTaskDefinitionOutput, error) {
			if aws.ToString(in.TaskDefinition) != "experts-dev-api:42" {
				return nil, deploytest.APIError("ClientException", "Unable to describe task definition.")
			}
			return taskDefinition(apiTDNew, false, "api"), nil
		},
		DescribeServicesFunc: deploytest.Seq[*ecs.DescribeServicesInput](serviceState(completed)),
	}
	op := operator(fakeECS, &deploytest.Logs{}, deploytest.NewClock(t0), &logRecorder{})
	spec := verifySpec()
	spec.TaskDefinition = "experts-dev-api:42"
	if err := op.VerifyDeployment(t.Context(), spec); err != nil {
		t.Fatalf("VerifyDeployment(family:revision) error = %v, want nil", err)
	}
}
