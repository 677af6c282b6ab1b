package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// maxLogPages bounds one log copy: GetLogEvents returns up to 10,000 events
// a page, and a migration that logs more than this is not read to the end.
const maxLogPages = 500

// LogStream names the CloudWatch log stream of one container of one task.
type LogStream struct {
	Group  string `json:"group"`
	Stream string `json:"stream"`
}

// containerLogStream derives where the awslogs driver writes the output of
// container in task taskID, the way ECS names it:
// <awslogs-stream-prefix>/<container>/<task id> in awslogs-group. ok is false
// when the container does not log to CloudWatch with a prefix.
func containerLogStream(td *ecstypes.TaskDefinition, container, taskID string) (LogStream, bool) {
	if td == nil {
		return LogStream{}, false
	}
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) != container {
			continue
		}
		lc := c.LogConfiguration
		if lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs {
			return LogStream{}, false
		}
		group, prefix := lc.Options["awslogs-group"], lc.Options["awslogs-stream-prefix"]
		if group == "" || prefix == "" {
			return LogStream{}, false
		}
		return LogStream{Group: group, Stream: prefix + "/" + container + "/" + taskID}, true
	}
	return LogStream{}, false
}

// taskID is the last part of a task ARN
// (arn:aws:ecs:region:account:task/cluster/ID).
func taskID(taskArn string) string {
	return taskArn[strings.LastIndex(taskArn, "/")+1:]
}

// describeTaskDefinition returns the task definition arn (an ARN or
// family:revision).
func (o *Operator) describeTaskDefinition(ctx context.Context, arn string) (*ecstypes.TaskDefinition, error) {
	out, err := o.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		return nil, awsError("describe task definition "+arn, err)
	}
	if out.TaskDefinition == nil {
		return nil, fmt.Errorf("describe task definition %s: no task definition in the response", arn)
	}
	return out.TaskDefinition, nil
}

// formatEvent renders one log event as "<RFC 3339 time> <message>".
func formatEvent(e cwtypes.OutputLogEvent) string {
	ts := time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC().Format("2006-01-02T15:04:05.000Z")
	return ts + " " + strings.TrimRight(aws.ToString(e.Message), "\r\n")
}

// errNoLogStream reports a log stream that does not exist, which is what a
// container that never started leaves behind.
var errNoLogStream = errors.New("log stream does not exist (the container may never have started)")

func logsError(ls LogStream, err error) error {
	var nf *cwtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("read log stream %s in %s: %w", ls.Stream, ls.Group, errNoLogStream)
	}
	return awsError("read log stream "+ls.Stream+" in "+ls.Group, err)
}

// copyLog writes every event of the stream, oldest first, one line each, to
// w, paging with the SDK paginator, and returns the number
// of lines and the last tail of them.
func (o *Operator) copyLog(ctx context.Context, ls LogStream, w io.Writer, tail int) (int, []string, error) {
	p := cloudwatchlogs.NewGetLogEventsPaginator(o.Logs, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String(ls.Group),
		LogStreamName: aws.String(ls.Stream),
		StartFromHead: aws.Bool(true),
	}, func(po *cloudwatchlogs.GetLogEventsPaginatorOptions) {
		// At the end of the stream GetLogEvents returns the token it was
		// given: that ends the paging.
		po.StopOnDuplicateToken = true
	})
	var (
		n    int
		last []string
	)
	for pages := 0; p.HasMorePages() && pages < maxLogPages; pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, last, logsError(ls, err)
		}
		for _, e := range page.Events {
			line := formatEvent(e)
			n++
			if _, err := io.WriteString(w, line+"\n"); err != nil {
				return n, last, fmt.Errorf("write log of %s: %w", ls.Stream, err)
			}
			if tail > 0 {
				if len(last) == tail {
					last = last[1:]
				}
				last = append(last, line)
			}
		}
	}
	return n, last, nil
}

// tailLog returns the last n lines of the stream, oldest first, in one call.
func (o *Operator) tailLog(ctx context.Context, ls LogStream, n int) ([]string, error) {
	out, err := o.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String(ls.Group),
		LogStreamName: aws.String(ls.Stream),
		StartFromHead: aws.Bool(false),
		Limit:         aws.Int32(int32(min(max(n, 1), 10000))), //nolint:gosec // bounded to 1..10000 just above
	})
	if err != nil {
		return nil, logsError(ls, err)
	}
	lines := make([]string, 0, len(out.Events))
	for _, e := range out.Events {
		lines = append(lines, formatEvent(e))
	}
	return lines, nil
}

// createArtifact creates (or truncates) name in the artifacts directory and
// returns it with its path; the file is nil when no directory is configured.
func (o *Operator) createArtifact(name string) (f *os.File, path string, err error) {
	if o.ArtifactsDir == "" {
		return nil, "", nil
	}
	if err := os.MkdirAll(o.ArtifactsDir, 0o750); err != nil {
		return nil, "", fmt.Errorf("create artifacts directory: %w", err)
	}
	path = filepath.Join(o.ArtifactsDir, name)
	f, err = os.OpenFile(filepath.Clean(path), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("create artifact: %w", err)
	}
	return f, path, nil
}

// lazyArtifact is a writer that creates its artifact on the first write, so
// that nothing is left behind when there is nothing to write, and discards
// what it is given when no artifacts directory is configured.
type lazyArtifact struct {
	o    *Operator
	name string
	f    *os.File
	path string // set once the file exists
}

func (a *lazyArtifact) Write(p []byte) (int, error) {
	if a.o.ArtifactsDir == "" {
		return len(p), nil
	}
	if a.f == nil {
		f, path, err := a.o.createArtifact(a.name)
		if err != nil {
			return 0, err
		}
		a.f, a.path = f, path
	}
	n, err := a.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", a.path, err)
	}
	return n, nil
}

// Close closes the file, if one was created.
func (a *lazyArtifact) Close() error {
	if a.f == nil {
		return nil
	}
	if err := a.f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	return nil
}

// writeArtifact writes data to name in the artifacts directory and returns
// its path ("" when no directory is configured).
func (o *Operator) writeArtifact(name string, data []byte) (string, error) {
	f, path, err := o.createArtifact(name)
	if err != nil || f == nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
