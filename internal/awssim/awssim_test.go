package awssim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

const account = "210987654321"

// clients are real aws-sdk-go-v2 clients configured from the simulator's
// environment, as deployctl configures its own.
type clients struct {
	ecs  *ecs.Client
	logs *cloudwatchlogs.Client
	elb  *elbv2.Client
	sts  *sts.Client
}

func start(t *testing.T) (*Simulator, clients) {
	t.Helper()
	sim, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	for k, v := range sim.Env(account) {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sim, clients{ecs: ecs.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg), elb: elbv2.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg)}
}

// service registers two revisions of a task definition and a service on
// the first; it returns the two task definition ARNs.
func newService(t *testing.T, c clients, name string) (string, string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("experts-dev")}); err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, v := range []string{"1.0.0", "1.1.0"} {
		out, err := c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(name),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("repo@sha256:1"),
				Environment: []ecstypes.KeyValuePair{{Name: aws.String("VERSION"), Value: aws.String(v)}, {Name: aws.String("GIT_SHA"), Value: aws.String("abc" + v)}},
				LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs,
					Options: map[string]string{"awslogs-group": "/ecs/" + name, "awslogs-stream-prefix": "api"}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	}
	if _, err := c.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("experts-dev"), ServiceName: aws.String(name), TaskDefinition: aws.String(arns[0]), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:eu-west-1:" + account + ":targetgroup/api/1"),
			ContainerName: aws.String("api"), ContainerPort: aws.Int32(8000)}},
	}); err != nil {
		t.Fatal(err)
	}
	waitRollout(t, c, name, ecstypes.DeploymentRolloutStateCompleted)
	return arns[0], arns[1]
}

// waitRollout polls DescribeServices until the PRIMARY deployment's
// rollout is final, and fails unless it is want.
func waitRollout(t *testing.T, c clients, name string, want ecstypes.DeploymentRolloutState) ecstypes.Service {
	t.Helper()
	for range 20 {
		out, err := c.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("experts-dev"), Services: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		svc := out.Services[0]
		for _, d := range svc.Deployments {
			if aws.ToString(d.Status) == "PRIMARY" && d.RolloutState == want {
				return svc
			}
		}
	}
	t.Fatalf("service %s never reached %s", name, want)
	return ecstypes.Service{}
}

func TestDeploymentsCompleteAndTheServiceAnswersAsItsPrimary(t *testing.T) {
	sim, c := start(t)
	_, second := newService(t, c, "experts-dev-api")
	ctx := context.Background()
	if _, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("experts-dev"), Service: aws.String("experts-dev-api"), TaskDefinition: aws.String(second)}); err != nil {
		t.Fatal(err)
	}
	svc := waitRollout(t, c, "experts-dev-api", ecstypes.DeploymentRolloutStateCompleted)
	if got := aws.ToString(svc.Deployments[0].TaskDefinition); got != second || len(svc.Deployments) != 1 {
		t.Fatalf("deployments %v, want the one of %s", svc.Deployments, second)
	}
	url := sim.Endpoints()["experts-dev-api"]
	if url == "" {
		t.Fatalf("endpoints %v lack the service", sim.Endpoints())
	}
	if got := get(t, url+"/version"); !strings.Contains(got, `"version":"1.1.0"`) || !strings.Contains(got, `"git_sha":"abc1.1.0"`) {
		t.Errorf("/version = %s, want 1.1.0 and its sha", got)
	}
	health, err := c.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:eu-west-1:" + account + ":targetgroup/api/1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(health.TargetHealthDescriptions) != 2 || health.TargetHealthDescriptions[0].TargetHealth.State != "healthy" {
		t.Errorf("target health %+v, want two healthy targets", health.TargetHealthDescriptions)
	}
}

func TestTheCircuitBreakerRollsBackAFailingDeployment(t *testing.T) {
	sim, c := start(t)
	first, second := newService(t, c, "experts-dev-api")
	sim.SetScenario(Scenario{Services: map[string]ServiceFault{"experts-dev-api": {Fault: FaultImagePull, Version: "1.1.0"}}})
	if _, err := c.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("experts-dev"), Service: aws.String("experts-dev-api"), TaskDefinition: aws.String(second)}); err != nil {
		t.Fatal(err)
	}
	svc := waitRollout(t, c, "experts-dev-api", ecstypes.DeploymentRolloutStateCompleted)
	if got := aws.ToString(svc.TaskDefinition); got != first {
		t.Errorf("service runs %s after the rollback, want %s", got, first)
	}
	var messages []string
	for _, e := range svc.Events {
		messages = append(messages, aws.ToString(e.Message))
	}
	if all := strings.Join(messages, "\n"); !strings.Contains(all, "CannotPullContainerError") || !strings.Contains(all, "rolling back") {
		t.Errorf("events do not tell the pull failure and the rollback:\n%s", all)
	}
}

func TestMigrationTasksExitAndLogAsTheScenarioSays(t *testing.T) {
	sim, c := start(t)
	first, _ := newService(t, c, "experts-dev-api-migrate")
	sim.SetScenario(Scenario{Tasks: map[string]TaskOutcome{"experts-dev-api-migrate": {ExitCode: 1, LogLines: []string{"alembic upgrade head", "ERROR: relation exists"}}}})
	ctx := context.Background()
	run, err := c.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("experts-dev"), TaskDefinition: aws.String(first)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	var task ecstypes.Task
	for range 10 {
		out, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("experts-dev"), Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		if task = out.Tasks[0]; aws.ToString(task.LastStatus) == "STOPPED" {
			break
		}
	}
	if aws.ToString(task.LastStatus) != "STOPPED" || task.Containers[0].ExitCode == nil || *task.Containers[0].ExitCode != 1 {
		t.Fatalf("task %s %v, want STOPPED with exit code 1", aws.ToString(task.LastStatus), task.Containers[0].ExitCode)
	}
	id := arn[strings.LastIndex(arn, "/")+1:]
	logs, err := c.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/experts-dev-api-migrate"),
		LogStreamName: aws.String("api/api/" + id), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range logs.Events {
		lines = append(lines, aws.ToString(e.Message))
	}
	if diff := cmp.Diff([]string{"alembic upgrade head", "ERROR: relation exists"}, lines); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

func TestCallerIdentityIsTheAccountOfTheAccessKey(t *testing.T) {
	_, c := start(t)
	out, err := c.sts.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Account); got != account {
		t.Errorf("account %s, want %s", got, account)
	}
}

func TestExpiredCredentialsFailEveryCall(t *testing.T) {
	sim, c := start(t)
	sim.SetScenario(Scenario{ExpiredCredentials: true})
	_, errSTS := c.sts.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	_, errECS := c.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: []string{"x"}})
	for name, want := range map[string]struct {
		err  error
		code string
	}{"sts": {errSTS, "ExpiredToken"}, "ecs": {errECS, "ExpiredTokenException"}} {
		var ae smithy.APIError
		if !errors.As(want.err, &ae) || ae.ErrorCode() != want.code {
			t.Errorf("%s: error %v, want %s", name, want.err, want.code)
		}
	}
}

func TestAThrottlingBurstIsRetriedAway(t *testing.T) {
	sim, c := start(t)
	sim.SetScenario(Scenario{Throttle: map[string]int{"sts": 2}})
	if _, err := c.sts.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("two throttled calls then success: %v", err)
	}
	sim.SetScenario(Scenario{Throttle: map[string]int{"sts": 10}})
	_, err := c.sts.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "Throttling" {
		t.Errorf("error %v, want Throttling once the retries are spent", err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServeSaysItIsSimulatedAndPrintsTheEnvironment(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, diag strings.Builder
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Serve(ctx, Options{}, account, io.MultiWriter(&out, pw), &diag)
		_ = pw.Close()
		done <- err
	}()
	// Serve writes the exports once and then serves: read them, then stop it.
	buf := make([]byte, 4096)
	if _, err := pr.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(diag.String(), Banner) {
		t.Errorf("diagnostics start %q, want the banner", diag.String())
	}
	for _, want := range []string{"# " + Banner, "export AWS_ACCESS_KEY_ID='AKIA" + account + "'", "export AWS_ENDPOINT_URL_ECS='http://127.0.0.1:", "unset AWS_SESSION_TOKEN"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("exports lack %q:\n%s", want, out.String())
		}
	}
}
