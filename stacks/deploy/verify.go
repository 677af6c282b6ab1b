package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Defaults of a VerifySpec.
const (
	DefaultVerifyTimeout     = 30 * time.Minute
	DefaultHealthyWithin     = 10 * time.Minute
	DefaultMaxSameStopReason = 3
)

// describeTasksMax is the most tasks one DescribeTasks call accepts.
const describeTasksMax = 100

// VerifySpec says which deployment to verify.
type VerifySpec struct {
	Cluster string
	Service string
	// TaskDefinition is the ARN the PRIMARY deployment must run.
	TaskDefinition string
	// Since is when the update that rolled out TaskDefinition began: older
	// service events are neither printed nor taken as evidence of a
	// rollback. Zero prints only events that appear while verifying and
	// takes every listed event as evidence.
	Since time.Time
	// Timeout bounds the whole verification. Zero means
	// DefaultVerifyTimeout.
	Timeout time.Duration
	// HealthyWithin: when no task of the deployment has become healthy this
	// long after the deployment began, the rollout is stuck. Zero means
	// DefaultHealthyWithin.
	HealthyWithin time.Duration
	// MaxSameStopReason: when this many tasks of the deployment stopped for
	// the same reason, the rollout is stuck. Zero means
	// DefaultMaxSameStopReason.
	MaxSameStopReason int
}

func (s *VerifySpec) defaults() error {
	var missing []string
	if s.Cluster == "" {
		missing = append(missing, "cluster")
	}
	if s.Service == "" {
		missing = append(missing, "service")
	}
	if s.TaskDefinition == "" {
		missing = append(missing, "task definition")
	}
	if len(missing) > 0 {
		return fmt.Errorf("verify spec lacks %s", strings.Join(missing, ", "))
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultVerifyTimeout
	}
	if s.HealthyWithin <= 0 {
		s.HealthyWithin = DefaultHealthyWithin
	}
	if s.MaxSameStopReason <= 0 {
		s.MaxSameStopReason = DefaultMaxSameStopReason
	}
	return nil
}

// VerifyDeployment waits until the service's PRIMARY deployment runs
// spec.TaskDefinition with rolloutState COMPLETED and as many running tasks
// as desired. "Stable" is not enough: a circuit-breaker rollback leaves the
// service stable on the old task definition, which is an ErrRolledBack. A
// FAILED rollout is an ErrRolloutFailed; a rollout without progress (no
// healthy task within spec.HealthyWithin, or spec.MaxSameStopReason tasks
// stopped for one reason) is an ErrStuck, and the deadline an ErrTimeout.
// Service events are logged as they appear, with heartbeat lines between.
func (o *Operator) VerifyDeployment(ctx context.Context, spec VerifySpec) error {
	if err := spec.defaults(); err != nil {
		return err
	}
	td, err := o.describeTaskDefinition(ctx, spec.TaskDefinition)
	if err != nil {
		return fmt.Errorf("verify service %s: %w", spec.Service, err)
	}
	// Deployments and tasks name their task definition by full ARN: a
	// "family:revision" given here must be compared as the ARN it is.
	if arn := aws.ToString(td.TaskDefinitionArn); arn != "" {
		spec.TaskDefinition = arn
	}
	v := &verification{
		o:              o,
		spec:           spec,
		log:            o.logger().With("service", spec.Service),
		start:          o.now(),
		hasHealthCheck: slices.ContainsFunc(td.ContainerDefinitions, func(c ecstypes.ContainerDefinition) bool { return c.HealthCheck != nil }),
		seenEvents:     map[string]bool{},
		stopped:        map[string]string{},
		reasons:        map[string]int{},
	}
	if v.spec.Since.IsZero() {
		v.printSince = v.start
	} else {
		v.printSince = v.spec.Since
	}
	v.log.Info("verifying deployment", "taskDefinition", spec.TaskDefinition, "timeout", spec.Timeout.String())
	err = o.poll(ctx, v.start.Add(spec.Timeout), v.check)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errDeadline):
		return fmt.Errorf("service %s: %w: deployment of %s not verified within %s (last seen: %s)",
			spec.Service, ErrTimeout, spec.TaskDefinition, spec.Timeout, orNone(v.state))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("verify service %s: %w", spec.Service, err)
	}
	return err
}

type verification struct {
	o              *Operator
	spec           VerifySpec
	log            *slog.Logger
	start          time.Time
	printSince     time.Time
	hasHealthCheck bool

	seenEvents  map[string]bool
	state       string // last logged progress, for logging changes only
	polls       int
	everHealthy bool
	healthy     int
	stopped     map[string]string // stopped task ARN → its stop reason ("" when not of this deployment)
	reasons     map[string]int    // stop reason → tasks of this deployment stopped for it
}

func (v *verification) check(ctx context.Context) (bool, error) {
	v.polls++
	svc, err := v.describeService(ctx)
	if err != nil {
		return false, err
	}
	v.printEvents(svc.Events)

	var primary, ours *ecstypes.Deployment
	for i := range svc.Deployments {
		d := &svc.Deployments[i]
		if aws.ToString(d.Status) == "PRIMARY" {
			primary = d
		}
		if aws.ToString(d.TaskDefinition) == v.spec.TaskDefinition && (ours == nil || d == primary) {
			ours = d
		}
	}
	if primary == nil {
		v.progress("no PRIMARY deployment", 0, 0, 0, 0)
		return false, nil
	}
	if aws.ToString(primary.TaskDefinition) != v.spec.TaskDefinition {
		return false, v.notPrimary(svc, primary, ours)
	}
	if primary.RolloutState == ecstypes.DeploymentRolloutStateFailed {
		return false, fmt.Errorf("service %s: %w: deployment %s of %s: %s", v.spec.Service, ErrRolloutFailed,
			aws.ToString(primary.Id), v.spec.TaskDefinition, orNone(aws.ToString(primary.RolloutStateReason)))
	}
	if primary.RolloutState == ecstypes.DeploymentRolloutStateCompleted && primary.RunningCount == primary.DesiredCount {
		v.log.Info("deployment verified", "deployment", aws.ToString(primary.Id), "taskDefinition", v.spec.TaskDefinition,
			"running", primary.RunningCount, "desired", primary.DesiredCount)
		return true, nil
	}
	if err := v.failFast(ctx, primary); err != nil {
		return false, err
	}
	v.progress(string(primary.RolloutState), primary.RunningCount, primary.PendingCount, primary.DesiredCount, primary.FailedTasks)
	return false, nil
}

func (v *verification) describeService(ctx context.Context) (*ecstypes.Service, error) {
	out, err := v.o.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(v.spec.Cluster),
		Services: []string{v.spec.Service},
	})
	if err != nil {
		return nil, awsError("describe service "+v.spec.Service, err)
	}
	if len(out.Services) == 0 {
		return nil, fmt.Errorf("describe service %s in cluster %s: %s", v.spec.Service, v.spec.Cluster, orNone(failuresText(out.Failures)))
	}
	svc := &out.Services[0]
	if s := aws.ToString(svc.Status); s != "ACTIVE" {
		return nil, fmt.Errorf("service %s is %s, not ACTIVE", v.spec.Service, s)
	}
	return svc, nil
}

// progress logs the rollout's state when it changed, and otherwise a
// heartbeat line every few polls.
func (v *verification) progress(rollout string, running, pending, desired, failed int32) {
	state := fmt.Sprintf("%s running=%d pending=%d desired=%d failedTasks=%d", rollout, running, pending, desired, failed)
	attrs := []any{"rollout", rollout, "running", running, "pending", pending, "desired", desired,
		"failedTasks", failed, "healthy", v.healthy, "stopped", v.stoppedCount()}
	switch {
	case state != v.state:
		v.state = state
		v.log.Info("deployment progress", attrs...)
	case v.polls%v.o.heartbeatPolls() == 0:
		v.log.Info("waiting for deployment", append(attrs, "elapsed", v.o.now().Sub(v.start).Round(time.Second).String())...)
	}
}

// printEvents logs the service events not logged before, oldest first.
func (v *verification) printEvents(events []ecstypes.ServiceEvent) {
	var fresh []ecstypes.ServiceEvent
	for _, e := range events {
		id := aws.ToString(e.Id)
		if v.seenEvents[id] {
			continue
		}
		v.seenEvents[id] = true
		if e.CreatedAt != nil && e.CreatedAt.Before(v.printSince) {
			continue
		}
		fresh = append(fresh, e)
	}
	sort.SliceStable(fresh, func(i, j int) bool {
		return aws.ToTime(fresh[i].CreatedAt).Before(aws.ToTime(fresh[j].CreatedAt))
	})
	for _, e := range fresh {
		v.log.Info("service event", "at", aws.ToTime(e.CreatedAt).UTC().Format(time.RFC3339), "message", aws.ToString(e.Message))
	}
}

// notPrimary explains a PRIMARY deployment that runs another task
// definition: a rollback when the released deployment or the events say so.
func (v *verification) notPrimary(svc *ecstypes.Service, primary, ours *ecstypes.Deployment) error {
	var evidence []string
	if ours != nil {
		evidence = append(evidence, fmt.Sprintf("deployment %s of it is %s with rollout %s: %s",
			aws.ToString(ours.Id), aws.ToString(ours.Status), ours.RolloutState, orNone(aws.ToString(ours.RolloutStateReason))))
	}
	evidence = append(evidence, rollbackEvents(svc.Events, v.spec.Since)...)
	msg := fmt.Sprintf("PRIMARY deployment %s runs %s, not %s", aws.ToString(primary.Id),
		aws.ToString(primary.TaskDefinition), v.spec.TaskDefinition)
	if len(evidence) == 0 {
		return fmt.Errorf("service %s: %w: %s, and no deployment or event shows it rolled out", v.spec.Service, ErrNotDeployed, msg)
	}
	return fmt.Errorf("service %s: %w: %s; %s", v.spec.Service, ErrRolledBack, msg, strings.Join(evidence, "; "))
}

// rollbackEvents returns the newest two service events since since that
// speak of a failed deployment or a rollback.
func rollbackEvents(events []ecstypes.ServiceEvent, since time.Time) []string {
	var out []string
	for _, e := range events { // newest first
		if len(out) == 2 {
			break
		}
		if e.CreatedAt != nil && e.CreatedAt.Before(since) {
			continue
		}
		m := aws.ToString(e.Message)
		lm := strings.ToLower(m)
		if strings.Contains(lm, "circuit breaker") || strings.Contains(lm, "rolling back") ||
			strings.Contains(lm, "rolled back") || strings.Contains(lm, "deployment failed") {
			out = append(out, "event: "+m)
		}
	}
	return out
}

// failFast reports a rollout that makes no progress: tasks of the deployment
// keep stopping for one reason, or none has become healthy in the window.
func (v *verification) failFast(ctx context.Context, d *ecstypes.Deployment) error {
	if d.DesiredCount == 0 {
		return nil
	}
	// The window starts when the deployment began, but never before the
	// update that made it (spec.Since, by this machine's clock): a service
	// clock that disagrees must not end the window at once.
	since := v.start
	if d.CreatedAt != nil {
		since = *d.CreatedAt
	}
	if since.Before(v.spec.Since) {
		since = v.spec.Since
	}
	if err := v.scanStopped(ctx, since); err != nil {
		return err
	}
	reason, n := v.commonReason()
	if n >= v.spec.MaxSameStopReason {
		return fmt.Errorf("service %s: %w: %d tasks of %s stopped for the same reason: %s",
			v.spec.Service, ErrStuck, n, v.spec.TaskDefinition, reason)
	}
	if v.everHealthy {
		return nil
	}
	healthy, err := v.countHealthy(ctx)
	if err != nil {
		return err
	}
	v.healthy = healthy
	if healthy > 0 {
		v.everHealthy = true
		v.log.Info("a task of the deployment is healthy", "healthy", healthy)
		return nil
	}
	if waited := v.o.now().Sub(since); waited >= v.spec.HealthyWithin {
		detail := "no task of it has stopped"
		if n > 0 {
			detail = fmt.Sprintf("%d tasks stopped, most for: %s", v.stoppedCount(), reason)
		}
		return fmt.Errorf("service %s: %w: no task of %s became healthy within %s of the deployment's start (%s)",
			v.spec.Service, ErrStuck, v.spec.TaskDefinition, v.spec.HealthyWithin, detail)
	}
	return nil
}

// scanStopped reads the stop reasons of the service's stopped tasks not
// read before, and counts those of this deployment by reason.
func (v *verification) scanStopped(ctx context.Context, since time.Time) error {
	arns, err := v.o.listTasks(ctx, v.spec.Cluster, v.spec.Service, ecstypes.DesiredStatusStopped)
	if err != nil {
		return err
	}
	var fresh []string
	for _, a := range arns {
		if _, seen := v.stopped[a]; !seen {
			fresh = append(fresh, a)
		}
	}
	tasks, err := v.o.describeTasks(ctx, v.spec.Cluster, fresh)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if aws.ToString(t.LastStatus) != statusStopped {
			continue // still stopping: its exit codes are not known yet
		}
		arn := aws.ToString(t.TaskArn)
		if aws.ToString(t.TaskDefinitionArn) != v.spec.TaskDefinition || (t.CreatedAt != nil && t.CreatedAt.Before(since)) {
			v.stopped[arn] = ""
			continue
		}
		if !failureStop(t) {
			// Scale-in, a replaced task, a user's stop: not a failure.
			v.stopped[arn] = ""
			continue
		}
		reason := stopReason(t)
		v.stopped[arn] = reason
		v.reasons[reason]++
		v.log.Warn("task of the deployment stopped", "task", taskID(arn), "reason", reason)
	}
	return nil
}

// countHealthy counts the running tasks of the deployment that are healthy:
// HEALTHY when the task definition has a container health check, RUNNING
// otherwise.
func (v *verification) countHealthy(ctx context.Context) (int, error) {
	arns, err := v.o.listTasks(ctx, v.spec.Cluster, v.spec.Service, ecstypes.DesiredStatusRunning)
	if err != nil {
		return 0, err
	}
	tasks, err := v.o.describeTasks(ctx, v.spec.Cluster, arns)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tasks {
		if aws.ToString(t.TaskDefinitionArn) != v.spec.TaskDefinition || aws.ToString(t.LastStatus) != "RUNNING" {
			continue
		}
		if !v.hasHealthCheck || t.HealthStatus == ecstypes.HealthStatusHealthy {
			n++
		}
	}
	return n, nil
}

func (v *verification) stoppedCount() int {
	n := 0
	for _, c := range v.reasons {
		n += c
	}
	return n
}

// commonReason is the stop reason shared by most tasks of the deployment
// (the first in sort order on a tie) and how many tasks share it.
func (v *verification) commonReason() (string, int) {
	best, n := "", 0
	for r, c := range v.reasons {
		if c > n || c == n && r < best {
			best, n = r, c
		}
	}
	return best, n
}

// failureStop reports whether a stopped task failed: it never started, a
// container exited non-zero or without an exit code, or it failed a health
// check. A task that ECS or a user stopped on purpose (scale-in, a replaced
// deployment, StopTask), whose containers exited 0, is not a failure.
func failureStop(t ecstypes.Task) bool {
	switch t.StopCode {
	case ecstypes.TaskStopCodeTaskFailedToStart, ecstypes.TaskStopCodeEssentialContainerExited:
		return true
	}
	reason := strings.ToLower(aws.ToString(t.StoppedReason))
	if strings.Contains(reason, "health check") || strings.Contains(reason, "failed to start") ||
		strings.Contains(reason, "cannotpull") || strings.Contains(reason, "resourceinitializationerror") {
		return true
	}
	switch t.StopCode {
	case ecstypes.TaskStopCodeUserInitiated, ecstypes.TaskStopCodeServiceSchedulerInitiated,
		ecstypes.TaskStopCodeSpotInterruption, ecstypes.TaskStopCodeTerminationNotice:
		for _, c := range t.Containers {
			if c.ExitCode != nil && *c.ExitCode != 0 && *c.ExitCode != 137 && *c.ExitCode != 143 {
				return true // it crashed before the stop reached it
			}
		}
		return false
	}
	return true
}

// stopReason is what stopped a task: its stopped reason and, for each
// container, its reason or non-zero exit code.
func stopReason(t ecstypes.Task) string {
	var parts []string
	if r := aws.ToString(t.StoppedReason); r != "" {
		parts = append(parts, r)
	}
	for _, c := range t.Containers {
		name := aws.ToString(c.Name)
		switch {
		case aws.ToString(c.Reason) != "":
			parts = append(parts, fmt.Sprintf("container %s: %s", name, aws.ToString(c.Reason)))
		case c.ExitCode != nil && *c.ExitCode != 0:
			parts = append(parts, fmt.Sprintf("container %s exited with code %d", name, *c.ExitCode))
		}
	}
	if len(parts) == 0 {
		return orNone(string(t.StopCode))
	}
	return strings.Join(parts, "; ")
}

// listTasks lists the ARNs of the service's tasks with the desired status,
// all pages.
func (o *Operator) listTasks(ctx context.Context, cluster, service string, status ecstypes.DesiredStatus) ([]string, error) {
	p := ecs.NewListTasksPaginator(o.ECS, &ecs.ListTasksInput{
		Cluster:       aws.String(cluster),
		ServiceName:   aws.String(service),
		DesiredStatus: status,
	})
	var arns []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsError(fmt.Sprintf("list %s tasks of service %s", strings.ToLower(string(status)), service), err)
		}
		arns = append(arns, page.TaskArns...)
	}
	return arns, nil
}

// describeTasks describes tasks in calls of at most 100. Tasks ECS no longer
// knows are left out.
func (o *Operator) describeTasks(ctx context.Context, cluster string, arns []string) ([]ecstypes.Task, error) {
	var tasks []ecstypes.Task
	for chunk := range slices.Chunk(arns, describeTasksMax) {
		out, err := o.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: chunk})
		if err != nil {
			return nil, awsError("describe tasks", err)
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}
