package fakeprovider

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestCheckRefusesWhatTheRealProviderRefuses(t *testing.T) {
	td := func(cpu, memory, mode string) resource.PropertyMap {
		return props("family", "experts-dev-api", "containerDefinitions", `[{"name":"api","image":"x"}]`,
			"cpu", cpu, "memory", memory, "networkMode", mode, "requiresCompatibilities", []any{"FARGATE"})
	}
	tests := []struct {
		name, typ string
		in        resource.PropertyMap
		want      string // a substring of the one failure; "" for none
	}{
		{"a valid Fargate task definition passes", "aws:ecs/taskDefinition:TaskDefinition", td("512", "1024", "awsvpc"), ""},
		{"a Fargate size that does not exist is refused", "aws:ecs/taskDefinition:TaskDefinition", td("256", "4096", "awsvpc"), "No Fargate configuration"},
		{"Fargate outside awsvpc is refused", "aws:ecs/taskDefinition:TaskDefinition", td("256", "512", "bridge"), "awsvpc"},
		{"container definitions that are not JSON are refused", "aws:ecs/taskDefinition:TaskDefinition",
			props("family", "f", "containerDefinitions", "{"), "container_definitions is invalid"},
		{"a task definition without a family is refused", "aws:ecs/taskDefinition:TaskDefinition",
			props("containerDefinitions", "[]"), `"family" is required`},
		{"a target group name over 32 characters is refused", "aws:lb/targetGroup:TargetGroup",
			props("name", strings.Repeat("t", 33), "port", 80.0), "at most 32 characters"},
		{"a target group port of 0 is refused", "aws:lb/targetGroup:TargetGroup", props("name", "tg", "port", 0.0), "range (1 - 65535)"},
		{"an IAM role name over 64 characters is refused", "aws:iam/role:Role",
			props("name", strings.Repeat("r", 65), "assumeRolePolicy", "{}"), "at most 64 characters"},
		{"a role session over 12 hours is refused", "aws:iam/role:Role",
			props("assumeRolePolicy", "{}", "maxSessionDuration", 50000.0), "3600 - 43200"},
		{"a log retention CloudWatch does not offer is refused", "aws:cloudwatch/logGroup:LogGroup",
			props("name", "/ecs/x", "retentionInDays", 10.0), "retention_in_days"},
		{"an upper-case ECR repository name is refused", "aws:ecr/repository:Repository", props("name", "Experts"), "not a valid Repository name"},
		{"a bucket name with upper case is refused", "aws:s3/bucketV2:BucketV2", props("bucket", "Fe-Experts"), "not a valid BucketV2 name"},
		{"unknown values pass until they are known", "aws:lb/targetGroup:TargetGroup",
			resource.PropertyMap{"name": resource.MakeComputed(resource.NewProperty("")), "port": resource.NewProperty(80.0)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkInputs(tt.typ, tt.in)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("failures %v, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0].Reason, tt.want) {
				t.Fatalf("failures %v, want one containing %q", got, tt.want)
			}
		})
	}
}
