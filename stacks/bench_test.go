package stacks

import (
	"context"
	"testing"
)

// BenchmarkPreviewOffline measures the mock evaluation alone: loading the
// dev stack file, running the program under the mocks and evaluating the
// policies (goal: at most 2 s).
func BenchmarkPreviewOffline(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		plan, err := PreviewOffline(ctx, repoRoot, "dev")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(plan.Resources)), "resources")
	}
}
