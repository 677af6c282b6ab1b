package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/experts/platform/infra"
)

// Defaults of a MigrationSpec.
const (
	DefaultMigrationTimeout = 30 * time.Minute
	DefaultTailLines        = 40
)

// Errors of RunMigration found before a task was started: the spec names
// something that does not exist.
var (
	// ErrNoTaskDefinition: ECS does not know the migration task definition.
	ErrNoTaskDefinition = errors.New("migration task definition does not exist")
	// ErrNoContainer: the task definition has no container of that name.
	ErrNoContainer = errors.New("migration container does not exist")
)

// specError is an error of RunMigration that errors.Is matches with kind
// (ErrNoTaskDefinition, ErrNoContainer) while it keeps its own message.
type specError struct {
	kind error
	err  error
}

func (e *specError) Error() string        { return e.err.Error() }
func (e *specError) Unwrap() error        { return e.err }
func (e *specError) Is(target error) bool { return target == e.kind }

// statusStopped is the lastStatus of a task that has stopped for good.
const statusStopped = "STOPPED"

// MigrationSpec says which one-off migration task to run, where, and how
// long to wait for it.
type MigrationSpec struct {
	// Service is the service whose migration runs ("api"). The task is
	// tagged infra.TaskServiceTagKey=Service: the service's deploy role may
	// run, describe and stop only tasks that carry its own value.
	Service        string
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
	// ExpectImage, ExpectVersion and ExpectGitSha, when set, must be what
	// the container runs (its image, and its VERSION and GIT_SHA
	// variables): a migration task definition of another release is
	// refused before any task starts.
	ExpectImage   string
	ExpectVersion string
	ExpectGitSha  string
	// StopGrace bounds the wait for STOPPED after the task was asked to
	// stop. Zero means DefaultStopGrace.
	StopGrace time.Duration
}

// DefaultStopGrace is how long a stopped migration task may take to reach
// STOPPED: its container's stop timeout plus a margin.
const DefaultStopGrace = 3 * time.Minute

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

// MigrationResult is what became of one migration task. RunMigration always
// returns it, also when no task was started (TaskArn is then empty and
// Reason says why).
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
	StopRequested bool `json:"stopRequested,omitempty"`
	// Image, Version and GitSha are what the migration container runs.
	Image    string     `json:"image,omitempty"`
	Version  string     `json:"version,omitempty"`
	GitSha   string     `json:"gitSha,omitempty"`
	Log      *LogStream `json:"log,omitempty"`
	LogFile  string     `json:"logFile,omitempty"` // path in the artifacts directory
	LogLines int        `json:"logLines"`
	LogTail  []string   `json:"logTail,omitempty"`
	LogError string     `json:"logError,omitempty"` // why the log could not be read in full
}

// RunMigration runs the migration task once on Fargate and waits until it
// has stopped. It succeeds only when the named container exited with code
// 0: a task first seen STOPPED is fine, a task that never ran (image pull,
// secrets, ENI) or exited non-zero is an ErrMigrationFailed with the stop
// code and reason. The container's CloudWatch log is copied to the artifacts
// directory and its tail kept in the result. When the deadline passes, the
// context ends or the wait fails, the task is stopped: nobody would watch it.
func (o *Operator) RunMigration(ctx context.Context, spec MigrationSpec) (*MigrationResult, error) {
	res := &MigrationResult{Cluster: spec.Cluster, TaskDefinition: spec.TaskDefinition, Container: spec.Container}
	failed := func(err error) (*MigrationResult, error) {
		res.Reason = err.Error()
		return res, err
	}
	if err := spec.validate(); err != nil {
		return failed(err)
	}
	if spec.Timeout <= 0 {
		spec.Timeout = DefaultMigrationTimeout
	}
	if spec.TailLines <= 0 {
		spec.TailLines = DefaultTailLines
	}
	if spec.StopGrace <= 0 {
		spec.StopGrace = DefaultStopGrace
	}
	td, err := o.describeTaskDefinition(ctx, spec.TaskDefinition)
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ClientException" &&
			strings.Contains(apiErr.ErrorMessage(), "Unable to describe task definition") {
			return failed(&specError{kind: ErrNoTaskDefinition, err: err})
		}
		return failed(err)
	}
	res.TaskDefinition = aws.ToString(td.TaskDefinitionArn)
	if names := containerNames(td.ContainerDefinitions); !slices.Contains(names, spec.Container) {
		return failed(&specError{kind: ErrNoContainer, err: fmt.Errorf("task definition %s has no container %q (it has %s)",
			spec.TaskDefinition, spec.Container, strings.Join(names, ", "))})
	}
	runs := describeContainer(td, spec.Container)
	res.Image, res.Version, res.GitSha = runs.image, runs.env["VERSION"], runs.env["GIT_SHA"]
	o.logger().Info("migration task definition", "taskDefinition", res.TaskDefinition, "image", res.Image,
		"version", orNone(res.Version), "gitSha", orNone(res.GitSha))
	if err := checkRuns(spec, runs); err != nil {
		return failed(err)
	}
	task, err := o.runTask(ctx, spec)
	if err != nil {
		return failed(err)
	}
	res.TaskArn = aws.ToString(task.TaskArn)
	res.TaskID = taskID(res.TaskArn)
	res.observe(task)
	log := o.logger().With("task", res.TaskID)
	log.Info("started migration task", "cluster", spec.Cluster, "taskArn", res.TaskArn, "taskDefinition", res.TaskDefinition,
		"container", spec.Container, "status", res.LastStatus)

	if err := o.waitStopped(ctx, spec, res, spec.Timeout); err != nil {
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

// containerRuns is what one container of a task definition runs.
type containerRuns struct {
	image string
	env   map[string]string
}

func describeContainer(td *ecstypes.TaskDefinition, name string) containerRuns {
	out := containerRuns{env: map[string]string{}}
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) != name {
			continue
		}
		out.image = aws.ToString(c.Image)
		for _, kv := range c.Environment {
			out.env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
	}
	return out
}

// ErrWrongRelease reports a migration task definition that runs another
// release than the one being released.
var ErrWrongRelease = errors.New("migration task definition runs another release")

func checkRuns(spec MigrationSpec, runs containerRuns) error {
	var problems []string
	if spec.ExpectImage != "" && runs.image != spec.ExpectImage {
		problems = append(problems, fmt.Sprintf("image %s, want %s", runs.image, spec.ExpectImage))
	}
	if spec.ExpectVersion != "" && runs.env["VERSION"] != spec.ExpectVersion {
		problems = append(problems, fmt.Sprintf("VERSION %s, want %s", orNone(runs.env["VERSION"]), spec.ExpectVersion))
	}
	if spec.ExpectGitSha != "" && runs.env["GIT_SHA"] != spec.ExpectGitSha {
		problems = append(problems, fmt.Sprintf("GIT_SHA %s, want %s", orNone(runs.env["GIT_SHA"]), spec.ExpectGitSha))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: container %s of %s runs %s; nothing was started",
			ErrWrongRelease, spec.Container, spec.TaskDefinition, strings.Join(problems, ", "))
	}
	return nil
}

// ClientToken is the RunTask idempotency token of a migration: the same
// release's migration on the same task definition gets the same token, so
// that a retried call, or a re-run of the job, finds the task that was
// started instead of starting a second one.
func ClientToken(spec MigrationSpec) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{spec.Cluster, spec.TaskDefinition, spec.Release}, "\x00")))
	return "deployctl-" + hex.EncodeToString(sum[:])[:32]
}

// migrationTaskTags are the migration task's tags: the release, the purpose and,
// when known, the service (infra.TaskServiceTagKey), which the deploy
// role's IAM requires.
func migrationTaskTags(spec MigrationSpec, release string) []ecstypes.Tag {
	tags := []ecstypes.Tag{
		{Key: aws.String("release"), Value: aws.String(tagValue(release))},
		{Key: aws.String(MigrationTagKey), Value: aws.String(MigrationTagValue)},
	}
	if spec.Service != "" {
		tags = append(tags, ecstypes.Tag{Key: aws.String(infra.TaskServiceTagKey), Value: aws.String(spec.Service)})
	}
	return tags
}

// runTask starts the one task. The call is finished even when ctx ends
// while it is in flight: the caller then stops the task it started, instead
// of leaving it running unseen.
func (o *Operator) runTask(ctx context.Context, spec MigrationSpec) (*ecstypes.Task, error) {
	release := spec.Release
	if release == "" {
		release = "manual"
	}
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runTaskTimeout)
	defer cancel()
	out, err := o.ECS.RunTask(callCtx, &ecs.RunTaskInput{
		Cluster:        aws.String(spec.Cluster),
		TaskDefinition: aws.String(spec.TaskDefinition),
		Count:          aws.Int32(1),
		LaunchType:     ecstypes.LaunchTypeFargate,
		ClientToken:    aws.String(ClientToken(spec)),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets:        spec.Subnets,
			SecurityGroups: spec.SecurityGroups,
			AssignPublicIp: ecstypes.AssignPublicIpDisabled,
		}},
		StartedBy: aws.String(startedBy(release)),
		Tags:      migrationTaskTags(spec, release),
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
func (o *Operator) waitStopped(ctx context.Context, spec MigrationSpec, res *MigrationResult, timeout time.Duration) error {
	log := o.logger().With("task", res.TaskID)
	start := o.now()
	every := o.heartbeatPolls()
	polls := 0
	return o.poll(ctx, start.Add(timeout), func(ctx context.Context) (bool, error) {
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

	lastSeen := res.LastStatus
	log.Warn("stopping migration task", "status", res.LastStatus, "reason", waitErr.Error())
	res.StopRequested = true
	_, stopErr := o.ECS.StopTask(stopCtx, &ecs.StopTaskInput{
		Cluster: aws.String(spec.Cluster),
		Task:    aws.String(res.TaskArn),
		Reason:  aws.String(truncate("deployctl: the migration wait ended: "+waitErr.Error(), 255)),
	})
	var stopped string
	if stopErr != nil {
		stopped = fmt.Sprintf("stopping it failed: stop it by hand (aws ecs stop-task --cluster %s --task %s)", spec.Cluster, res.TaskArn)
	} else {
		// A retried job must not start a second migration while this one
		// still runs: wait, within a grace, until it has stopped.
		graceCtx, cancelGrace := context.WithTimeout(context.WithoutCancel(ctx), spec.StopGrace+stopTimeout)
		graceErr := o.waitStopped(graceCtx, spec, res, spec.StopGrace)
		cancelGrace()
		if graceErr == nil {
			exit := "no exit code"
			if res.ExitCode != nil {
				exit = fmt.Sprintf("exit code %d", *res.ExitCode)
			}
			stopped = fmt.Sprintf("task %s was stopped (container %s: %s)", res.TaskArn, spec.Container, exit)
		} else {
			stopped = fmt.Sprintf("task %s was asked to stop but is still %s after %s: it may still be running; "+
				"check it before running again (aws ecs describe-tasks --cluster %s --tasks %s)",
				res.TaskArn, orNone(res.LastStatus), spec.StopGrace, spec.Cluster, res.TaskArn)
		}
	}
	log.Warn("migration task abandoned", "taskArn", res.TaskArn, "outcome", stopped)
	var err error
	if errors.Is(waitErr, errDeadline) {
		res.TimedOut = true
		err = fmt.Errorf("%w: %w: task %s did not stop within %s (last status %s); %s",
			ErrMigrationFailed, ErrTimeout, res.TaskID, spec.Timeout, orNone(lastSeen), stopped)
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
	// CloudWatch Logs lags behind the container: a container that ran may
	// have no stream, or no events, for a few seconds.
	ran := res.ExitCode != nil
	deadline := o.now().Add(o.logLag())
	var err error
	w := &lazyArtifact{o: o, name: "migration-" + res.TaskID + ".log"}
	for attempt := 1; ; attempt++ {
		res.LogLines, res.LogTail, err = o.copyLog(ctx, ls, w, spec.TailLines)
		empty := res.LogLines == 0 && (err == nil || errors.Is(err, errNoLogStream))
		if !ran || !empty || attempt > 10 || !o.now().Before(deadline) || ctx.Err() != nil {
			break
		}
		if attempt == 1 {
			o.logger().Info("waiting for the migration log to reach CloudWatch Logs", "task", res.TaskID, "stream", ls.Stream,
				"for", o.logLag().String())
		}
		select {
		case <-ctx.Done():
		case <-time.After(o.logLagPoll()):
		}
	}
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
