package stacks

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// fakeServices answers DescribeServices with a PRIMARY deployment per
// service name.
type fakeServices map[string]string // service name → PRIMARY task definition

func (f fakeServices) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	td, ok := f[in.Services[0]]
	if !ok {
		return &ecs.DescribeServicesOutput{}, nil
	}
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{
		ServiceName: aws.String(in.Services[0]), RunningCount: 1, DesiredCount: 1,
		Deployments: []ecstypes.Deployment{{Status: aws.String("PRIMARY"), TaskDefinition: aws.String(td), RolloutState: ecstypes.DeploymentRolloutStateCompleted}},
	}}}, nil
}

func TestStatusSaysWhatRunsSinceWhenAndWhetherECSAgrees(t *testing.T) {
	f := newFixture(t, "dev")
	ctx := context.Background()
	if _, err := f.driver.Release(ctx, apiRequest()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.driver.Up(ctx); err != nil {
		t.Fatal(err)
	}
	apiTD := f.engine.outputs.mustString(t, "apiTaskDefinitionArn")
	st, err := ReadStatus(ctx, "dev", f.engine, fakeServices{
		"experts-dev-api": apiTD,
		"experts-dev-mcp": "arn:aws:ecs:eu-west-1:" + testAccount + ":task-definition/experts-dev-mcp:99",
	})
	if err != nil {
		t.Fatal(err)
	}
	api, mcp := st.Services[0], st.Services[1]
	if api.Release.Version != "1.5.0" || api.StackVersion != 3 || api.Run == nil || api.Run.Actor != "octocat" {
		t.Errorf("api status = %+v, want 1.5.0 live since stack version 3 from octocat's run", api)
	}
	if !api.ECS.Agrees {
		t.Errorf("ECS view of api = %+v, want agreement", api.ECS)
	}
	if mcp.ECS.Agrees || mcp.StackVersion != 1 {
		t.Errorf("mcp status = %+v (ECS %+v), want live since stack version 1 and a disagreement", mcp, mcp.ECS)
	}
	var b bytes.Buffer
	if err := RenderStatus(&b, st); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "agrees (1/1 running)") || !strings.Contains(out, "DISAGREES: PRIMARY runs") {
		t.Errorf("rendered status:\n%s", out)
	}
}
