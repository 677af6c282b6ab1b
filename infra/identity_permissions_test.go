package infra

import (
	"fmt"
	"strings"
	"testing"
)

// rolePolicies runs the whole program of a stack under the mocks and
// returns the inline policy documents of the role named roleName.
func rolePolicies(t *testing.T, stack string, mutate func(values map[string]string), roleName string) []PolicyDocument {
	t.Helper()
	run := runStack(t, stack, mutate, nil)
	var docs []PolicyDocument
	for _, r := range run.ofType(identityRolePolicyType) {
		if r.Inputs["role"] != roleName {
			continue
		}
		text, _ := r.Inputs["policy"].(string)
		doc, err := ParsePolicyDocument(text)
		if err != nil {
			t.Fatalf("policy %s of role %s: %v", r.Name, roleName, err)
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		t.Fatalf("stack %s declares no inline policy of role %s", stack, roleName)
	}
	return docs
}

// policiesAllow reports whether an Allow statement of docs grants action on
// resource as IAM evaluates the request: for actions that IAM authorizes on
// "*" only, resource is "*", which no ARN pattern matches.
func policiesAllow(docs []PolicyDocument, action, resource string) bool {
	for _, d := range docs {
		for _, st := range d.Statement {
			if !strings.EqualFold(st.Effect, "Allow") {
				continue
			}
			actionOK, resourceOK := false, false
			for _, a := range st.Action {
				actionOK = actionOK || identityGlobMatch(a, action)
			}
			for _, r := range st.Resource {
				resourceOK = resourceOK || r == "*" || (resource != "*" && identityGlobMatch(r, resource))
			}
			if actionOK && resourceOK {
				return true
			}
		}
	}
	return false
}

func TestInfraRoleCanRegisterTaskDefinitions(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			docs := rolePolicies(t, stack, nil, "experts-"+stack+"-infra")
			cfg, err := DecodeConfig(stack, loadValues(t, stack))
			if err != nil {
				t.Fatal(err)
			}
			// ECS authorizes RegisterTaskDefinition on the family's ARN.
			family := fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:1", cfg.Region, cfg.AccountID, ServiceFamily(cfg, ServiceAPI))
			if !policiesAllow(docs, "ecs:RegisterTaskDefinition", family) {
				t.Errorf("the infra role cannot register task definitions of %s", family)
			}
			// CloudFront authorizes its create actions on "*" only.
			for _, action := range []string{"cloudfront:CreateDistribution", "cloudfront:CreateFunction", "cloudfront:CreateCachePolicy",
				"cloudfront:CreateOriginAccessControl", "cloudfront:CreateResponseHeadersPolicy"} {
				if !policiesAllow(docs, action, "*") {
					t.Errorf("the infra role cannot call %s (authorized on \"*\" only)", action)
				}
			}
		})
	}
}

func TestDeployRolesCanRunTheProgramsZoneLookup(t *testing.T) {
	existingVpc := func(values map[string]string) {
		values[KeyNetwork] = `{"vpcId":"vpc-0123456789abcdef0",` +
			`"publicSubnetIds":["subnet-0123456789abcdef0","subnet-0123456789abcdef1"],` +
			`"privateSubnetIds":["subnet-0123456789abcdef2","subnet-0123456789abcdef3"]}`
	}
	tests := []struct {
		name   string
		stack  string
		mutate func(values map[string]string)
		want   bool
	}{
		{"dev deploy roles may look up zones when the stack creates its VPC", "dev", nil, true},
		{"prod deploy roles may look up zones when the stack creates its VPC", "prod", nil, true},
		{"deploy roles get no zone lookup with an existing VPC", "dev", existingVpc, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, svc := range Services {
				// A release's `pulumi up` runs the whole program as the
				// deploy role; the awsx Vpc calls getAvailabilityZones,
				// which IAM authorizes on "*" only.
				docs := rolePolicies(t, tt.stack, tt.mutate, "experts-"+tt.stack+"-"+svc+"-deploy")
				if got := policiesAllow(docs, "ec2:DescribeAvailabilityZones", "*"); got != tt.want {
					t.Errorf("%s deploy role may call ec2:DescribeAvailabilityZones: %v, want %v", svc, got, tt.want)
				}
			}
		})
	}
}

func TestDeployRolesNeverReadSecretValues(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			var param string
			addParameter := func(values map[string]string) {
				param = "arn:aws:ssm:eu-west-1:" + map[string]string{"dev": "210987654321", "prod": "123456789012"}[stack] +
					":parameter/experts/" + stack + "/mcp-token"
				setJSON(t, values, KeyServices, "mcp.secrets.MCP_TOKEN", param)
			}
			secret := runStackSecret(t, stack)
			for _, svc := range Services {
				docs := rolePolicies(t, stack, addParameter, "experts-"+stack+"-"+svc+"-deploy")
				// ECS injects the values with the execution role; a GitHub
				// job must not be able to read the database URL.
				for _, read := range []struct{ action, arn string }{
					{"secretsmanager:GetSecretValue", secret},
					{"ssm:GetParameters", param},
					{"ssm:GetParameter", param},
				} {
					if policiesAllow(docs, read.action, read.arn) {
						t.Errorf("%s deploy role may call %s on %s", svc, read.action, read.arn)
					}
				}
				// Nothing a release runs describes secrets.
				if policiesAllow(docs, "secretsmanager:DescribeSecret", secret) {
					t.Errorf("%s deploy role may describe %s, which nothing it runs does", svc, secret)
				}
			}
			// The execution role still reads exactly what it injects.
			exec := rolePolicies(t, stack, addParameter, "experts-"+stack+"-api-execution")
			if !policiesAllow(exec, "secretsmanager:GetSecretValue", secret) {
				t.Errorf("the api execution role cannot read %s", secret)
			}
		})
	}
}

// runStackSecret returns the DATABASE_URL secret ARN of a stack's api.
func runStackSecret(t *testing.T, stack string) string {
	t.Helper()
	cfg, err := DecodeConfig(stack, loadValues(t, stack))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Services[ServiceAPI].Secrets["DATABASE_URL"]
}

// TestDeployRolesCanReadTargetHealth: a failed release's bundle says why
// the load balancer found the new tasks unhealthy, read as the deploy role.
func TestDeployRolesCanReadTargetHealth(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		for _, svc := range Services {
			docs := rolePolicies(t, stack, nil, "experts-"+stack+"-"+svc+"-deploy")
			if !policiesAllow(docs, "elasticloadbalancing:DescribeTargetHealth", "*") {
				t.Errorf("%s %s deploy role cannot read target health", stack, svc)
			}
		}
		if docs := rolePolicies(t, stack, nil, "experts-"+stack+"-frontend-deploy"); policiesAllow(docs, "elasticloadbalancing:DescribeTargetHealth", "*") {
			t.Errorf("%s frontend deploy role reads target health it never needs", stack)
		}
	}
}

// TestDeployRolesCanListTheirServicesTasks: verification and the failure
// bundle call ListTasks(cluster, serviceName), which ECS authorizes on "*"
// (no container instance named), with the cluster as condition.
func TestDeployRolesCanListTheirServicesTasks(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		for _, svc := range Services {
			docs := rolePolicies(t, stack, nil, "experts-"+stack+"-"+svc+"-deploy")
			if !policiesAllow(docs, "ecs:ListTasks", "*") {
				t.Errorf("%s %s deploy role cannot call ecs:ListTasks on \"*\": every release's verification would fail", stack, svc)
			}
		}
	}
}
