package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/deploy"
)

func init() {
	register(command{
		name:    "migrate",
		summary: "run the database migration task once and require exit code 0",
		run:     runMigrate,
	})
}

// What deployctl migrate reaches outside the process; tests replace them.
var (
	migrateReadOutputs = stacks.ReadOutputs
	migrateLoadClients = deploy.LoadClients
)

// migrateGrace is how long the command may run past --deadline: time to
// stop the task, read its log and write the artifacts.
const migrateGrace = 2 * time.Minute

func runMigrate(ctx context.Context, s *streams, args []string) error {
	fs := newFlagSet(s, "migrate", `migrate --stack NAME [--service api] [--dir DIR] [--release ID] [--deadline 30m] [--artifacts DIR] [--json]
       migrate --cluster NAME --task-definition ARN --subnets IDS --security-groups IDS --container NAME [...]

Runs the service's migration task definition once as a Fargate task in the
private task subnets with the task security group and no public IP, waits
until it has STOPPED, and succeeds only when the named container exited with
code 0 (a task that stops before it is ever seen RUNNING is fine). A task
that never ran (image pull, secrets, network) or exited non-zero fails with
its stop code and reason. When --deadline passes the task is stopped and the
migration fails.

The cluster, migration task definition, subnets, security group and
container come from the outputs of --stack (read through the Pulumi
Automation API from the stack's backend); each flag given wins over its
output, and with all five flags no stack is read.

The container's CloudWatch log (found from the task definition's awslogs
options) is written to ARTIFACTS/migration-<task id>.log and its last lines
printed with the result on stdout; progress goes to stderr. When
$GITHUB_STEP_SUMMARY is set, the result is appended to it as markdown. On
failure a bundle (bundle-migration.json and .md) is written to ARTIFACTS.

AWS credentials, region and endpoints come from the SDK's default chain
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECS,
AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, ...); with --stack, the stack's region
output is used when present.

Exit status: 0 the migration exited 0, 1 it failed, timed out or AWS could
not be reached, 2 usage or configuration error (nothing was run).`)
	stack := fs.String("stack", "", "stack whose outputs name the cluster, task definition, subnets, security group and container")
	serviceName := fs.String("service", "api", "service whose migration task definition to run (with --stack)")
	dir := fs.String("dir", ".", "directory that holds Pulumi.yaml and the stack files (with --stack)")
	cluster := fs.String("cluster", "", "ECS cluster name (default: stack output "+stacks.OutputClusterName+")")
	taskDef := fs.String("task-definition", "", "migration task definition ARN or family:revision (default: stack output <service>"+stacks.SuffixMigrationTaskDefinitionArn+")")
	subnets := fs.String("subnets", "", "comma-separated private subnet IDs (default: stack output "+stacks.OutputTaskSubnetIDs+")")
	securityGroups := fs.String("security-groups", "", "comma-separated security group IDs (default: stack output "+stacks.OutputTaskSecurityGroupID+")")
	container := fs.String("container", "", "container whose exit code decides (default: stack output <service>"+stacks.SuffixMigrationContainerName+")")
	release := fs.String("release", "", "release named in the task's startedBy and tags (default: run-$GITHUB_RUN_ID, or manual)")
	deadline := fs.Duration("deadline", deploy.DefaultMigrationTimeout, "how long to wait for the task to stop before stopping it and failing")
	artifacts := fs.String("artifacts", ".artifacts", "directory for the migration log and the failure bundle (empty: write no files)")
	asJSON := fs.Bool("json", false, "print the result as one JSON document on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *deadline <= 0 {
		return usageErrorf("--deadline must be positive, not %s", *deadline)
	}
	spec := deploy.MigrationSpec{
		Service:        *serviceName,
		Cluster:        *cluster,
		TaskDefinition: *taskDef,
		Container:      *container,
		Subnets:        splitMigrateList(*subnets),
		SecurityGroups: splitMigrateList(*securityGroups),
		Release:        *release,
		Timeout:        *deadline,
	}
	if spec.Release == "" {
		spec.Release = "manual"
		if id := s.getenv("GITHUB_RUN_ID"); id != "" {
			spec.Release = "run-" + id
		}
	}

	ctx, cancel := context.WithTimeout(ctx, *deadline+migrateGrace)
	defer cancel()
	region := ""
	if missing := missingMigrationFlags(spec); len(missing) > 0 {
		if *stack == "" {
			return usageErrorf("give --stack, or all of --cluster, --task-definition, --subnets, --security-groups and --container (missing: %s)",
				strings.Join(missing, ", "))
		}
		outputs, err := migrateReadOutputs(ctx, *dir, *stack)
		if err != nil {
			return err
		}
		if err := fillMigrationFromOutputs(&spec, outputs, *serviceName); err != nil {
			return usageError(fmt.Errorf("stack %s: %w (or give the flag)", *stack, err))
		}
		region, _ = outputs[stacks.OutputRegion].(string)
	}

	clients, err := migrateLoadClients(ctx, region)
	if err != nil {
		return err
	}
	op := &deploy.Operator{Clients: clients, Logger: s.logger(), ArtifactsDir: *artifacts}
	res, runErr := op.RunMigration(ctx, spec)
	if res == nil {
		return runErr
	}
	if err := printMigration(s, res, *asJSON); err != nil {
		return errors.Join(runErr, err)
	}
	if err := deploy.AppendStepSummary(s.getenv("GITHUB_STEP_SUMMARY"), res.Markdown()); err != nil {
		return errors.Join(runErr, err)
	}
	if runErr != nil && ctx.Err() == nil {
		// The result above already holds the task's story: the bundle
		// keeps it, with what else stopped, as artifacts only.
		if _, err := op.CollectBundle(ctx, deploy.BundleSpec{
			Name: "migration", Reason: runErr.Error(), Cluster: spec.Cluster, TaskArns: []string{res.TaskArn},
		}); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

// missingMigrationFlags names the inputs of spec that no flag gave.
func missingMigrationFlags(spec deploy.MigrationSpec) []string {
	var missing []string
	for _, f := range []struct {
		flag string
		ok   bool
	}{
		{"--cluster", spec.Cluster != ""},
		{"--task-definition", spec.TaskDefinition != ""},
		{"--subnets", len(spec.Subnets) > 0},
		{"--security-groups", len(spec.SecurityGroups) > 0},
		{"--container", spec.Container != ""},
	} {
		if !f.ok {
			missing = append(missing, f.flag)
		}
	}
	return missing
}

// fillMigrationFromOutputs sets the inputs of spec that no flag gave from the stack
// outputs of service.
func fillMigrationFromOutputs(spec *deploy.MigrationSpec, outputs stacks.Outputs, service string) error {
	var err error
	str := func(dst *string, key string) {
		if *dst != "" || err != nil {
			return
		}
		*dst, err = outputs.String(key)
	}
	str(&spec.Cluster, stacks.OutputClusterName)
	str(&spec.TaskDefinition, stacks.ServiceOutput(service, stacks.SuffixMigrationTaskDefinitionArn))
	str(&spec.Container, stacks.ServiceOutput(service, stacks.SuffixMigrationContainerName))
	if err == nil && len(spec.Subnets) == 0 {
		spec.Subnets, err = outputs.Strings(stacks.OutputTaskSubnetIDs)
		if err == nil && len(spec.Subnets) == 0 {
			err = fmt.Errorf("stack output %q is an empty list", stacks.OutputTaskSubnetIDs)
		}
	}
	if err == nil && len(spec.SecurityGroups) == 0 {
		var sg string
		sg, err = outputs.String(stacks.OutputTaskSecurityGroupID)
		spec.SecurityGroups = splitMigrateList(sg)
	}
	return err
}

func printMigration(s *streams, res *deploy.MigrationResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(s.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		return nil
	}
	if _, err := fmt.Fprint(s.stdout, res.Summary()); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// splitMigrateList splits a comma-separated flag value, dropping empty items.
func splitMigrateList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
