package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/deploy"
	"github.com/experts/platform/stacks/deploy/deploytest"
)

const (
	migrateTestTD   = "arn:aws:ecs:eu-west-1:123456789012:task-definition/experts-dev-api-migrate:7"
	migrateTestTask = "arn:aws:ecs:eu-west-1:123456789012:task/experts-dev/9f8e7d6c"
)

func migrateTestOutputs() stacks.Outputs {
	return stacks.Outputs{
		stacks.OutputClusterName:         "experts-dev",
		stacks.OutputTaskSubnetIDs:       []any{"subnet-a", "subnet-b"},
		stacks.OutputTaskSecurityGroupID: "sg-tasks",
		stacks.OutputRegion:              "eu-west-1",
		stacks.ServiceOutput("api", stacks.SuffixMigrationTaskDefinitionArn): migrateTestTD,
		stacks.ServiceOutput("api", stacks.SuffixMigrationContainerName):     "migrate",
	}
}

// migrateFakes is an ECS whose migration task is first seen STOPPED with
// exitCode from the container "migrate", and a log with two lines.
func migrateFakes(exitCode int32) (*deploytest.ECS, *deploytest.Logs) {
	stopped := ecstypes.Task{
		TaskArn:           aws.String(migrateTestTask),
		TaskDefinitionArn: aws.String(migrateTestTD),
		LastStatus:        aws.String("STOPPED"),
		StopCode:          ecstypes.TaskStopCodeEssentialContainerExited,
		StoppedReason:     aws.String("Essential container in task exited"),
		Containers:        []ecstypes.Container{{Name: aws.String("migrate"), ExitCode: aws.Int32(exitCode)}},
	}
	td := &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{
		TaskDefinitionArn: aws.String(migrateTestTD),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("migrate"),
			LogConfiguration: &ecstypes.LogConfiguration{
				LogDriver: ecstypes.LogDriverAwslogs,
				Options:   map[string]string{"awslogs-group": "/experts/dev/api", "awslogs-stream-prefix": "migrate"},
			},
		}},
	}}
	fakeECS := &deploytest.ECS{
		DescribeTaskDefinitionFunc: deploytest.Seq[*ecs.DescribeTaskDefinitionInput](deploytest.Step[*ecs.DescribeTaskDefinitionOutput]{Out: td}),
		RunTaskFunc: deploytest.Seq[*ecs.RunTaskInput](deploytest.Step[*ecs.RunTaskOutput]{Out: &ecs.RunTaskOutput{Tasks: []ecstypes.Task{{
			TaskArn: aws.String(migrateTestTask), LastStatus: aws.String("PROVISIONING"),
		}}}}),
		DescribeTasksFunc: deploytest.Seq[*ecs.DescribeTasksInput](deploytest.Step[*ecs.DescribeTasksOutput]{
			Out: &ecs.DescribeTasksOutput{Tasks: []ecstypes.Task{stopped}},
		}),
	}
	fakeLogs := &deploytest.Logs{
		Start: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC),
		Streams: map[string][]string{
			deploytest.Key("/experts/dev/api", "migrate/migrate/9f8e7d6c"): {"Running upgrade 41 -> 42", "done"},
		},
	}
	return fakeECS, fakeLogs
}

// migrateRun is what one run of deployctl migrate did.
type migrateRun struct {
	code        int
	stdout      string
	stderr      string
	readStack   []string // "dir stack" of each ReadOutputs call
	region      string
	runTask     []*ecs.RunTaskInput
	artifacts   string
	stepSummary string
}

func runMigrateCommand(t *testing.T, args []string, fakeECS *deploytest.ECS, fakeLogs *deploytest.Logs, outputs stacks.Outputs) migrateRun {
	t.Helper()
	var got migrateRun
	c := newTestCLI(t)
	var mu sync.Mutex
	c.F.ReadOutputs = func(_ context.Context, dir, stack string) (stacks.Outputs, error) {
		mu.Lock()
		defer mu.Unlock()
		got.readStack = append(got.readStack, dir+" "+stack)
		return outputs, nil
	}
	c.F.DeployClients = func(_ context.Context, region string) (deploy.Clients, error) {
		mu.Lock()
		defer mu.Unlock()
		got.region = region
		return deploy.Clients{ECS: fakeECS, Logs: fakeLogs}, nil
	}
	tmp := t.TempDir()
	got.artifacts = filepath.Join(tmp, "artifacts")
	summary := filepath.Join(tmp, "summary.md")
	c.Env = map[string]string{"GITHUB_STEP_SUMMARY": summary, "GITHUB_RUN_ID": "4242"}

	got.code = c.run(t.Context(), append(append([]string{"migrate"}, args...), "--artifacts", got.artifacts)...)

	got.stdout, got.stderr = c.Stdout(), c.Stderr()
	for _, in := range fakeECS.Calls("RunTask") {
		got.runTask = append(got.runTask, in.(*ecs.RunTaskInput))
	}
	if data, err := os.ReadFile(summary); err == nil {
		got.stepSummary = string(data)
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return got
}

// runTaskWhere is where a RunTask input runs the task.
func runTaskWhere(in *ecs.RunTaskInput) []string {
	vpc := in.NetworkConfiguration.AwsvpcConfiguration
	return []string{
		"cluster=" + aws.ToString(in.Cluster),
		"taskDefinition=" + aws.ToString(in.TaskDefinition),
		"subnets=" + strings.Join(vpc.Subnets, ","),
		"securityGroups=" + strings.Join(vpc.SecurityGroups, ","),
		"startedBy=" + aws.ToString(in.StartedBy),
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		args          []string
		exitCode      int32
		outputs       stacks.Outputs
		wantCode      int
		wantReadStack []string
		wantRegion    string
		wantWhere     []string
		wantStdout    []string
		wantStderr    []string
		wantSummary   []string
		wantFiles     []string
	}{
		{
			name:          "reads the stack outputs and succeeds when the migration exits 0",
			args:          []string{"--stack", "dev", "--dir", repoRoot},
			outputs:       migrateTestOutputs(),
			wantCode:      exitOK,
			wantReadStack: []string{repoRoot + " dev"},
			wantRegion:    "eu-west-1",
			wantWhere: []string{"cluster=experts-dev", "taskDefinition=" + migrateTestTD, "subnets=subnet-a,subnet-b",
				"securityGroups=sg-tasks", "startedBy=deployctl/migrate/run-4242"},
			wantStdout:  []string{"migration succeeded: task 9f8e7d6c, container migrate exited with code 0", "2026-03-04T10:00:01.000Z done"},
			wantSummary: []string{"### Migration succeeded"},
			wantFiles:   []string{"migration-9f8e7d6c.log"},
		},
		{
			name:          "lets flags win over stack outputs",
			args:          []string{"--stack", "dev", "--cluster", "experts-other", "--subnets", "subnet-x, subnet-y", "--release", "api-v1.4.0", "--dir", repoRoot},
			outputs:       migrateTestOutputs(),
			wantCode:      exitOK,
			wantReadStack: []string{repoRoot + " dev"},
			wantRegion:    "eu-west-1",
			wantWhere: []string{"cluster=experts-other", "taskDefinition=" + migrateTestTD, "subnets=subnet-x,subnet-y",
				"securityGroups=sg-tasks", "startedBy=deployctl/migrate/api-v1-4-0"},
			wantStdout:  []string{"migration succeeded"},
			wantSummary: []string{"### Migration succeeded"},
			wantFiles:   []string{"migration-9f8e7d6c.log"},
		},
		{
			name: "reads no stack when every input is a flag",
			args: []string{"--stack", "dev", "--cluster", "c1", "--task-definition", migrateTestTD, "--subnets", "subnet-1",
				"--security-groups", "sg-1,sg-2", "--container", "migrate"},
			wantCode: exitOK,
			wantWhere: []string{"cluster=c1", "taskDefinition=" + migrateTestTD, "subnets=subnet-1",
				"securityGroups=sg-1,sg-2", "startedBy=deployctl/migrate/run-4242"},
			wantStdout:  []string{"migration succeeded"},
			wantSummary: []string{"### Migration succeeded"},
			wantFiles:   []string{"migration-9f8e7d6c.log"},
		},
		{
			name:          "exits 1 with the reason, the summary and a bundle when the migration exits 1",
			args:          []string{"--stack", "dev", "--dir", repoRoot},
			exitCode:      1,
			outputs:       migrateTestOutputs(),
			wantCode:      exitFailed,
			wantReadStack: []string{repoRoot + " dev"},
			wantRegion:    "eu-west-1",
			wantWhere: []string{"cluster=experts-dev", "taskDefinition=" + migrateTestTD, "subnets=subnet-a,subnet-b",
				"securityGroups=sg-tasks", "startedBy=deployctl/migrate/run-4242"},
			wantStdout:  []string{"migration FAILED: task 9f8e7d6c: container migrate exited with code 1", "2026-03-04T10:00:00.000Z Running upgrade 41 -> 42"},
			wantStderr:  []string{"deployctl migrate: migration failed: task 9f8e7d6c: container migrate exited with code 1"},
			wantSummary: []string{"### Migration FAILED", "| Container | `migrate`, exit code 1 |"},
			wantFiles:   []string{"bundle-migration.json", "bundle-migration.md", "migration-9f8e7d6c.log"},
		},
		{
			name:       "exits 2 when neither a stack nor every flag is given",
			args:       []string{"--cluster", "c1"},
			wantCode:   exitUsage,
			wantStderr: []string{"give --stack, or all of --cluster, --task-definition, --subnets, --security-groups and --container (missing: --task-definition, --subnets, --security-groups, --container)"},
		},
		{
			name: "exits 2 when a stack output is missing",
			args: []string{"--stack", "dev", "--dir", repoRoot},
			outputs: func() stacks.Outputs {
				o := migrateTestOutputs()
				delete(o, stacks.ServiceOutput("api", stacks.SuffixMigrationContainerName))
				return o
			}(),
			wantCode:      exitUsage,
			wantReadStack: []string{repoRoot + " dev"},
			wantStderr:    []string{`stack dev: stack output "apiMigrationContainerName" is missing`, "(or give the flag)"},
		},
		{
			name:       "exits 2 for a deadline that is not positive",
			args:       []string{"--stack", "dev", "--deadline", "0s"},
			wantCode:   exitUsage,
			wantStderr: []string{"--deadline must be positive, not 0s"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fakeECS, fakeLogs := migrateFakes(tc.exitCode)

			got := runMigrateCommand(t, tc.args, fakeECS, fakeLogs, tc.outputs)

			if got.code != tc.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", got.code, tc.wantCode, got.stderr)
			}
			if diff := cmp.Diff(tc.wantReadStack, got.readStack); diff != "" {
				t.Errorf("stacks read (-want +got):\n%s", diff)
			}
			if got.region != tc.wantRegion {
				t.Errorf("clients loaded for region %q, want %q", got.region, tc.wantRegion)
			}
			var where []string
			if len(got.runTask) > 1 {
				t.Fatalf("RunTask called %d times, want at most once", len(got.runTask))
			}
			if len(got.runTask) == 1 {
				where = runTaskWhere(got.runTask[0])
			}
			if diff := cmp.Diff(tc.wantWhere, where); diff != "" {
				t.Errorf("RunTask (-want +got):\n%s", diff)
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(got.stdout, w) {
					t.Errorf("stdout does not say %q:\n%s", w, got.stdout)
				}
			}
			if len(tc.wantStdout) == 0 && got.stdout != "" {
				t.Errorf("stdout = %q, want nothing", got.stdout)
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(got.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, got.stderr)
				}
			}
			for _, w := range tc.wantSummary {
				if !strings.Contains(got.stepSummary, w) {
					t.Errorf("job summary does not say %q:\n%s", w, got.stepSummary)
				}
			}
			var files []string
			entries, _ := os.ReadDir(got.artifacts)
			for _, e := range entries {
				files = append(files, e.Name())
			}
			slices.Sort(files)
			if diff := cmp.Diff(tc.wantFiles, files); diff != "" {
				t.Errorf("artifacts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMigratePrintsJSON(t *testing.T) {
	t.Parallel()
	fakeECS, fakeLogs := migrateFakes(0)

	got := runMigrateCommand(t, []string{"--stack", "dev", "--dir", repoRoot, "--json"}, fakeECS, fakeLogs, migrateTestOutputs())

	if got.code != exitOK {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", got.code, got.stderr)
	}
	var res deploy.MigrationResult
	if err := json.Unmarshal([]byte(got.stdout), &res); err != nil {
		t.Fatalf("stdout is not one JSON result: %v\n%s", err, got.stdout)
	}
	want := deploy.MigrationResult{
		Succeeded: true, Cluster: "experts-dev", TaskArn: migrateTestTask, TaskID: "9f8e7d6c", TaskDefinition: migrateTestTD,
		Container: "migrate", LastStatus: "STOPPED", ExitCode: aws.Int32(0), StopCode: "EssentialContainerExited",
		StoppedReason: "Essential container in task exited",
		Log:           &deploy.LogStream{Group: "/experts/dev/api", Stream: "migrate/migrate/9f8e7d6c"},
		LogFile:       filepath.Join(got.artifacts, "migration-9f8e7d6c.log"), LogLines: 2,
		LogTail: []string{"2026-03-04T10:00:00.000Z Running upgrade 41 -> 42", "2026-03-04T10:00:01.000Z done"},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("JSON result (-want +got):\n%s", diff)
	}
}

func TestMigrateHelpDocumentsEveryFlag(t *testing.T) {
	t.Parallel()
	code, help, _ := runCLI(t, "migrate", "--help")

	if code != exitOK {
		t.Errorf("exit code = %d, want 0", code)
	}
	for _, flag := range []string{"--stack", "--service", "--dir", "--cluster", "--task-definition", "--subnets", "--security-groups",
		"--container", "--release", "--deadline", "--artifacts", "--json", "Exit status: 0", "AWS_ENDPOINT_URL"} {
		if !strings.Contains(help, flag) {
			t.Errorf("help does not mention %q:\n%s", flag, help)
		}
	}
}
