package infra

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClusterContainerInsightsFollowConfig(t *testing.T) {
	tests := []struct {
		stack    string
		mutate   func(v map[string]string)
		insights string
	}{
		{stack: "dev", insights: "disabled"},
		{stack: "prod", insights: "enabled"},
		{stack: "dev", mutate: func(v map[string]string) { v[KeyContainerInsights] = "true" }, insights: "enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.stack+" "+tt.insights, func(t *testing.T) {
			rr := runRuntime(t, tt.stack, tt.mutate)
			c := rr.one(t, "aws:ecs/cluster:Cluster", "runtime-cluster")
			want := map[string]any{
				"name":     "experts-" + tt.stack,
				"settings": []any{map[string]any{"name": "containerInsights", "value": tt.insights}},
			}
			got := map[string]any{"name": c.Inputs["name"], "settings": c.Inputs["settings"]}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cluster (-want +got):\n%s", diff)
			}
			for _, svc := range Services {
				if got := rr.one(t, typeECSService, "runtime-"+svc).Inputs["cluster"]; got != rr.output(t, "clusterArn") {
					t.Errorf("%s runs in %v, want the cluster %v", svc, got, rr.output(t, "clusterArn"))
				}
			}
		})
	}
}
