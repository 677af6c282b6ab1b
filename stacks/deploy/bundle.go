package deploy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/experts/platform/internal/cliout"
)

// Defaults of a BundleSpec.
const (
	DefaultBundleTasks    = 5
	DefaultBundleLogLines = 50
	DefaultBundleEvents   = 20
)

// BundleSpec says what a failure bundle gathers.
type BundleSpec struct {
	// Name names the files: bundle-<Name>.json and bundle-<Name>.md. Empty
	// means Service, or "tasks" without a service.
	Name string
	// Reason is the failure the bundle explains.
	Reason  string
	Cluster string
	// Service, when set, contributes its deployments, recent events and
	// recently stopped tasks.
	Service string
	// TargetGroupArn, when set, contributes the health of its targets.
	TargetGroupArn string
	// TaskArns are tasks to include besides the service's, such as a
	// migration task.
	TaskArns []string
	// MaxTasks bounds the service's stopped tasks, newest first. Zero means
	// DefaultBundleTasks.
	MaxTasks int
	// LogLines is how many of the last log lines of each container are
	// kept. Zero means DefaultBundleLogLines.
	LogLines int
	// MaxEvents bounds the service events, newest first. Zero means
	// DefaultBundleEvents.
	MaxEvents int
}

// Bundle is what was found out about a failure.
type Bundle struct {
	Name        string             `json:"name"`
	Reason      string             `json:"reason"`
	Cluster     string             `json:"cluster"`
	Service     string             `json:"service,omitempty"`
	CollectedAt time.Time          `json:"collectedAt"`
	Deployments []BundleDeployment `json:"deployments,omitempty"`
	Tasks       []BundleTask       `json:"tasks"`
	Targets     []BundleTarget     `json:"targets,omitempty"`
	Events      []BundleEvent      `json:"events,omitempty"` // newest first
	// Errors are the parts that could not be collected.
	Errors []string `json:"errors,omitempty"`
	// Files are the paths the bundle was written to.
	Files []string `json:"-"`
}

// BundleDeployment is one deployment of the service.
type BundleDeployment struct {
	ID                 string     `json:"id"`
	Status             string     `json:"status"`
	TaskDefinition     string     `json:"taskDefinition"`
	RolloutState       string     `json:"rolloutState,omitempty"`
	RolloutStateReason string     `json:"rolloutStateReason,omitempty"`
	Desired            int32      `json:"desired"`
	Running            int32      `json:"running"`
	Pending            int32      `json:"pending"`
	FailedTasks        int32      `json:"failedTasks"`
	CreatedAt          *time.Time `json:"createdAt,omitempty"`
}

// BundleTask is one stopped (or stopping) task.
type BundleTask struct {
	TaskArn        string            `json:"taskArn"`
	TaskID         string            `json:"taskId"`
	TaskDefinition string            `json:"taskDefinition"`
	LastStatus     string            `json:"lastStatus"`
	StopCode       string            `json:"stopCode,omitempty"`
	StoppedReason  string            `json:"stoppedReason,omitempty"`
	CreatedAt      *time.Time        `json:"createdAt,omitempty"`
	StoppedAt      *time.Time        `json:"stoppedAt,omitempty"`
	Containers     []BundleContainer `json:"containers"`
}

// BundleContainer is one container of a task, with the tail of its log.
type BundleContainer struct {
	Name     string     `json:"name"`
	ExitCode *int32     `json:"exitCode,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Log      *LogStream `json:"log,omitempty"`
	LogTail  []string   `json:"logTail,omitempty"`
	LogError string     `json:"logError,omitempty"`
}

// BundleTarget is the health of one target of the target group.
type BundleTarget struct {
	ID          string `json:"id"`
	Port        int32  `json:"port,omitempty"`
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
}

// BundleEvent is one service event.
type BundleEvent struct {
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// CollectBundle gathers what explains a failure: the service's deployments,
// its recently stopped tasks with stop codes, reasons, exit codes and the
// last log lines of each container, its recent events, and the health of
// the target group's targets. The bundle is written as JSON and markdown to
// the artifacts directory, and the markdown appended to the job summary.
// Parts that cannot be collected are listed in the bundle's Errors and
// returned joined in the error, beside the bundle: a bundle is returned
// whenever ctx is live.
func (o *Operator) CollectBundle(ctx context.Context, spec BundleSpec) (*Bundle, error) {
	if spec.MaxTasks <= 0 {
		spec.MaxTasks = DefaultBundleTasks
	}
	if spec.LogLines <= 0 {
		spec.LogLines = DefaultBundleLogLines
	}
	if spec.MaxEvents <= 0 {
		spec.MaxEvents = DefaultBundleEvents
	}
	if spec.Name == "" {
		spec.Name = cmp.Or(spec.Service, "tasks")
	}
	b := &Bundle{
		Name:        spec.Name,
		Reason:      spec.Reason,
		Cluster:     spec.Cluster,
		Service:     spec.Service,
		CollectedAt: o.now().UTC(),
		Tasks:       []BundleTask{},
	}
	var errs []error
	note := func(err error) {
		errs = append(errs, err)
		b.Errors = append(b.Errors, err.Error())
	}

	var tasks []ecstypes.Task
	if spec.Service != "" {
		if err := o.bundleService(ctx, spec, b); err != nil {
			note(err)
		}
		stopped, err := o.recentStoppedTasks(ctx, spec)
		if err != nil {
			note(err)
		}
		tasks = stopped
	}
	if extra := slices.DeleteFunc(slices.Clone(spec.TaskArns), func(a string) bool {
		return slices.ContainsFunc(tasks, func(t ecstypes.Task) bool { return aws.ToString(t.TaskArn) == a })
	}); len(extra) > 0 {
		more, err := o.describeTasks(ctx, spec.Cluster, extra)
		if err != nil {
			note(err)
		}
		tasks = append(tasks, more...)
	}
	tds := map[string]*ecstypes.TaskDefinition{}
	for _, t := range tasks {
		bt, err := o.bundleTask(ctx, t, tds, spec.LogLines)
		if err != nil {
			note(err)
		}
		b.Tasks = append(b.Tasks, bt)
	}
	if spec.TargetGroupArn != "" {
		if err := o.bundleTargets(ctx, spec.TargetGroupArn, b); err != nil {
			note(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collect failure bundle %s: %w", spec.Name, err)
	}
	if err := o.writeBundle(b); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return b, fmt.Errorf("failure bundle %s is incomplete: %w", spec.Name, errors.Join(errs...))
	}
	return b, nil
}

func (o *Operator) bundleService(ctx context.Context, spec BundleSpec, b *Bundle) error {
	out, err := o.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(spec.Cluster),
		Services: []string{spec.Service},
	})
	if err != nil {
		return awsError("describe service "+spec.Service, err)
	}
	if len(out.Services) == 0 {
		return fmt.Errorf("describe service %s: %s", spec.Service, orNone(failuresText(out.Failures)))
	}
	svc := out.Services[0]
	for _, d := range svc.Deployments {
		b.Deployments = append(b.Deployments, BundleDeployment{
			ID:                 aws.ToString(d.Id),
			Status:             aws.ToString(d.Status),
			TaskDefinition:     aws.ToString(d.TaskDefinition),
			RolloutState:       string(d.RolloutState),
			RolloutStateReason: aws.ToString(d.RolloutStateReason),
			Desired:            d.DesiredCount,
			Running:            d.RunningCount,
			Pending:            d.PendingCount,
			FailedTasks:        d.FailedTasks,
			CreatedAt:          d.CreatedAt,
		})
	}
	for _, e := range svc.Events[:min(len(svc.Events), spec.MaxEvents)] {
		b.Events = append(b.Events, BundleEvent{At: aws.ToTime(e.CreatedAt).UTC(), Message: aws.ToString(e.Message)})
	}
	return nil
}

// recentStoppedTasks returns the service's stopped tasks, newest first, at
// most spec.MaxTasks. ECS keeps stopped tasks for about an hour.
func (o *Operator) recentStoppedTasks(ctx context.Context, spec BundleSpec) ([]ecstypes.Task, error) {
	arns, err := o.listTasks(ctx, spec.Cluster, spec.Service, ecstypes.DesiredStatusStopped)
	if err != nil {
		return nil, err
	}
	tasks, err := o.describeTasks(ctx, spec.Cluster, arns)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(tasks, func(a, b ecstypes.Task) int {
		return aws.ToTime(b.StoppedAt).Compare(aws.ToTime(a.StoppedAt))
	})
	return tasks[:min(len(tasks), spec.MaxTasks)], nil
}

// bundleTask describes one task and reads the tail of each container's log.
// A log that cannot be read is noted on its container only.
func (o *Operator) bundleTask(ctx context.Context, t ecstypes.Task, tds map[string]*ecstypes.TaskDefinition, lines int) (BundleTask, error) {
	arn := aws.ToString(t.TaskArn)
	bt := BundleTask{
		TaskArn:        arn,
		TaskID:         taskID(arn),
		TaskDefinition: aws.ToString(t.TaskDefinitionArn),
		LastStatus:     aws.ToString(t.LastStatus),
		StopCode:       string(t.StopCode),
		StoppedReason:  aws.ToString(t.StoppedReason),
		CreatedAt:      t.CreatedAt,
		StoppedAt:      t.StoppedAt,
		Containers:     []BundleContainer{},
	}
	td, known := tds[bt.TaskDefinition]
	var err error
	if !known {
		td, err = o.describeTaskDefinition(ctx, bt.TaskDefinition)
		tds[bt.TaskDefinition] = td // nil after an error: not asked again
	}
	for _, c := range t.Containers {
		bc := BundleContainer{Name: aws.ToString(c.Name), ExitCode: c.ExitCode, Reason: aws.ToString(c.Reason)}
		if ls, ok := containerLogStream(td, bc.Name, bt.TaskID); ok {
			bc.Log = &ls
			tail, lerr := o.tailLog(ctx, ls, lines)
			if lerr != nil {
				bc.LogError = lerr.Error()
			}
			bc.LogTail = tail
		}
		bt.Containers = append(bt.Containers, bc)
	}
	return bt, err
}

func (o *Operator) bundleTargets(ctx context.Context, arn string, b *Bundle) error {
	if o.TargetHealth == nil {
		return errors.New("describe target health: no load balancing client")
	}
	out, err := o.TargetHealth.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return awsError("describe target health of "+arn, err)
	}
	for _, d := range out.TargetHealthDescriptions {
		t := BundleTarget{}
		if d.Target != nil {
			t.ID = aws.ToString(d.Target.Id)
			t.Port = aws.ToInt32(d.Target.Port)
		}
		if d.TargetHealth != nil {
			t.State = string(d.TargetHealth.State)
			t.Reason = string(d.TargetHealth.Reason)
			t.Description = aws.ToString(d.TargetHealth.Description)
		}
		b.Targets = append(b.Targets, t)
	}
	return nil
}

// writeBundle writes the bundle to the artifacts directory and appends its
// markdown to the job summary.
func (o *Operator) writeBundle(b *Bundle) error {
	var data bytes.Buffer
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false) // log lines stay readable: "->", not "-\u003e"
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return fmt.Errorf("encode failure bundle: %w", err)
	}
	md := b.Markdown()
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"bundle-" + b.Name + ".json", data.Bytes()},
		{"bundle-" + b.Name + ".md", []byte(md)},
	} {
		path, err := o.writeArtifact(f.name, f.data)
		if err != nil {
			return fmt.Errorf("write failure bundle: %w", err)
		}
		if path != "" {
			b.Files = append(b.Files, path)
		}
	}
	if path := o.StepSummary; path != "" {
		if err := cliout.AppendStepSummary(path, md); err != nil {
			return err
		}
	}
	o.logger().Info("wrote failure bundle", "name", b.Name, "tasks", len(b.Tasks), "files", strings.Join(b.Files, ", "))
	return nil
}

// Markdown renders the bundle for people and the job summary.
func (b *Bundle) Markdown() string {
	var w strings.Builder
	fmt.Fprintf(&w, "### Failure bundle: %s\n\n", b.Name)
	if b.Reason != "" {
		fmt.Fprintf(&w, "**Reason:** %s\n\n", mdCell(b.Reason))
	}
	where := "cluster `" + b.Cluster + "`"
	if b.Service != "" {
		where += ", service `" + b.Service + "`"
	}
	fmt.Fprintf(&w, "Collected %s from %s.\n", b.CollectedAt.Format(time.RFC3339), where)

	if len(b.Deployments) > 0 {
		w.WriteString("\n#### Deployments\n\n| Status | Task definition | Rollout | Running / desired | Pending | Failed tasks |\n|---|---|---|---|---|---|\n")
		for _, d := range b.Deployments {
			rollout := d.RolloutState
			if d.RolloutStateReason != "" {
				rollout += ": " + d.RolloutStateReason
			}
			fmt.Fprintf(&w, "| %s | `%s` | %s | %d / %d | %d | %d |\n", d.Status, shortTaskDefinition(d.TaskDefinition),
				mdCell(rollout), d.Running, d.Desired, d.Pending, d.FailedTasks)
		}
	}

	w.WriteString("\n#### Stopped tasks\n\n")
	if len(b.Tasks) == 0 {
		w.WriteString("None found (ECS keeps stopped tasks for about an hour).\n")
	} else {
		w.WriteString("| Task | Task definition | Stopped at | Stop code | Stopped reason | Containers |\n|---|---|---|---|---|---|\n")
		for _, t := range b.Tasks {
			stoppedAt := ""
			if t.StoppedAt != nil {
				stoppedAt = t.StoppedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(&w, "| `%s` | `%s` | %s | %s | %s | %s |\n", t.TaskID, shortTaskDefinition(t.TaskDefinition),
				stoppedAt, t.StopCode, mdCell(t.StoppedReason), mdCell(containersText(t.Containers)))
		}
		for _, t := range b.Tasks {
			for _, c := range t.Containers {
				if len(c.LogTail) == 0 && c.LogError == "" {
					continue
				}
				what := fmt.Sprintf("last %d log lines", len(c.LogTail))
				if len(c.LogTail) == 0 {
					what = "log not read"
				}
				fmt.Fprintf(&w, "\n<details><summary>Task %s, container %s: %s</summary>\n\n", t.TaskID, c.Name, what)
				if c.LogError != "" {
					fmt.Fprintf(&w, "%s\n\n", mdCell(c.LogError))
				}
				if len(c.LogTail) > 0 {
					writeCodeBlock(&w, c.LogTail)
					w.WriteString("\n")
				}
				w.WriteString("</details>\n")
			}
		}
	}

	if len(b.Targets) > 0 {
		w.WriteString("\n#### Target health\n\n| Target | Port | State | Reason | Description |\n|---|---|---|---|---|\n")
		for _, t := range b.Targets {
			fmt.Fprintf(&w, "| `%s` | %d | %s | %s | %s |\n", t.ID, t.Port, t.State, t.Reason, mdCell(t.Description))
		}
	}
	if len(b.Events) > 0 {
		w.WriteString("\n#### Service events (newest first)\n\n")
		for _, e := range b.Events {
			fmt.Fprintf(&w, "- %s %s\n", e.At.Format(time.RFC3339), mdCell(e.Message))
		}
	}
	if len(b.Errors) > 0 {
		w.WriteString("\n#### Not collected\n\n")
		for _, e := range b.Errors {
			fmt.Fprintf(&w, "- %s\n", mdCell(e))
		}
	}
	return w.String()
}

func containersText(cs []BundleContainer) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		p := c.Name
		if c.ExitCode != nil {
			p += fmt.Sprintf(" exit %d", *c.ExitCode)
		}
		if c.Reason != "" {
			p += ": " + c.Reason
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// shortTaskDefinition turns a task definition ARN into family:revision.
func shortTaskDefinition(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

// mdCell makes text safe inside a markdown table cell or list item.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// writeCodeBlock writes lines as a fenced code block whose fence is longer
// than any run of backticks in them.
func writeCodeBlock(w *strings.Builder, lines []string) {
	longest := 0
	for _, l := range lines {
		run := 0
		for _, r := range l {
			if r == '`' {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	w.WriteString(fence + "text\n")
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
	w.WriteString(fence + "\n")
}
