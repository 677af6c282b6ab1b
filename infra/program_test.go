package infra

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra/mockaws"
	"github.com/experts/platform/infra/policy"
)

func TestProgramRunsBothStacksWithoutMandatoryViolations(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			run := runStack(t, stack, nil, nil)
			if got := policy.MandatoryOnly(run.violations(nil)); len(got) > 0 {
				t.Errorf("mandatory violations:\n%v", got)
			}
			for token := range run.mocks.Invokes() {
				if !strings.HasPrefix(token, "aws:") {
					t.Errorf("unexpected invoke %s", token)
				}
			}
		})
	}
}

func TestProgramRefusesCredentialsOfAnotherAccount(t *testing.T) {
	values := loadValues(t, "dev")
	mocks := mockaws.New(Project, "dev", values[KeyAccountID], values[KeyRegion]).WithCallerAccount("999999999999")
	err := mocks.Run(values, nil, Program)
	if err == nil || !strings.Contains(err.Error(), "credentials are for account 999999999999") {
		t.Fatalf("error = %v, want a refusal naming the caller's account", err)
	}
}

func TestConfigRulesFire(t *testing.T) {
	taskdef := func(env string) policy.Resource {
		return policy.Resource{URN: "urn:td", Type: typeTaskDefinition, Name: "td", Inputs: map[string]any{
			"containerDefinitions": `[{"name":"api","environment":[{"name":"` + env + `","value":"x"}]}]`,
		}}
	}
	tests := []struct {
		name  string
		stack policy.Stack
		want  []string
	}{
		{
			name: "prod that builds an image is refused",
			stack: policy.Stack{Environment: "prod", Resources: []policy.Resource{
				{URN: "urn:img", Type: typeDockerImage, Name: "api-image", Inputs: map[string]any{}},
			}},
			want: []string{"prod-deploys-verified-digests"},
		},
		{
			name: "dev may build images",
			stack: policy.Stack{Environment: "dev", Resources: []policy.Resource{
				{URN: "urn:img", Type: typeDockerImage, Name: "api-image", Inputs: map[string]any{}},
			}},
		},
		{
			name:  "a password in a plain environment value is refused",
			stack: policy.Stack{Environment: "dev", Resources: []policy.Resource{taskdef("DB_PASSWORD")}},
			want:  []string{"no-plaintext-credentials"},
		},
		{
			name:  "an ordinary environment value passes",
			stack: policy.Stack{Environment: "dev", Resources: []policy.Resource{taskdef("LOG_LEVEL")}},
		},
		{
			name: "a physical name without the environment is flagged",
			stack: policy.Stack{Environment: "dev", Resources: []policy.Resource{
				{URN: "urn:role", Type: "aws:iam/role:Role", Name: "r", Inputs: map[string]any{"name": "experts-api"}},
			}},
			want: []string{"names-carry-environment"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range policy.Evaluate(configRules, &tt.stack) {
				got = append(got, v.Policy)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violated policies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPoliciesAreWellFormed(t *testing.T) {
	if err := policy.Validate(Policies()); err != nil {
		t.Fatal(err)
	}
}
