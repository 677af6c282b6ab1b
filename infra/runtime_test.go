package infra

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/experts/platform/infra/policy"
)

// runtimeRun is a run of NewRuntime under the mocks, with the stack
// outputs it produced.
type runtimeRun struct {
	*stackRun
	runtime *Runtime
	outputs map[string]any
}

// runRuntime runs NewRuntime with the configuration of the repository's
// Pulumi.<stack>.yaml after mutate (may be nil) changed it.
func runRuntime(t *testing.T, stack string, mutate func(values map[string]string)) *runtimeRun {
	t.Helper()
	rr, err := tryRunRuntime(t, stack, mutate)
	if err != nil {
		t.Fatalf("run runtime of stack %s: %v", stack, err)
	}
	return rr
}

func tryRunRuntime(t *testing.T, stack string, mutate func(values map[string]string)) (*runtimeRun, error) {
	t.Helper()
	rr := &runtimeRun{}
	run, outputs, err := tryRunComponent(t, stack, mutate, func(ctx *pulumi.Context, cfg *Config) (pulumi.Map, error) {
		r, err := NewRuntime(ctx, "runtime", &RuntimeArgs{Config: cfg, PermissionsBoundaryArn: pulumi.String(PermissionsBoundaryArn(cfg))})
		if err != nil {
			return nil, err
		}
		rr.runtime = r
		return r.Outputs(), nil
	})
	rr.stackRun, rr.outputs = run, outputs
	return rr, err
}

// output returns one stack output of the run.
func (rr *runtimeRun) output(t *testing.T, key string) any {
	t.Helper()
	v, ok := rr.outputs[key]
	if !ok {
		t.Fatalf("no output %q", key)
	}
	return v
}

// outputStrings returns a list-of-strings output of the run.
func (rr *runtimeRun) outputStrings(t *testing.T, key string) []string {
	t.Helper()
	list, ok := rr.output(t, key).([]any)
	if !ok {
		t.Fatalf("output %q is %T, want a list", key, rr.output(t, key))
	}
	out := make([]string, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("output %q holds %T, want strings", key, v)
		}
		out[i] = s
	}
	return out
}

// containers parses the container definitions of the task definition with
// logical name name.
func (rr *runtimeRun) containers(t *testing.T, name string) []ecsContainerDefinition {
	t.Helper()
	td := rr.one(t, typeTaskDefinition, name)
	text, ok := td.Inputs["containerDefinitions"].(string)
	if !ok {
		t.Fatalf("containerDefinitions of %s = %v, want JSON text", name, td.Inputs["containerDefinitions"])
	}
	var defs []ecsContainerDefinition
	if err := json.Unmarshal([]byte(text), &defs); err != nil {
		t.Fatalf("parse containerDefinitions of %s: %v", name, err)
	}
	return defs
}

// policyDocument parses a policy document input of a resource.
func policyDocument(t *testing.T, r policy.Resource, key string) PolicyDocument {
	t.Helper()
	text, ok := r.Inputs[key].(string)
	if !ok {
		t.Fatalf("%s of %s = %v, want JSON text", key, r.Name, r.Inputs[key])
	}
	doc, err := ParsePolicyDocument(text)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// outputKeys are the keys workflows and the release driver read (see
// stacks/outputs.go).
var outputKeys = []string{
	"albDnsName", "clusterArn", "clusterName", "taskSecurityGroupId", "taskSubnetIds",
	"apiContainerName", "apiImage", "apiLogGroupName", "apiMigrationContainerName", "apiMigrationImage", "apiMigrationTaskDefinitionArn",
	"apiRepositoryUrl", "apiServiceArn", "apiServiceName", "apiTargetGroupArn", "apiTaskDefinitionArn", "apiUrl",
	"mcpContainerName", "mcpImage", "mcpLogGroupName", "mcpRepositoryUrl", "mcpServiceArn", "mcpServiceName",
	"mcpTargetGroupArn", "mcpTaskDefinitionArn", "mcpUrl",
}

func TestRuntimeExportsTheOutputsWorkflowsRead(t *testing.T) {
	tests := []struct {
		stack string
		want  map[string]any
	}{
		{stack: "dev", want: map[string]any{
			"clusterName":                   "experts-dev",
			"clusterArn":                    "arn:aws:ecs:eu-west-1:210987654321:cluster/experts-dev",
			"apiServiceName":                "experts-dev-api",
			"apiServiceArn":                 "arn:aws:ecs:eu-west-1:210987654321:service/experts-dev/experts-dev-api",
			"apiTaskDefinitionArn":          "arn:aws:ecs:eu-west-1:210987654321:task-definition/experts-dev-api:1",
			"apiContainerName":              "api",
			"apiLogGroupName":               "/experts/dev/api",
			"apiRepositoryUrl":              "210987654321.dkr.ecr.eu-west-1.amazonaws.com/experts/api",
			"apiUrl":                        "https://api.dev.experts.example.com",
			"apiMigrationTaskDefinitionArn": "arn:aws:ecs:eu-west-1:210987654321:task-definition/experts-dev-api-migrate:1",
			"apiMigrationContainerName":     "migrate",
			"mcpServiceName":                "experts-dev-mcp",
			"mcpContainerName":              "mcp",
			"mcpLogGroupName":               "/experts/dev/mcp",
			"mcpUrl":                        "https://mcp.dev.experts.example.com",
		}},
		{stack: "prod", want: map[string]any{
			"clusterName":                   "experts-prod",
			"apiServiceName":                "experts-prod-api",
			"apiTaskDefinitionArn":          "arn:aws:ecs:eu-west-1:123456789012:task-definition/experts-prod-api:1",
			"apiMigrationTaskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/experts-prod-api-migrate:1",
			"apiUrl":                        "https://api.experts.example.com",
			"mcpServiceName":                "experts-prod-mcp",
			"mcpRepositoryUrl":              "123456789012.dkr.ecr.eu-west-1.amazonaws.com/experts/mcp",
			"mcpUrl":                        "https://mcp.experts.example.com",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			rr := runRuntime(t, tt.stack, nil)
			var keys []string
			for k := range rr.outputs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			want := append([]string(nil), outputKeys...)
			sort.Strings(want)
			if diff := cmp.Diff(want, keys); diff != "" {
				t.Errorf("output keys (-want +got):\n%s", diff)
			}
			for k, v := range tt.want {
				if got := rr.output(t, k); got != v {
					t.Errorf("output %s = %v, want %v", k, got, v)
				}
			}
			// One-off tasks run where the services run.
			svc := policy.InputsOf(rr.one(t, typeECSService, "runtime-api")).Object("networkConfiguration")
			if diff := cmp.Diff(svc.Strings("subnets"), rr.outputStrings(t, "taskSubnetIds")); diff != "" {
				t.Errorf("taskSubnetIds differ from the service's subnets (-service +output):\n%s", diff)
			}
			if diff := cmp.Diff(svc.Strings("securityGroups"), []string{rr.output(t, "taskSecurityGroupId").(string)}); diff != "" {
				t.Errorf("taskSecurityGroupId differs from the service's group (-service +output):\n%s", diff)
			}
			alb := rr.one(t, typeLoadBalancer, "runtime-alb")
			if !strings.HasPrefix(rr.output(t, "albDnsName").(string), "experts-"+tt.stack+"-") || alb.Inputs["name"] != "experts-"+tt.stack {
				t.Errorf("albDnsName = %v for load balancer %v", rr.output(t, "albDnsName"), alb.Inputs["name"])
			}
		})
	}
}

func TestRuntimeTellsTheIdentityWhatToScopeTo(t *testing.T) {
	rr := runRuntime(t, "dev", nil)
	api, mcp := rr.runtime.Services[ServiceAPI], rr.runtime.Services[ServiceMCP]
	got := map[string]any{
		"api family":            api.TaskDefinitionFamily,
		"api migration family":  api.MigrationFamily,
		"api migration":         api.MigrationContainerName,
		"api secrets":           api.SecretArns,
		"api has migration":     api.HasMigration(),
		"mcp family":            mcp.TaskDefinitionFamily,
		"mcp migration family":  mcp.MigrationFamily,
		"mcp secrets":           mcp.SecretArns,
		"mcp has migration":     mcp.HasMigration(),
		"mcp migration is zero": mcp.MigrationTaskDefinitionArn.OutputState == nil,
	}
	want := map[string]any{
		"api family":            "experts-dev-api",
		"api migration family":  "experts-dev-api-migrate",
		"api migration":         "migrate",
		"api secrets":           []string{"arn:aws:secretsmanager:eu-west-1:210987654321:secret:experts/dev/database-url-Ab12Cd"},
		"api has migration":     true,
		"mcp family":            "experts-dev-mcp",
		"mcp migration family":  "",
		"mcp secrets":           []string(nil),
		"mcp has migration":     false,
		"mcp migration is zero": true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("service runtime (-want +got):\n%s", diff)
	}
}

func TestRuntimePassesItsRulesInBothStacks(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			rr := runRuntime(t, stack, nil)
			if got := rr.violations(runtimeRules); len(got) > 0 {
				t.Errorf("runtime rule violations:\n%v", got)
			}
			if got := policy.MandatoryOnly(rr.violations(nil)); len(got) > 0 {
				t.Errorf("mandatory violations:\n%v", got)
			}
		})
	}
}

func TestRuntimeParentsAndNamesEveryResource(t *testing.T) {
	rr := runRuntime(t, "prod", nil)
	for _, r := range rr.resources {
		if r.Type == "experts:infra:Runtime" {
			continue
		}
		if !strings.Contains(r.URN, "::experts:infra:Runtime$") {
			t.Errorf("%s is not a descendant of the runtime component", r.URN)
		}
		if !strings.HasPrefix(r.Name, "runtime-") {
			t.Errorf("%s: logical name is not derived from the component's name", r.URN)
		}
	}
}

func TestRuntimeRefusesBadConfigNamingTheKey(t *testing.T) {
	tests := []struct {
		name    string
		stack   string
		mutate  func(t *testing.T, v map[string]string)
		wantKey string
	}{
		{
			name:    "memory Fargate does not accept with the cpu",
			stack:   "dev",
			mutate:  func(t *testing.T, v map[string]string) { setJSON(t, v, KeyServices, "api.memory", 8192) },
			wantKey: "experts:services.api.memory",
		},
		{
			name:    "cpu that is no Fargate size",
			stack:   "dev",
			mutate:  func(t *testing.T, v map[string]string) { setJSON(t, v, KeyServices, "mcp.cpu", 300) },
			wantKey: "experts:services.mcp.cpu",
		},
		{
			name:    "minimum healthy percent above the maximum",
			stack:   "dev",
			mutate:  func(t *testing.T, v map[string]string) { setJSON(t, v, KeyServices, "api.maxPercent", 40) },
			wantKey: "experts:services.api.minHealthyPercent",
		},
		{
			name:    "prod with one task",
			stack:   "prod",
			mutate:  func(t *testing.T, v map[string]string) { setJSON(t, v, KeyServices, "api.desiredCount", 1) },
			wantKey: "experts:services.api.desiredCount",
		},
		{
			name:    "prod below full capacity during rollouts",
			stack:   "prod",
			mutate:  func(t *testing.T, v map[string]string) { setJSON(t, v, KeyServices, "mcp.minHealthyPercent", 50) },
			wantKey: "experts:services.mcp.minHealthyPercent",
		},
		{
			name:    "image digest in an unknown format",
			stack:   "prod",
			mutate:  func(t *testing.T, v map[string]string) { setJSON(t, v, KeyRelease, "api.imageDigest", "sha256:abc") },
			wantKey: "experts:release.api.imageDigest",
		},
		{
			name:    "image digest given as a tag",
			stack:   "prod",
			mutate:  func(t *testing.T, v map[string]string) { setJSON(t, v, KeyRelease, "mcp.imageDigest", "latest") },
			wantKey: "experts:release.mcp.imageDigest",
		},
		{
			name:    "missing certificate with a domain",
			stack:   "dev",
			mutate:  func(t *testing.T, v map[string]string) { setJSON(t, v, KeyDomain, "certificateArn", nil) },
			wantKey: "experts:domain.certificateArn",
		},
		{
			name:  "no grace period for a service behind the load balancer",
			stack: "dev",
			mutate: func(t *testing.T, v map[string]string) {
				setJSON(t, v, KeyServices, "api.healthCheckGracePeriodSeconds", 0)
			},
			wantKey: "experts:services.api.healthCheckGracePeriodSeconds",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, err := tryRunRuntime(t, tt.stack, func(v map[string]string) { tt.mutate(t, v) })
			if err == nil {
				t.Fatal("the run succeeded, want a config error")
			}
			if msg := err.Error(); !strings.Contains(msg, "config "+tt.wantKey+" = ") && !strings.Contains(msg, "config "+tt.wantKey+": ") {
				t.Errorf("error does not name %s:\n%v", tt.wantKey, err)
			}
			if n := len(rr.resources); n != 0 {
				t.Errorf("%d resources declared before the config was refused", n)
			}
		})
	}
}
