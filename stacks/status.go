package stacks

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/experts/platform/infra"
)

// ServicesAPI is the part of the ECS client that Status needs.
type ServicesAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// Status is what runs in a stack now.
type Status struct {
	Stack    string          `json:"stack"`
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is what one service runs, since when, from which run, and
// whether ECS agrees.
type ServiceStatus struct {
	Service string        `json:"service"`
	Release infra.Release `json:"release"`
	// Since and StackVersion say when the release went live.
	Since          time.Time  `json:"since,omitzero"`
	StackVersion   int        `json:"stackVersion,omitempty"`
	Run            *infra.Run `json:"run,omitempty"`
	TaskDefinition string     `json:"taskDefinition"`
	ECS            *ECSView   `json:"ecs,omitempty"`
}

// ECSView is what ECS says about the service.
type ECSView struct {
	PrimaryTaskDefinition string `json:"primaryTaskDefinition,omitempty"`
	RolloutState          string `json:"rolloutState,omitempty"`
	Running               int32  `json:"running"`
	Desired               int32  `json:"desired"`
	Deployments           int    `json:"deployments"`
	// Agrees: the PRIMARY deployment runs the stack's task definition,
	// COMPLETED.
	Agrees bool   `json:"agrees"`
	Error  string `json:"error,omitempty"`
}

// ReadStatus reads the live release from the stack's outputs, when each
// release went live from the ledger, and, when api is not nil, what ECS
// runs.
func ReadStatus(ctx context.Context, stack string, engine Engine, api ServicesAPI) (*Status, error) {
	outputs, err := engine.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	live, err := liveRelease(outputs, stack)
	if err != nil {
		return nil, err
	}
	hist, err := engine.History(ctx)
	if err != nil {
		return nil, err
	}
	ledger, err := BuildLedger(hist)
	if err != nil {
		return nil, err
	}
	st := &Status{Stack: stack}
	for _, svc := range infra.Services {
		s := ServiceStatus{Service: svc, Release: live[svc]}
		s.TaskDefinition, _ = outputs.String(ServiceOutput(svc, SuffixTaskDefinitionArn))
		if e, ok := ledger.Since(svc); ok {
			s.Since, s.StackVersion, s.Run = e.End, e.Version, e.Run
		}
		if api != nil {
			s.ECS = describeECS(ctx, api, outputs, svc, s.TaskDefinition)
		}
		st.Services = append(st.Services, s)
	}
	return st, nil
}

func describeECS(ctx context.Context, api ServicesAPI, outputs Outputs, svc, taskDef string) *ECSView {
	view := &ECSView{}
	cluster, err := outputs.String(OutputClusterName)
	if err == nil {
		var name string
		if name, err = outputs.String(ServiceOutput(svc, SuffixServiceName)); err == nil {
			var out *ecs.DescribeServicesOutput
			out, err = api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
			if err == nil && len(out.Services) == 0 {
				err = fmt.Errorf("ECS does not know service %s in cluster %s", name, cluster)
			}
			if err == nil {
				s := out.Services[0]
				view.Running, view.Desired, view.Deployments = s.RunningCount, s.DesiredCount, len(s.Deployments)
				for _, d := range s.Deployments {
					if aws.ToString(d.Status) == "PRIMARY" {
						view.PrimaryTaskDefinition, view.RolloutState = aws.ToString(d.TaskDefinition), string(d.RolloutState)
					}
				}
				view.Agrees = view.PrimaryTaskDefinition == taskDef && view.RolloutState == "COMPLETED"
			}
		}
	}
	if err != nil {
		view.Error = oneLine(err)
	}
	return view
}

// RenderStatus writes the status as a table.
func RenderStatus(w io.Writer, st *Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tVERSION\tSHA\tDIGEST\tSINCE\tSTACK VERSION\tRUN\tECS")
	for _, s := range st.Services {
		since := "-"
		if !s.Since.IsZero() {
			since = s.Since.UTC().Format("2006-01-02 15:04Z")
		}
		ecsCell := "not checked"
		if v := s.ECS; v != nil {
			switch {
			case v.Error != "":
				ecsCell = "unknown: " + v.Error
			case v.Agrees:
				ecsCell = fmt.Sprintf("agrees (%d/%d running)", v.Running, v.Desired)
			default:
				ecsCell = fmt.Sprintf("DISAGREES: PRIMARY runs %s, rollout %s (%d/%d running)",
					v.PrimaryTaskDefinition, orDash(v.RolloutState), v.Running, v.Desired)
			}
		}
		r := s.Release
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Service, r.Version, short(r.GitSha, 7),
			short(strings.TrimPrefix(r.ImageDigest, "sha256:"), 12), since, s.StackVersion, runCell(s.Run), ecsCell)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
