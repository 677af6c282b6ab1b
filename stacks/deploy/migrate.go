package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Defaults of a MigrationSpec.
const (
	DefaultMigrationTimeout = 30 * time.Minute
	DefaultTailLines        = 40
)

// statusStopped is the lastStatus of a task that has stopped for good.
const statusStopped = "STOPPED"

// MigrationSpec says which one-off migration task to run, where, and how
// long to wait for it.
type MigrationSpec struct {
	Cluster        string
	TaskDefinition string // ARN (or family:revision) of the migration task definition
	// Container is the container whose exit code decides the outcome.
	Container      string
	Subnets        []string // private subnets; the task gets no public IP
	SecurityGroups []string
	// Release names the release in the task's startedBy and tags, so that
	// ListTasks and the console show which release ran it.
	Release string
	// Timeout bounds the wait for STOPPED; when it passes the task is
	// stopped and the migration fails. Zero means DefaultMigrationTimeout.
	Timeout time.Duration
	// TailLines is how many of the last log lines the result keeps. Zero
	// means DefaultTailLines.
	TailLines int
}

func (s MigrationSpec) validate() error {
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"cluster", s.Cluster != ""},
		{"task definition", s.TaskDefinition != ""},
		{"container", s.Container != ""},
		{"subnets", len(s.Subnets) > 0},
		{"security groups", len(s.SecurityGroups) > 0},
	} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("migration spec lacks %s", strings.Join(missing, ", "))
	}
	return nil
}

// MigrationResult is what became of one migration task. RunMigration returns
// it whenever the task was started, with or without an error.
type MigrationResult struct {
	Succeeded      bool       `json:"succeeded"`
	Reason         string     `json:"reason,omitempty"` // why it failed
	Cluster        string     `json:"cluster"`
	TaskArn        string     `json:"taskArn"`
	TaskID         string     `json:"taskId"`
	TaskDefinition string     `json:"taskDefinition"`
	Container      string     `json:"container"`
	LastStatus     string     `json:"lastStatus"`
	ExitCode       *int32     `json:"exitCode,omitempty"`
	ContainerNote  string     `json:"containerReason,omitempty"`
	StopCode       string     `json:"stopCode,omitempty"`
	StoppedReason  string     `json:"stoppedReason,omitempty"`
	CreatedAt      *time.Time `json:"createdAt,omitempty"`
	StoppedAt      *time.Time `json:"stoppedAt,omitempty"`
	// TimedOut: the deadline passed and the task was asked to stop.
	TimedOut bool `json:"timedOut,omitempty"`
	// StopRequested: this run called StopTask (deadline, cancellation, or
	// a wait that could not go on).
	StopRequested bool       `json:"stopRequested,omitempty"`
	Log           *LogStream `json:"log,omitempty"`
	LogFile       string     `json:"logFile,omitempty"` // path in the artifacts directory
	LogLines      int        `json:"logLines"`
	LogTail       []string   `json:"logTail,omitempty"`
	LogError      string     `json:"logError,omitempty"` // why the log could not be read in full
}

// RunMigration runs the migration task once on Fargate and waits until it
// has stopped. It succeeds only when the named container exited with code
// 0: a task first seen STOPPED is fine, a task that never ran (image pull,
// secrets, ENI) or exited non-zero is an ErrMigrationFailed with the stop
// code and reason. The container's CloudWatch log is copied to the artifacts
// directory and its tail kept in the result. When the deadline passes, the
// context ends or the wait fails, the task is stopped: nobody would watch it.
func (o *Operator) RunMigration(ctx context.Context, spec MigrationSpec) (*MigrationResult, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if spec.Timeout <= 0 {
		spec.Timeout = DefaultMigrationTimeout
	}
	if spec.TailLines <= 0 {
		spec.TailLines = DefaultTailLines
	}
	td, err := o.describeTaskDefinition(ctx, spec.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if names := containerNames(td.ContainerDefinitions); !slices.Contains(names, spec.Container) {
		return nil, fmt.Errorf("task definition %s has no container %q (it has %s)",
			spec.TaskDefinition, spec.Container, strings.Join(names, ", "))
	}
	task, err := o.runTask(ctx, spec)
	if err != nil {
		return nil, err
	}
	res := &MigrationResult{
		Cluster:        spec.Cluster,
		TaskArn:        aws.ToString(task.TaskArn),
		TaskID:         taskID(aws.ToString(task.TaskArn)),
		TaskDefinition: aws.ToString(td.TaskDefinitionArn),
		Container:      spec.Container,
	}
	res.observe(task)
	log := o.logger().With("task", res.TaskID)
	log.Info("started migration task", "cluster", spec.Cluster, "taskDefinition", res.TaskDefinition,
		"container", spec.Container, "status", res.LastStatus)

	if err := o.waitStopped(ctx, spec, res); err != nil {
		return res, o.abandon(ctx, spec, td, res, err)
	}
	o.readMigrationLog(ctx, spec, td, res)
	if reason := migrationVerdict(res); reason != "" {
		res.Reason = reason
		log.Error("migration failed", "reason", reason)
		return res, fmt.Errorf("%w: task %s: %s", ErrMigrationFailed, res.TaskID, reason)
	}
	res.Succeeded = true
	log.Info("migration succeeded", "container", spec.Container, "exitCode", 0)
	return res, nil
}

// runTask starts the one task. The SDK gives RunTask an idempotency token,
// so its retries never start a second migration.
func (o *Operator) runTask(ctx context.Context, spec MigrationSpec) (*ecstypes.Task, error) {
	release := spec.Release
	if release == "" {
		release = "manual"
	}
	out, err := o.ECS.RunTask(ctx, &ecs.RunTaskInput{
		Cluster:        aws.String(spec.Cluster),
		TaskDefinition: aws.String(spec.TaskDefinition),
		Count:          aws.Int32(1),
		LaunchType:     ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets:        spec.Subnets,
			SecurityGroups: spec.SecurityGroups,
			AssignPublicIp: ecstypes.AssignPublicIpDisabled,
		}},
		StartedBy: aws.String(startedBy(release)),
		Tags: []ecstypes.Tag{
			{Key: aws.String("release"), Value: aws.String(tagValue(release))},
			{Key: aws.String("purpose"), Value: aws.String("migration")},
		},
	})
	if err != nil {
		return nil, awsError("run migration task", err)
	}
	if len(out.Failures) > 0 {
		return nil, fmt.Errorf("run migration task: %s", failuresText(out.Failures))
	}
	if len(out.Tasks) != 1 {
		return nil, fmt.Errorf("run migration task: ECS started %d tasks, want 1", len(out.Tasks))
	}
	return &out.Tasks[0], nil
}

// waitStopped polls the task until it is STOPPED, logging each change of
// status and a heartbeat line while the status stays the same.
func (o *Operator) waitStopped(ctx context.Context, spec MigrationSpec, res *MigrationResult) error {
	log := o.logger().With("task", res.TaskID)
	start := o.now()
	every := o.heartbeatPolls()
	polls := 0
	return o.poll(ctx, start.Add(spec.Timeout), func(ctx context.Context) (bool, error) {
		polls++
		out, err := o.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{
			Cluster: aws.String(spec.Cluster),
			Tasks:   []string{res.TaskArn},
		})
		if err != nil {
			return false, awsError("describe migration task "+res.TaskID, err)
		}
		if len(out.Tasks) == 0 {
			// Just after RunTask, DescribeTasks may not know the task yet
			// and reports it MISSING; anything else is an error.
			for _, f := range out.Failures {
				if aws.ToString(f.Reason) != "MISSING" {
					return false, fmt.Errorf("describe migration task %s: %s", res.TaskID, failuresText(out.Failures))
				}
			}
			if polls%every == 0 {
				log.Info("waiting for ECS to report the migration task", "polls", polls)
			}
			return false, nil
		}
		before := res.LastStatus
		res.observe(&out.Tasks[0])
		switch {
		case res.LastStatus != before:
			log.Info("migration task status", "from", before, "to", res.LastStatus)
		case polls%every == 0:
			log.Info("waiting for migration task", "status", res.LastStatus,
				"elapsed", o.now().Sub(start).Round(time.Second).String(), "polls", polls)
		}
		return res.LastStatus == statusStopped, nil
	})
}

// observe records what the task says about itself and its container.
func (r *MigrationResult) observe(t *ecstypes.Task) {
	r.LastStatus = aws.ToString(t.LastStatus)
	r.StopCode = string(t.StopCode)
	r.StoppedReason = aws.ToString(t.StoppedReason)
	r.CreatedAt = t.CreatedAt
	r.StoppedAt = t.StoppedAt
	r.ExitCode, r.ContainerNote = nil, ""
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == r.Container {
			r.ExitCode = c.ExitCode
			r.ContainerNote = aws.ToString(c.Reason)
		}
	}
}

// migrationVerdict returns why the stopped task is a failed migration, or ""
// when its container exited with code 0.
func migrationVerdict(r *MigrationResult) string {
	stop := ""
	if r.StopCode != "" || r.StoppedReason != "" {
		stop = fmt.Sprintf(" (stop code %s: %s)", orNone(r.StopCode), orNone(r.StoppedReason))
	}
	note := ""
	if r.ContainerNote != "" && r.ContainerNote != r.StoppedReason {
		note = ": " + r.ContainerNote
	}
	switch {
	case r.ExitCode == nil:
		return fmt.Sprintf("container %s never exited with a code%s%s", r.Container, note, stop)
	case *r.ExitCode != 0:
		return fmt.Sprintf("container %s exited with code %d%s%s", r.Container, *r.ExitCode, note, stop)
	}
	return ""
}

// abandon stops a task whose wait ended before it stopped, keeps what its log
// holds so far, and returns the error that ended the wait.
func (o *Operator) abandon(ctx context.Context, spec MigrationSpec, td *ecstypes.TaskDefinition, res *MigrationResult, waitErr error) error {
	log := o.logger().With("task", res.TaskID)
	// The wait's context may be over: stopping must not depend on it.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()

	log.Warn("stopping migration task", "status", res.LastStatus, "reason", waitErr.Error())
	res.StopRequested = true
	_, stopErr := o.ECS.StopTask(stopCtx, &ecs.StopTaskInput{
		Cluster: aws.String(spec.Cluster),
		Task:    aws.String(res.TaskArn),
		Reason:  aws.String(truncate("deployctl: the migration wait ended: "+waitErr.Error(), 255)),
	})
	stopped := "it was asked to stop"
	if stopErr != nil {
		stopped = fmt.Sprintf("stopping it failed: stop it by hand (aws ecs stop-task --cluster %s --task %s)", spec.Cluster, res.TaskArn)
	}
	var err error
	if errors.Is(waitErr, errDeadline) {
		res.TimedOut = true
		err = fmt.Errorf("%w: %w: task %s did not stop within %s (last status %s); %s",
			ErrMigrationFailed, ErrTimeout, res.TaskID, spec.Timeout, orNone(res.LastStatus), stopped)
	} else {
		err = fmt.Errorf("wait for migration task %s: %w; %s", res.TaskID, waitErr, stopped)
	}
	res.Reason = err.Error()
	if stopErr != nil {
		err = errors.Join(err, awsError("stop migration task "+res.TaskID, stopErr))
	}
	o.readMigrationLog(stopCtx, spec, td, res)
	return err
}

// readMigrationLog copies the container's log to the artifacts directory and
// keeps its tail. A log that cannot be read is noted in the result: it does
// not change the outcome of the migration.
func (o *Operator) readMigrationLog(ctx context.Context, spec MigrationSpec, td *ecstypes.TaskDefinition, res *MigrationResult) {
	ls, ok := containerLogStream(td, spec.Container, res.TaskID)
	if !ok {
		res.LogError = fmt.Sprintf("container %s does not log to CloudWatch (no awslogs driver with a group and a stream prefix)", spec.Container)
		return
	}
	res.Log = &ls
	w := &lazyArtifact{o: o, name: "migration-" + res.TaskID + ".log"}
	var err error
	res.LogLines, res.LogTail, err = o.copyLog(ctx, ls, w, spec.TailLines)
	err = errors.Join(err, w.Close())
	res.LogFile = w.path
	if err != nil {
		res.LogError = err.Error()
		o.logger().Warn("could not read the whole migration log", "task", res.TaskID, "err", err)
	}
}

// Summary is the result for people: the outcome, then the log tail.
func (r *MigrationResult) Summary() string {
	var b strings.Builder
	if r.Succeeded {
		fmt.Fprintf(&b, "migration succeeded: task %s, container %s exited with code 0\n", r.TaskID, r.Container)
	} else {
		fmt.Fprintf(&b, "migration FAILED: task %s: %s\n", r.TaskID, r.Reason)
	}
	fmt.Fprintf(&b, "task definition: %s\n", r.TaskDefinition)
	if d := r.duration(); d > 0 {
		fmt.Fprintf(&b, "ran for: %s\n", d)
	}
	if r.LogFile != "" {
		fmt.Fprintf(&b, "log: %s (%d lines)\n", r.LogFile, r.LogLines)
	} else if r.Log != nil {
		fmt.Fprintf(&b, "log: %s in %s (%d lines)\n", r.Log.Stream, r.Log.Group, r.LogLines)
	}
	if r.LogError != "" {
		fmt.Fprintf(&b, "log not read in full: %s\n", r.LogError)
	}
	if len(r.LogTail) > 0 {
		fmt.Fprintf(&b, "last %d log lines:\n", len(r.LogTail))
		for _, l := range r.LogTail {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	return b.String()
}

// Markdown is the result for the job summary.
func (r *MigrationResult) Markdown() string {
	var b strings.Builder
	outcome := "succeeded"
	if !r.Succeeded {
		outcome = "FAILED"
	}
	fmt.Fprintf(&b, "### Migration %s\n\n| | |\n|---|---|\n", outcome)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, mdCell(v))
		}
	}
	row("Task", "`"+r.TaskID+"`")
	row("Task definition", "`"+r.TaskDefinition+"`")
	exit := "none"
	if r.ExitCode != nil {
		exit = fmt.Sprint(*r.ExitCode)
	}
	row("Container", fmt.Sprintf("`%s`, exit code %s", r.Container, exit))
	row("Reason", r.Reason)
	if r.StopCode != "" || r.StoppedReason != "" {
		row("Stopped", orNone(r.StopCode)+": "+orNone(r.StoppedReason))
	}
	if d := r.duration(); d > 0 {
		row("Ran for", d.String())
	}
	if r.LogFile != "" {
		row("Log", fmt.Sprintf("`%s` (%d lines)", r.LogFile, r.LogLines))
	}
	row("Log not read in full", r.LogError)
	if len(r.LogTail) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>Last %d log lines</summary>\n\n", len(r.LogTail))
		writeCodeBlock(&b, r.LogTail)
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

func (r *MigrationResult) duration() time.Duration {
	if r.CreatedAt == nil || r.StoppedAt == nil {
		return 0
	}
	return r.StoppedAt.Sub(*r.CreatedAt).Round(time.Second)
}

// startedBy makes a startedBy value: up to 128 letters, digits, '-', '/'
// and '_'.
func startedBy(release string) string {
	return truncate("deployctl/migrate/"+keep(release, func(r rune) bool {
		return r == '-' || r == '/' || r == '_'
	}), 128)
}

// tagValue makes a tag value: up to 256 letters, digits, spaces and
// "_.:/=+-@".
func tagValue(s string) string {
	return truncate(keep(s, func(r rune) bool { return strings.ContainsRune(" _.:/=+-@", r) }), 256)
}

// keep replaces every rune that is not an ASCII letter or digit and not
// allowed by extra with '-'.
func keep(s string, extra func(rune) bool) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || extra(r)) {
			return r
		}
		return '-'
	}, s)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func failuresText(fs []ecstypes.Failure) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		p := aws.ToString(f.Reason)
		if d := aws.ToString(f.Detail); d != "" {
			p += " (" + d + ")"
		}
		if a := aws.ToString(f.Arn); a != "" {
			p = a + ": " + p
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

func containerNames(defs []ecstypes.ContainerDefinition) []string {
	names := make([]string, 0, len(defs))
	for _, d := range defs {
		names = append(names, aws.ToString(d.Name))
	}
	return names
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
