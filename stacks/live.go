package stacks

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"

	"github.com/experts/platform/infra"
)

// LivePreviewOptions tune PreviewLive.
type LivePreviewOptions struct {
	// Progress receives the engine's progress output.
	Progress io.Writer
	// ExpectNoChanges makes any planned change an error: drift detection
	// after a deploy.
	ExpectNoChanges bool
	// Refresh reads the actual state of every resource before planning,
	// so that changes made outside Pulumi show as drift.
	Refresh bool
}

// PreviewLive runs `pulumi preview` of the program for an existing stack
// through the Automation API, with the program inline and the project and
// stack files of dir. It needs the Pulumi CLI, the stack's backend and AWS
// credentials; it returns the planned changes by operation. The program
// keeps the live release (it reads it from the stack's own outputs), so the
// preview shows no image change whatever the stack file's bootstrap release
// says.
func PreviewLive(ctx context.Context, dir, stack string, opts LivePreviewOptions) (map[string]int, error) {
	s, err := auto.SelectStackLocalSource(ctx, stack, dir, auto.Program(infra.Program))
	if err != nil {
		return nil, fmt.Errorf("select stack %s: %w", stack, err)
	}
	popts := []optpreview.Option{optpreview.Diff()}
	if opts.Progress != nil {
		popts = append(popts, optpreview.ProgressStreams(opts.Progress))
	}
	if opts.ExpectNoChanges {
		popts = append(popts, optpreview.ExpectNoChanges())
	}
	if opts.Refresh {
		popts = append(popts, optpreview.Refresh())
	}
	res, err := s.Preview(ctx, popts...)
	if err != nil {
		return nil, fmt.Errorf("preview stack %s: %w", stack, err)
	}
	changes := make(map[string]int, len(res.ChangeSummary))
	for op, n := range res.ChangeSummary {
		changes[string(op)] = n
	}
	return changes, nil
}

// FormatChanges renders a change summary as "2 create, 1 update, 40 same".
func FormatChanges(changes map[string]int) string {
	ops := make([]string, 0, len(changes))
	for op := range changes {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	out := ""
	for i, op := range ops {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%d %s", changes[op], op)
	}
	if out == "" {
		return "no changes"
	}
	return out
}
