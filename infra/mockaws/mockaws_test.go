package mockaws

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra/policy"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestUnexpectedInvokeFailsLoudly(t *testing.T) {
	m := New("experts", "dev", "210987654321", "eu-west-1")
	err := m.Run(map[string]string{}, nil, func(ctx *pulumi.Context) error {
		var out map[string]any
		return ctx.Invoke("aws:rds/getEngineVersion:getEngineVersion", map[string]any{}, &out)
	})
	if err == nil || !strings.Contains(err.Error(), "no answer for invoke aws:rds/getEngineVersion:getEngineVersion") {
		t.Fatalf("error = %v, want the unanswered invoke named", err)
	}
}

func TestComputedOutputsAreDeterministicAndAccountScoped(t *testing.T) {
	m := New("experts", "dev", "210987654321", "eu-west-1")
	in := resource.NewPropertyMapFromMap(map[string]any{"name": "experts-dev-api"})
	id1, state1, err := m.NewResource(pulumi.MockResourceArgs{TypeToken: "aws:ecr/repository:Repository", Name: "repo", Inputs: in, Custom: true})
	if err != nil {
		t.Fatal(err)
	}
	id2, state2, err := m.NewResource(pulumi.MockResourceArgs{TypeToken: "aws:ecr/repository:Repository", Name: "repo", Inputs: in, Custom: true})
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 || !state1.DeepEquals(state2) {
		t.Fatal("the same registration gave different answers")
	}
	want := map[string]any{
		"arn":           "arn:aws:ecr:eu-west-1:210987654321:repository/experts-dev-api",
		"name":          "experts-dev-api",
		"registryId":    "210987654321",
		"repositoryUrl": "210987654321.dkr.ecr.eu-west-1.amazonaws.com/experts-dev-api",
	}
	if diff := cmp.Diff(want, policy.PlainMap(state1)); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}
