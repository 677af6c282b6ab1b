package deploy_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/experts/platform/internal/golden"
	"github.com/experts/platform/stacks/deploy"
	"github.com/experts/platform/stacks/deploy/deploytest"
)

const migrationID = "5d2c0e7a9b1f4c3e8a6d"

var migrationStream = "migrate/migrate/" + migrationID

func migrationSpec() deploy.MigrationSpec {
	return deploy.MigrationSpec{
		Service:        "api",
		Cluster:        cluster,
		TaskDefinition: migrateTD,
		Container:      "migrate",
		Subnets:        []string{"subnet-a", "subnet-b"},
		SecurityGroups: []string{"sg-tasks"},
		Release:        "api-v1.4.0+abc1234",
		Timeout:        10 * time.Minute,
		TailLines:      2,
	}
}

// migrationTask is the migration task in status, its containers as given.
func migrationTask(status string, containers ...containerState) ecstypes.Task {
	return task(migrationID, migrateTD, status, containers...)
}

func described(tasks ...ecstypes.Task) deploytest.Step[*ecs.DescribeTasksOutput] {
	return deploytest.Step[*ecs.DescribeTasksOutput]{Out: &ecs.DescribeTasksOutput{Tasks: tasks}}
}

// migrationOutcome is the part of a MigrationResult the cases compare.
type migrationOutcome struct {
	Succeeded     bool
	Reason        string
	LastStatus    string
	ExitCode      *int32
	StopCode      string
	StoppedReason string
	TimedOut      bool
	StopRequested bool
	LogLines      int
	LogTail       []string
	LogError      string
}

func outcomeOf(r *deploy.MigrationResult) *migrationOutcome {
	if r == nil {
		return nil
	}
	return &migrationOutcome{
		Succeeded: r.Succeeded, Reason: r.Reason, LastStatus: r.LastStatus, ExitCode: r.ExitCode,
		StopCode: r.StopCode, StoppedReason: r.StoppedReason, TimedOut: r.TimedOut, StopRequested: r.StopRequested,
		LogLines: r.LogLines, LogTail: r.LogTail, LogError: r.LogError,
	}
}

func TestRunMigration(t *testing.T) {
	threeLines := []string{"INFO  [alembic] Context impl PostgresqlImpl.", "INFO  [alembic] Running upgrade 41 -> 42", "done"}
	essentialExited := "Essential container in task exited"
	pullError := "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/experts-api@sha256:0f1e: not found"
	sidecarOK := containerState{name: "otel", exit: exit(0)}
	userStopped := stoppedTask(migrationID, migrateTD, 12, ecstypes.TaskStopCodeUserInitiated, "deployctl: the migration wait ended",
		containerState{name: "migrate", exit: exit(137)}, sidecarOK)
	tests := []struct {
		name     string
		describe []deploytest.Step[*ecs.DescribeTasksOutput]
		stop     error
		log      []string // the migrate container's log; nil: no stream
		advance  time.Duration
		cancelAt int // cancel the context during this DescribeTasks call
		wantErr  []error
		want     *migrationOutcome
		wantLog  []string // the log file's lines; nil: no file
		stops    int
	}{
		{
			name: "succeeds when the migration container exits 0 after running",
			describe: []deploytest.Step[*ecs.DescribeTasksOutput]{
				described(migrationTask("PENDING")),
				described(migrationTask("RUNNING")),
				described(stoppedTask(migrationID, migrateTD, 3, ecstypes.TaskStopCodeEssentialContainerExited, essentialExited,
					containerState{name: "migrate", exit: exit(0)}, sidecarOK)),
			},
			log: threeLines,
			want: &migrationOutcome{
				Succeeded: true, LastStatus: "STOPPED", ExitCode: exit(0),
				StopCode: "EssentialContainerExited", StoppedReason: essentialExited,
				LogLines: 3, LogTail: []string{
					"2026-03-04T10:00:01.000Z INFO  [alembic] Running upgrade 41 -> 42",
					"2026-03-04T10:00:02.000Z done",
				},
			},
			wantLog: []string{
				"2026-03-04T10:00:00.000Z INFO  [alembic] Context impl PostgresqlImpl.",
				"2026-03-04T10:00:01.000Z INFO  [alembic] Running upgrade 41 -> 42",
				"2026-03-04T10:00:02.000Z done",
			},
		},
		{
			name: "fails when the migration container exits 1",
			describe: []deploytest.Step[*ecs.DescribeTasksOutput]{
				described(migrationTask("RUNNING")),
				described(stoppedTask(migrationID, migrateTD, 2, ecstypes.TaskStopCodeEssentialContainerExited, essentialExited,
					containerState{name: "migrate", exit: exit(1)}, sidecarOK)),
			},
			log:     []string{"alembic.util.exc.CommandError: Can't locate revision identified by '42'"},
			wantErr: []error{deploy.ErrMigrationFailed},
			want: &migrationOutcome{
				Reason:     "container migrate exited with code 1 (stop code EssentialContainerExited: Essential container in task exited)",
				LastStatus: "STOPPED", ExitCode: exit(1), StopCode: "EssentialContainerExited", StoppedReason: essentialExited,
				LogLines: 1, LogTail: []string{"2026-03-04T10:00:00.000Z alembic.util.exc.CommandError: Can't locate revision identified by '42'"},
			},
			wantLog: []string{"2026-03-04T10:00:00.000Z alembic.util.exc.CommandError: Can't locate revision identified by '42'"},
		},
		{
			name: "fails when only another container exits 0",
			describe: []deploytest.Step[*ecs.DescribeTasksOutput]{
				described(stoppedTask(migrationID, migrateTD, 2, ecstypes.TaskStopCodeEssentialContainerExited, essentialExited,
					sidecarOK, containerState{name: "migrate", exit: exit(137), reason: "OutOfMemoryError: Container killed due to memory usage"})),
			},
			log:     []string{},
			wantErr: []error{deploy.ErrMigrationFailed},
			want: &migrationOutcome{
				Reason: "container migrate exited with code 137: OutOfMemoryError: Container killed due to memory usage " +
					"(stop code EssentialContainerExited: Essential container in task exited)",
				LastStatus: "STOPPED", ExitCode: exit(137), StopCode: "EssentialContainerExited", StoppedReason: essentialExited,
			},
		},
		{
			name: "succeeds when the task is never seen RUNNING and stops with 0",
			describe: []deploytest.Step[*ecs.DescribeTasksOutput]{
				{Out: &ecs.DescribeTasksOutput{Failures: []ecstypes.Failure{{Arn: aws.String(taskArn(migrationID)), Reason: aws.String("MISSING")}}}},
				described(stoppedTask(migrationID, migrateTD, 1, ecstypes.TaskStopCodeEssentialContainerExited, essentialExited,
					containerState{name: "migrate", exit: exit(0)})),
			},
			log: []string{"no migrations to run"},
			want: &migrationOutcome{
				Succeeded: true, LastStatus: "STOPPED", ExitCode: exit(0),
				StopCode: "EssentialContainerExited", StoppedReason: essentialExited,
				LogLines: 1, LogTail: []string{"2026-03-04T10:00:00.000Z no migrations to run"},
			},
			wantLog: []string{"2026-03-04T10:00:00.000Z no migrations to run"},
		},
		{
			name: "fails with the pull error when the image cannot be pulled",
			describe: []deploytest.Step[*ecs.DescribeTasksOutput]{
				described(migrationTask("PENDING")),
				described(stoppedTask(migrationID, migrateTD, 1, ecstypes.TaskStopCodeTaskFailedToStart, pullError,
					containerState{name: "migrate", reason: pullError})),
			},
			wantErr: []error{deploy.ErrMigrationFailed},
			want: &migrationOutcome{
				Reason:     "container migrate never exited with a code (stop code TaskFailedToStart: " + pullError + ")",
				LastStatus: "STOPPED", StopCode: "TaskFailedToStart", StoppedReason: pullError,
				LogError: "read log stream " + migrationStream + " in " + logGroup +
					": log stream does not exist (the container may never have started)",
			},
		},
		{
			name: "stops the task, waits until it has stopped and fails when the deadline passes",
			describe: []deploytest.Step[*ecs.DescribeTasksOutput]{
				described(migrationTask("RUNNING")), described(migrationTask("RUNNING")), described(migrationTask("RUNNING")),
				described(userStopped),
			},
			advance: 4 * time.Minute,
			log:     []string{"waiting for lock on alembic_version"},
			wantErr: []error{deploy.ErrMigrationFailed, deploy.ErrTimeout},
			want: &migrationOutcome{
				Reason: "migration failed: deadline passed: task " + migrationID + " did not stop within 10m0s (last status RUNNING); task " +
					taskArn(migrationID) + " was stopped (container migrate: exit code 137)",
				LastStatus: "STOPPED", ExitCode: exit(137), StopCode: "UserInitiated", StoppedReason: "deployctl: the migration wait ended",
				TimedOut: true, StopRequested: true,
				LogLines: 1, LogTail: []string{"2026-03-04T10:00:00.000Z waiting for lock on alembic_version"},
			},
			wantLog: []string{"2026-03-04T10:00:00.000Z waiting for lock on alembic_version"},
			stops:   1,
		},
		{
			name:     "says the task may still run when it does not stop within the grace",
			describe: []deploytest.Step[*ecs.DescribeTasksOutput]{described(migrationTask("RUNNING"))},
			advance:  4 * time.Minute,
			log:      []string{},
			wantErr:  []error{deploy.ErrMigrationFailed, deploy.ErrTimeout},
			want: &migrationOutcome{
				Reason: "migration failed: deadline passed: task " + migrationID + " did not stop within 10m0s (last status RUNNING); task " +
					taskArn(migrationID) + " was asked to stop but is still RUNNING after 3m0s: it may still be running; check it before running again " +
					"(aws ecs describe-tasks --cluster " + cluster + " --tasks " + taskArn(migrationID) + ")",
				LastStatus: "RUNNING", TimedOut: true, StopRequested: true,
			},
			stops: 1,
		},
		{
			name:     "stops the task when the context is canceled while waiting, and waits until it has stopped",
			describe: []deploytest.Step[*ecs.DescribeTasksOutput]{described(migrationTask("RUNNING")), described(migrationTask("RUNNING")), described(userStopped)},
			cancelAt: 2,
			log:      []string{},
			wantErr:  []error{context.Canceled},
			want: &migrationOutcome{
				Reason: "wait for migration task " + migrationID + ": context canceled; task " + taskArn(migrationID) +
					" was stopped (container migrate: exit code 137)",
				LastStatus: "STOPPED", ExitCode: exit(137), StopCode: "UserInitiated", StoppedReason: "deployctl: the migration wait ended",
				StopRequested: true,
			},
			stops: 1,
		},
		{
			name: "says the credentials expired and what to check",
			describe: []deploytest.Step[*ecs.DescribeTasksOutput]{
				described(migrationTask("RUNNING")),
				{Err: deploytest.APIError("ExpiredTokenException", "The security token included in the request is expired")},
			},
			stop:    deploytest.APIError("ExpiredTokenException", "The security token included in the request is expired"),
			log:     []string{},
			wantErr: []error{deploy.ErrCredentialsExpired},
			want: &migrationOutcome{
				Reason: "wait for migration task " + migrationID + ": describe migration task " + migrationID +
					": AWS credentials expired (ExpiredTokenException): the role session ended before the command did; " +
					"check the role's session duration (role-duration-seconds of configure-aws-credentials, " +
					"at most the role's MaxSessionDuration) against the command's deadline; stopping it failed: stop it by hand " +
					"(aws ecs stop-task --cluster " + cluster + " --task " + taskArn(migrationID) + ")",
				LastStatus: "RUNNING", StopRequested: true,
			},
			stops: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			clock := deploytest.NewClock(t0)
			describe := deploytest.Seq[*ecs.DescribeTasksInput](tc.describe...)
			describes := 0
			fakeECS := &deploytest.ECS{
				DescribeTaskDefinitionFunc: taskDefinitions(taskDefinition(migrateTD, false, "migrate", "otel")),
				RunTaskFunc: deploytest.Seq[*ecs.RunTaskInput](deploytest.Step[*ecs.RunTaskOutput]{
					Out: &ecs.RunTaskOutput{Tasks: []ecstypes.Task{migrationTask("PROVISIONING")}},
				}),
				DescribeTasksFunc: func(ctx context.Context, in *ecs.DescribeTasksInput) (*ecs.DescribeTasksOutput, error) {
					describes++
					clock.Advance(tc.advance)
					if describes == tc.cancelAt {
						cancel()
					}
					return describe(ctx, in)
				},
				StopTaskFunc: deploytest.Seq[*ecs.StopTaskInput](deploytest.Step[*ecs.StopTaskOutput]{Out: &ecs.StopTaskOutput{}, Err: tc.stop}),
			}
			fakeLogs := &deploytest.Logs{Start: t0, Streams: map[string][]string{}}
			if tc.log != nil {
				fakeLogs.Streams[deploytest.Key(logGroup, migrationStream)] = tc.log
			}
			op := operator(fakeECS, fakeLogs, clock, &logRecorder{})
			op.ArtifactsDir = t.TempDir()

			res, err := op.RunMigration(ctx, migrationSpec())

			for _, target := range tc.wantErr {
				if !errors.Is(err, target) {
					t.Errorf("RunMigration() error = %v, want errors.Is %v", err, target)
				}
			}
			if len(tc.wantErr) == 0 && err != nil {
				t.Errorf("RunMigration() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, outcomeOf(res)); diff != "" {
				t.Errorf("RunMigration() result (-want +got):\n%s", diff)
			}
			if res == nil {
				return
			}
			if tc.want.Reason != "" && err != nil && !strings.Contains(err.Error(), tc.want.Reason) {
				t.Errorf("RunMigration() error = %q, want it to say %q", err, tc.want.Reason)
			}
			var gotLog []string
			if res.LogFile != "" {
				data, err := os.ReadFile(res.LogFile)
				if err != nil {
					t.Fatal(err)
				}
				gotLog = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			}
			if diff := cmp.Diff(tc.wantLog, gotLog); diff != "" {
				t.Errorf("log file (-want +got):\n%s", diff)
			}
			stops := fakeECS.Calls("StopTask")
			if len(stops) != tc.stops {
				t.Fatalf("StopTask called %d times, want %d", len(stops), tc.stops)
			}
			for _, s := range stops {
				in := s.(*ecs.StopTaskInput)
				if aws.ToString(in.Task) != taskArn(migrationID) || aws.ToString(in.Cluster) != cluster {
					t.Errorf("StopTask(%s in %s), want %s in %s", aws.ToString(in.Task), aws.ToString(in.Cluster), taskArn(migrationID), cluster)
				}
			}
		})
	}
}

func TestRunMigrationStartsOneFargateTaskNamedAfterTheRelease(t *testing.T) {
	fakeECS := &deploytest.ECS{
		DescribeTaskDefinitionFunc: taskDefinitions(taskDefinition(migrateTD, false, "migrate")),
		RunTaskFunc: deploytest.Seq[*ecs.RunTaskInput](deploytest.Step[*ecs.RunTaskOutput]{
			Out: &ecs.RunTaskOutput{Tasks: []ecstypes.Task{migrationTask("PROVISIONING")}},
		}),
		DescribeTasksFunc: deploytest.Seq[*ecs.DescribeTasksInput](described(
			stoppedTask(migrationID, migrateTD, 1, ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
				containerState{name: "migrate", exit: exit(0)}))),
	}
	fakeLogs := &deploytest.Logs{Start: t0, Streams: map[string][]string{deploytest.Key(logGroup, migrationStream): {"ok"}}}
	op := operator(fakeECS, fakeLogs, deploytest.NewClock(t0), &logRecorder{})

	if _, err := op.RunMigration(t.Context(), migrationSpec()); err != nil {
		t.Fatalf("RunMigration() error = %v", err)
	}

	runs := fakeECS.Calls("RunTask")
	if len(runs) != 1 {
		t.Fatalf("RunTask called %d times, want 1", len(runs))
	}
	want := &ecs.RunTaskInput{
		Cluster:        aws.String(cluster),
		TaskDefinition: aws.String(migrateTD),
		Count:          aws.Int32(1),
		LaunchType:     ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets:        []string{"subnet-a", "subnet-b"},
			SecurityGroups: []string{"sg-tasks"},
			AssignPublicIp: ecstypes.AssignPublicIpDisabled,
		}},
		ClientToken: aws.String(deploy.ClientToken(migrationSpec())),
		StartedBy:   aws.String("deployctl/migrate/api-v1-4-0-abc1234"),
		Tags: []ecstypes.Tag{
			{Key: aws.String("release"), Value: aws.String("api-v1.4.0+abc1234")},
			{Key: aws.String("purpose"), Value: aws.String("migration")},
			// The deploy role may describe and stop only its service's tasks.
			{Key: aws.String("experts:service"), Value: aws.String("api")},
		},
	}
	opts := cmpopts.IgnoreUnexported(ecs.RunTaskInput{}, ecstypes.NetworkConfiguration{}, ecstypes.AwsVpcConfiguration{}, ecstypes.Tag{})
	if diff := cmp.Diff(want, runs[0], opts); diff != "" {
		t.Errorf("RunTask input (-want +got):\n%s", diff)
	}
}

func TestRunMigrationLogsStatusChangesAndHeartbeats(t *testing.T) {
	fakeECS := &deploytest.ECS{
		DescribeTaskDefinitionFunc: taskDefinitions(taskDefinition(migrateTD, false, "migrate")),
		RunTaskFunc: deploytest.Seq[*ecs.RunTaskInput](deploytest.Step[*ecs.RunTaskOutput]{
			Out: &ecs.RunTaskOutput{Tasks: []ecstypes.Task{migrationTask("PROVISIONING")}},
		}),
		DescribeTasksFunc: deploytest.Seq[*ecs.DescribeTasksInput](
			described(migrationTask("PENDING")),
			described(migrationTask("PENDING")),
			described(migrationTask("PENDING")),
			described(migrationTask("PENDING")),
			described(migrationTask("RUNNING")),
			described(stoppedTask(migrationID, migrateTD, 1, ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
				containerState{name: "migrate", exit: exit(0)})),
		),
	}
	fakeLogs := &deploytest.Logs{Start: t0, Streams: map[string][]string{deploytest.Key(logGroup, migrationStream): {}}}
	logs := &logRecorder{}
	op := operator(fakeECS, fakeLogs, deploytest.NewClock(t0), logs)

	if _, err := op.RunMigration(t.Context(), migrationSpec()); err != nil {
		t.Fatalf("RunMigration() error = %v", err)
	}

	var got []string
	for _, r := range logs.records(t) {
		line := r["msg"].(string)
		if to, ok := r["to"]; ok {
			line += " " + r["from"].(string) + "->" + to.(string)
		}
		if s, ok := r["status"]; ok && r["msg"] == "waiting for migration task" {
			line += " " + s.(string)
		}
		got = append(got, line)
	}
	want := []string{
		"migration task definition",
		"started migration task",
		"migration task status PROVISIONING->PENDING",
		"waiting for migration task PENDING",
		"waiting for migration task PENDING",
		"migration task status PENDING->RUNNING",
		"migration task status RUNNING->STOPPED",
		"waiting for the migration log to reach CloudWatch Logs",
		"migration succeeded",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress lines (-want +got):\n%s", diff)
	}
}

func TestRunMigrationFailsBeforeStartingAnything(t *testing.T) {
	tests := []struct {
		name    string
		spec    func(*deploy.MigrationSpec)
		ctx     func(context.Context) context.Context
		run     *ecs.RunTaskOutput
		wantErr string
		wantIs  error
	}{
		{
			name:    "fails when the task definition has no container of that name",
			spec:    func(s *deploy.MigrationSpec) { s.Container = "alembic" },
			wantErr: "task definition " + migrateTD + " has no container \"alembic\" (it has migrate)",
		},
		{
			name:    "fails when the spec lacks subnets and security groups",
			spec:    func(s *deploy.MigrationSpec) { s.Subnets, s.SecurityGroups = nil, nil },
			wantErr: "migration spec lacks subnets, security groups",
		},
		{
			name: "fails with the reasons ECS gives for not starting the task",
			run: &ecs.RunTaskOutput{Failures: []ecstypes.Failure{{
				Arn: aws.String(arnPrefix + "container-instance/x"), Reason: aws.String("RESOURCE:ENI"), Detail: aws.String("no free address"),
			}}},
			wantErr: "run migration task: " + arnPrefix + "container-instance/x: RESOURCE:ENI (no free address)",
		},
		{
			name: "returns context.Canceled when the context is canceled before the start",
			ctx: func(ctx context.Context) context.Context {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx
			},
			wantIs: context.Canceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := tc.run
			if run == nil {
				run = &ecs.RunTaskOutput{Tasks: []ecstypes.Task{migrationTask("PROVISIONING")}}
			}
			fakeECS := &deploytest.ECS{
				DescribeTaskDefinitionFunc: taskDefinitions(taskDefinition(migrateTD, false, "migrate")),
				RunTaskFunc:                deploytest.Seq[*ecs.RunTaskInput](deploytest.Step[*ecs.RunTaskOutput]{Out: run}),
			}
			op := operator(fakeECS, &deploytest.Logs{}, deploytest.NewClock(t0), &logRecorder{})
			spec := migrationSpec()
			if tc.spec != nil {
				tc.spec(&spec)
			}
			ctx := t.Context()
			if tc.ctx != nil {
				ctx = tc.ctx(ctx)
			}

			res, err := op.RunMigration(ctx, spec)

			if err == nil {
				t.Fatal("RunMigration() error = nil, want an error")
			}
			if tc.wantErr != "" && err.Error() != tc.wantErr {
				t.Errorf("RunMigration() error = %q, want %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("RunMigration() error = %v, want errors.Is %v", err, tc.wantIs)
			}
			// --json prints a result also when no task started.
			if res == nil || res.TaskArn != "" || res.Reason != err.Error() || res.Succeeded {
				t.Errorf("RunMigration() result = %+v, want one without a task whose reason is the error", res)
			}
			if n := len(fakeECS.Calls("DescribeTasks")); n != 0 {
				t.Errorf("DescribeTasks called %d times, want 0", n)
			}
		})
	}
}

func TestMigrationResultRendering(t *testing.T) {
	r := &deploy.MigrationResult{
		Reason:         "container migrate exited with code 1 (stop code EssentialContainerExited: Essential container in task exited)",
		Cluster:        cluster,
		TaskArn:        taskArn(migrationID),
		TaskID:         migrationID,
		TaskDefinition: migrateTD,
		Container:      "migrate",
		LastStatus:     "STOPPED",
		ExitCode:       exit(1),
		StopCode:       "EssentialContainerExited",
		StoppedReason:  "Essential container in task exited",
		CreatedAt:      at(0),
		StoppedAt:      at(2),
		Log:            &deploy.LogStream{Group: logGroup, Stream: migrationStream},
		LogFile:        ".artifacts/migration-" + migrationID + ".log",
		LogLines:       120,
		LogTail:        []string{"2026-03-04T10:01:59.000Z sqlalchemy.exc.ProgrammingError: relation \"experts\" | already exists", "2026-03-04T10:02:00.000Z ```"},
	}
	tests := []struct {
		name   string
		render func() string
		golden string
	}{
		{name: "summary says the outcome, the reason and the log tail", render: r.Summary, golden: "migration-failed.golden.txt"},
		{name: "markdown puts the same in a table and a collapsed log", render: r.Markdown, golden: "migration-failed.golden.md"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			golden.AssertString(t, tc.golden, tc.render())
		})
	}
}
