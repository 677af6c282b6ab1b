package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/experts/platform/stacks/deploy/deploytest"
)

func TestMigrateExitsTwoOnConfigurationProblems(t *testing.T) {
	t.Parallel()
	allFlags := []string{"--cluster", "c1", "--task-definition", migrateTestTD, "--subnets", "subnet-1",
		"--security-groups", "sg-1", "--container", "migrate"}
	tests := []struct {
		name       string
		args       []string
		describeTD error
		wantStderr string
	}{
		{name: "a task definition that does not exist", args: allFlags,
			describeTD: deploytest.APIError("ClientException", "Unable to describe task definition."),
			wantStderr: "deployctl migrate: describe task definition " + migrateTestTD + ": "},
		{name: "a container the task definition does not have",
			args:       []string{"--cluster", "c1", "--task-definition", migrateTestTD, "--subnets", "subnet-1", "--security-groups", "sg-1", "--container", "alembic"},
			wantStderr: `has no container "alembic" (it has migrate)`},
		{name: "a stack name Pulumi refuses", args: []string{"--stack", "dev;rm"},
			wantStderr: `--stack "dev;rm" is not a stack name`},
		{name: "a project directory that does not exist", args: []string{"--stack", "dev", "--dir", "no/such/dir"},
			wantStderr: "--dir no/such/dir does not exist"},
		{name: "the default project directory without Pulumi.yaml", args: []string{"--stack", "dev"},
			wantStderr: "--dir . holds no Pulumi.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fakeECS, fakeLogs := migrateFakes(0)
			if tt.describeTD != nil {
				fakeECS.DescribeTaskDefinitionFunc = func(context.Context, *ecs.DescribeTaskDefinitionInput) (*ecs.DescribeTaskDefinitionOutput, error) {
					return nil, tt.describeTD
				}
			}

			got := runMigrateCommand(t, tt.args, fakeECS, fakeLogs, migrateTestOutputs())

			if got.code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", got.code, exitUsage, got.stderr)
			}
			if !strings.Contains(got.stderr, tt.wantStderr) {
				t.Errorf("stderr does not say %q:\n%s", tt.wantStderr, got.stderr)
			}
			if len(got.runTask) != 0 {
				t.Errorf("RunTask called %d times, want none", len(got.runTask))
			}
		})
	}
}

// TestMigrateExitsTwoWithoutARegion builds the real clients in an
// environment without a region; it sets environment variables, so it
// cannot run in parallel.
func TestMigrateExitsTwoWithoutARegion(t *testing.T) {
	home := t.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	c := newTestCLI(t)
	c.F.DeployClients = loadDeployClients

	code := c.run(t.Context(), "migrate", "--cluster", "c1", "--task-definition", migrateTestTD, "--subnets", "subnet-1",
		"--security-groups", "sg-1", "--container", "migrate", "--artifacts", "")

	if code != exitUsage {
		t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitUsage, c.Stderr())
	}
	if want := "deployctl migrate: no AWS region: set AWS_REGION"; !strings.Contains(c.Stderr(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, c.Stderr())
	}
}

func TestLoadDeployClientsUsesTheStackRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "config"))
	clients, err := loadDeployClients(t.Context(), "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := clients.ECS.(*ecs.Client).Options().Region; got != "eu-west-1" {
		t.Errorf("region = %q, want eu-west-1", got)
	}
}
