package deploy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/internal/golden"
	"github.com/experts/platform/stacks/deploy"
	"github.com/experts/platform/stacks/deploy/deploytest"
)

const targetGroup = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/experts-dev-api/0a1b2c"

// rolledBackService is a service whose release was rolled back, with three
// stopped tasks of the failed task definition and one old one.
func rolledBackService() (*deploytest.ECS, *deploytest.Logs, *deploytest.TargetHealth) {
	failed := deployment("ecs-svc/2", "ACTIVE", apiTDNew, ecstypes.DeploymentRolloutStateFailed, 0, 2)
	failed.RolloutStateReason = aws.String("ECS deployment circuit breaker: tasks failed to start.")
	services := deploytest.Seq[*ecs.DescribeServicesInput](serviceState(
		[]ecstypes.Deployment{deployment("ecs-svc/3", "PRIMARY", apiTDOld, ecstypes.DeploymentRolloutStateInProgress, 1, 2), failed},
		event("e3", 7, "(service experts-dev-api) rolling back to deployment ecs-svc/1."),
		event("e2", 6, "(service experts-dev-api) (deployment ecs-svc/2) deployment failed: tasks failed to start."),
		event("e1", 1, "(service experts-dev-api) has started 2 tasks: (task s1) (task s2)."),
	))
	stopped := []ecstypes.Task{
		stoppedTask("s3", apiTDNew, 2, ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
			containerState{name: "api", exit: exit(1)}),
		stoppedTask("s1", apiTDNew, 5, ecstypes.TaskStopCodeServiceSchedulerInitiated, elbReason,
			containerState{name: "api", exit: exit(143)}),
		stoppedTask("s2", apiTDNew, 4, ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
			containerState{name: "api", exit: exit(3), reason: "Error: DATABASE_URL | not set"}),
	}
	polls := 1
	tasks := serviceTasks{polls: &polls, stopped: func(int) []ecstypes.Task { return stopped }}
	fakeECS := &deploytest.ECS{
		DescribeServicesFunc:       services,
		ListTasksFunc:              tasks.list,
		DescribeTasksFunc:          tasksByArn(append(stopped, stoppedTask(migrationID, migrateTD, 0, ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", containerState{name: "migrate", exit: exit(0)}))...),
		DescribeTaskDefinitionFunc: taskDefinitions(taskDefinition(apiTDNew, true, "api"), taskDefinition(migrateTD, false, "migrate")),
	}
	fakeLogs := &deploytest.Logs{Start: t0, PageSize: 100, Streams: map[string][]string{
		deploytest.Key(logGroup, "api/api/s1"):                   {"listening on :8000", "GET /health 502", "GET /health 502", "shutting down"},
		deploytest.Key(logGroup, "migrate/migrate/"+migrationID): {"INFO  [alembic] Running upgrade 41 -> 42"},
	}}
	fakeELB := &deploytest.TargetHealth{Out: &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: []elbtypes.TargetHealthDescription{
		{
			Target:       &elbtypes.TargetDescription{Id: aws.String("10.0.1.17"), Port: aws.Int32(8000)},
			TargetHealth: &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy},
		},
		{
			Target: &elbtypes.TargetDescription{Id: aws.String("10.0.2.9"), Port: aws.Int32(8000)},
			TargetHealth: &elbtypes.TargetHealth{
				State:       elbtypes.TargetHealthStateEnumUnhealthy,
				Reason:      elbtypes.TargetHealthReasonEnumResponseCodeMismatch,
				Description: aws.String("Health checks failed with these codes: [502]"),
			},
		},
	}}}
	return fakeECS, fakeLogs, fakeELB
}

func bundleSpec() deploy.BundleSpec {
	return deploy.BundleSpec{
		Reason:         "service experts-dev-api: deployment rolled back",
		Cluster:        cluster,
		Service:        service,
		TargetGroupArn: targetGroup,
		TaskArns:       []string{taskArn(migrationID), taskArn("s1")},
		MaxTasks:       2,
		LogLines:       3,
		MaxEvents:      2,
	}
}

func TestCollectBundle(t *testing.T) {
	fakeECS, fakeLogs, fakeELB := rolledBackService()
	op := operator(fakeECS, fakeLogs, deploytest.NewClock(t0.Add(10*time.Minute)), &logRecorder{})
	op.TargetHealth = fakeELB
	op.ArtifactsDir = filepath.Join(t.TempDir(), "artifacts")
	op.StepSummary = filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(op.StepSummary, []byte("## Release api\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	b, err := op.CollectBundle(t.Context(), bundleSpec())
	if err != nil {
		t.Fatalf("CollectBundle() error = %v", err)
	}

	wantFiles := []string{
		filepath.Join(op.ArtifactsDir, "bundle-experts-dev-api.json"),
		filepath.Join(op.ArtifactsDir, "bundle-experts-dev-api.md"),
	}
	if diff := cmp.Diff(wantFiles, b.Files); diff != "" {
		t.Errorf("bundle files (-want +got):\n%s", diff)
	}
	gotJSON := readFile(t, wantFiles[0])
	gotMD := readFile(t, wantFiles[1])
	golden.AssertFunc(t, "bundle.golden.json", []byte(gotJSON), golden.JSON)
	golden.AssertString(t, "bundle.golden.md", gotMD)
	if diff := cmp.Diff("## Release api\n"+gotMD+"\n", readFile(t, op.StepSummary)); diff != "" {
		t.Errorf("job summary (-want +got):\n%s", diff)
	}
}

func TestCollectBundleNotesWhatItCouldNotCollect(t *testing.T) {
	fakeECS, fakeLogs, fakeELB := rolledBackService()
	fakeELB.Err = deploytest.APIError("AccessDenied", "User is not authorized to perform: elasticloadbalancing:DescribeTargetHealth")
	op := operator(fakeECS, fakeLogs, deploytest.NewClock(t0), &logRecorder{})
	op.TargetHealth = fakeELB
	op.ArtifactsDir = t.TempDir()

	b, err := op.CollectBundle(t.Context(), bundleSpec())

	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("CollectBundle() error = %v, want the AccessDenied of DescribeTargetHealth", err)
	}
	if b == nil {
		t.Fatal("CollectBundle() bundle = nil, want the parts that could be collected")
	}
	if len(b.Tasks) != 3 || len(b.Errors) != 1 || !strings.HasPrefix(b.Errors[0], "describe target health of "+targetGroup) {
		t.Errorf("bundle has %d tasks and errors %q, want 3 tasks and the target health error", len(b.Tasks), b.Errors)
	}
	if md := readFile(t, filepath.Join(op.ArtifactsDir, "bundle-experts-dev-api.md")); !strings.Contains(md, "#### Not collected\n\n- describe target health of") {
		t.Errorf("bundle markdown does not list what was not collected:\n%s", md)
	}
}

func TestCollectBundleReturnsCanceledForACanceledContext(t *testing.T) {
	fakeECS, fakeLogs, fakeELB := rolledBackService()
	op := operator(fakeECS, fakeLogs, deploytest.NewClock(t0), &logRecorder{})
	op.TargetHealth = fakeELB
	op.ArtifactsDir = t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	b, err := op.CollectBundle(ctx, bundleSpec())

	if !errors.Is(err, context.Canceled) || b != nil {
		t.Errorf("CollectBundle() = %v, %v; want nil, context.Canceled", b, err)
	}
	if entries, _ := os.ReadDir(op.ArtifactsDir); len(entries) != 0 {
		t.Errorf("artifacts written for a canceled bundle: %v", entries)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
