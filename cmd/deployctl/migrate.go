package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/experts/platform/internal/cliout"
	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/deploy"
)

// migrateGrace is how long the command may run past --deadline: time to
// stop the task, read its log and write the artifacts.
const migrateGrace = 2 * time.Minute

type migrateOptions struct {
	Stdout        io.Writer
	Logger        *slog.Logger
	Getenv        func(string) string
	Now           func() time.Time
	ReadOutputs   func(ctx context.Context, dir, stack string) (stacks.Outputs, error)
	DeployClients func(ctx context.Context, region string) (deploy.Clients, error)

	Stack          string
	Service        string
	Dir            string
	Cluster        string
	TaskDefinition string
	Subnets        string
	SecurityGroups string
	Container      string
	Release        string
	Deadline       time.Duration
	Artifacts      string
	JSON           bool
}

func newCmdMigrate(f *factory, runF func(context.Context, *migrateOptions) error) *cobra.Command {
	opts := &migrateOptions{
		Stdout: f.Stdout, Logger: f.logger(), Getenv: f.Getenv, Now: f.Now,
		ReadOutputs: f.ReadOutputs, DeployClients: f.DeployClients,
	}
	cmd := &cobra.Command{
		Use: `migrate --stack NAME [--service api] [--dir DIR] [--release ID] [--deadline 30m] [--artifacts DIR] [--json]
  deployctl migrate --cluster NAME --task-definition ARN --subnets IDS --security-groups IDS --container NAME [...]`,
		Short: "run the database migration task once and require exit code 0",
		Long: `Runs the service's migration task definition once as a Fargate task in the
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

` + exitStatusHelp("the migration exited 0",
			"it failed, timed out or AWS could not be reached",
			"usage or configuration error: bad flags, unknown stack, missing output, no region, "+
				"a task definition or container that does not exist (nothing was run)"),
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return opts.run(c.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Stack, "stack", "", "stack whose outputs name the cluster, task definition, subnets, security group and container")
	fl.StringVar(&opts.Service, "service", "api", "service whose migration task definition to run (with --stack)")
	fl.StringVar(&opts.Dir, "dir", ".", "Pulumi project directory: holds Pulumi.yaml and the stack files (with --stack)")
	fl.StringVar(&opts.Cluster, "cluster", "", "ECS cluster name (default: stack output "+stacks.OutputClusterName+")")
	fl.StringVar(&opts.TaskDefinition, "task-definition", "", "migration task definition ARN or family:revision (default: stack output <service>"+stacks.SuffixMigrationTaskDefinitionArn+")")
	fl.StringVar(&opts.Subnets, "subnets", "", "comma-separated private subnet IDs (default: stack output "+stacks.OutputTaskSubnetIDs+")")
	fl.StringVar(&opts.SecurityGroups, "security-groups", "", "comma-separated security group IDs (default: stack output "+stacks.OutputTaskSecurityGroupID+")")
	fl.StringVar(&opts.Container, "container", "", "container whose exit code decides (default: stack output <service>"+stacks.SuffixMigrationContainerName+")")
	fl.StringVar(&opts.Release, "release", "", "release named in the task's startedBy and tags (default: run-$GITHUB_RUN_ID, or manual)")
	fl.DurationVar(&opts.Deadline, "deadline", deploy.DefaultMigrationTimeout, "how long to wait for the task to stop before stopping it and failing")
	fl.StringVar(&opts.Artifacts, "artifacts", ".artifacts", "directory for the migration log and the failure bundle (empty: write no files)")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as one JSON document on stdout")
	return cmd
}

// spec is the migration the flags ask for, before stack outputs fill it.
func (o *migrateOptions) spec() deploy.MigrationSpec {
	spec := deploy.MigrationSpec{
		Service:        o.Service,
		Cluster:        o.Cluster,
		TaskDefinition: o.TaskDefinition,
		Container:      o.Container,
		Subnets:        splitList(o.Subnets),
		SecurityGroups: splitList(o.SecurityGroups),
		Release:        o.Release,
		Timeout:        o.Deadline,
	}
	if spec.Release == "" {
		spec.Release = "manual"
		if id := o.Getenv("GITHUB_RUN_ID"); id != "" {
			spec.Release = "run-" + id
		}
	}
	return spec
}

func (o *migrateOptions) validate() error {
	if o.Deadline <= 0 {
		return usageErrorf("--deadline must be positive, not %s", o.Deadline)
	}
	missing := missingMigrationFlags(o.spec())
	if len(missing) == 0 {
		return nil
	}
	if o.Stack == "" {
		return usageErrorf("give --stack, or all of --cluster, --task-definition, --subnets, --security-groups and --container (missing: %s)",
			strings.Join(missing, ", "))
	}
	if err := checkStackName("--stack", o.Stack); err != nil {
		return err
	}
	return checkProjectDir("--dir", o.Dir)
}

func (o *migrateOptions) run(ctx context.Context) error {
	spec := o.spec()
	ctx, cancel := context.WithTimeout(ctx, o.Deadline+migrateGrace)
	defer cancel()
	region := ""
	if len(missingMigrationFlags(spec)) > 0 {
		outputs, err := o.ReadOutputs(ctx, o.Dir, o.Stack)
		if err != nil {
			return automationError(err, o.Stack, o.Dir)
		}
		if err := fillMigrationFromOutputs(&spec, outputs, o.Service); err != nil {
			return usageError(fmt.Errorf("stack %s: %w (or give the flag)", o.Stack, err))
		}
		region, _ = outputs[stacks.OutputRegion].(string)
	}

	clients, err := o.DeployClients(ctx, region)
	if err != nil {
		return err
	}
	op := &deploy.Operator{Clients: clients, Logger: o.Logger, ArtifactsDir: o.Artifacts, Clock: o.Now}
	res, runErr := op.RunMigration(ctx, spec)
	if res == nil || res.TaskArn == "" {
		// No task was started: the error says why, and there is no
		// task to report on or bundle.
		return migrationSetupError(runErr)
	}
	if err := o.print(res); err != nil {
		return errors.Join(runErr, err)
	}
	if err := cliout.AppendStepSummary(o.Getenv(cliout.EnvStepSummary), res.Markdown()); err != nil {
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

// migrationSetupError classifies a migration that failed before its task
// was started: a task definition or container that does not exist is a
// configuration problem (exit 2).
func migrationSetupError(err error) error {
	if errors.Is(err, deploy.ErrNoTaskDefinition) || errors.Is(err, deploy.ErrNoContainer) {
		return usageError(err)
	}
	return err
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
		spec.SecurityGroups = splitList(sg)
	}
	return err
}

func (o *migrateOptions) print(res *deploy.MigrationResult) error {
	if o.JSON {
		return cliout.WriteJSON(o.Stdout, res)
	}
	if _, err := fmt.Fprint(o.Stdout, res.Summary()); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
