package stacks

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra"
)

func TestUpKeepsTheLiveReleaseAndRecordsTheUpdate(t *testing.T) {
	f := newFixture(t, "dev")
	ctx := context.Background()
	if _, err := f.driver.Release(ctx, apiRequest()); err != nil {
		t.Fatal(err)
	}
	before := f.engine.live()
	beforeTD := f.engine.outputs.mustString(t, "apiTaskDefinitionArn")
	f.engine.previewSteps = []Step{{URN: "urn:pulumi:dev::experts::experts:infra:Runtime$aws:cloudwatch/logGroup:LogGroup::runtime-api-logs",
		Type: "aws:cloudwatch/logGroup:LogGroup", Op: "update"}}

	out, err := f.driver.Up(ctx)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	if diff := cmp.Diff([]string{"update aws:cloudwatch/logGroup:LogGroup runtime-api-logs"}, out.Planned); diff != "" {
		t.Errorf("planned changes (-want +got):\n%s", diff)
	}
	last := f.engine.ups[len(f.engine.ups)-1]
	if _, handed := last.Config[infra.KeyRelease]; handed {
		t.Error("the infra update was handed a release: it must keep the live one")
	}
	if diff := cmp.Diff(before, f.engine.live()); diff != "" {
		t.Errorf("the live release changed (-want +got):\n%s", diff)
	}
	if got := f.engine.outputs.mustString(t, "apiTaskDefinitionArn"); got != beforeTD {
		t.Errorf("api task definition %s, want %s unchanged", got, beforeTD)
	}
	l := f.ledger(t)
	e := l[len(l)-1]
	if e.Version != out.StackVersion || e.Version != 4 || e.Kind != infra.DeploymentInfra || e.ReleaseSource != SourceKept {
		t.Errorf("ledger entry = version %d kind %s source %s, want 4 infra kept", e.Version, e.Kind, e.ReleaseSource)
	}
	if e.Release["api"].Version != "1.5.0" {
		t.Errorf("ledger says the infra update ran api %s, want the kept 1.5.0", e.Release["api"].Version)
	}
	if !strings.HasPrefix(last.Message, "deployctl up [stack version 4]") {
		t.Errorf("message = %q", last.Message)
	}
}
