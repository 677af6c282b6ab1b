package infra

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra/policy"
)

func TestServiceDeploymentSettings(t *testing.T) {
	tests := []struct {
		stack, service string
		want           map[string]any
	}{
		{stack: "dev", service: "api", want: map[string]any{
			"name": "experts-dev-api", "desiredCount": 1.0, "min": 50.0, "max": 200.0, "grace": 60.0, "port": 8000.0,
		}},
		{stack: "dev", service: "mcp", want: map[string]any{
			"name": "experts-dev-mcp", "desiredCount": 1.0, "min": 50.0, "max": 200.0, "grace": 30.0, "port": 8080.0,
		}},
		{stack: "prod", service: "api", want: map[string]any{
			"name": "experts-prod-api", "desiredCount": 3.0, "min": 100.0, "max": 200.0, "grace": 60.0, "port": 8000.0,
		}},
		{stack: "prod", service: "mcp", want: map[string]any{
			"name": "experts-prod-mcp", "desiredCount": 2.0, "min": 100.0, "max": 200.0, "grace": 30.0, "port": 8080.0,
		}},
	}
	runs := map[string]*runtimeRun{}
	for _, tt := range tests {
		t.Run(tt.stack+" "+tt.service, func(t *testing.T) {
			rr := runs[tt.stack]
			if rr == nil {
				rr = runRuntime(t, tt.stack, nil)
				runs[tt.stack] = rr
			}
			in := inputsMap(rr.one(t, typeECSService, "runtime-"+tt.service).Inputs)
			lbs, _ := in["loadBalancers"].([]any)
			if len(lbs) != 1 {
				t.Fatalf("loadBalancers = %v, want one", in["loadBalancers"])
			}
			lb := inputsMap(lbs[0].(map[string]any))
			got := map[string]any{
				"name": in["name"], "desiredCount": in["desiredCount"],
				"min": in["deploymentMinimumHealthyPercent"], "max": in["deploymentMaximumPercent"],
				"grace": in["healthCheckGracePeriodSeconds"], "port": lb["containerPort"],
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("deployment settings (-want +got):\n%s", diff)
			}
			fixed := map[string]any{
				"launchType":           in["launchType"],
				"deploymentController": in["deploymentController"],
				"circuitBreaker":       in["deploymentCircuitBreaker"],
				"enableExecuteCommand": in["enableExecuteCommand"],
				"assignPublicIp":       in.Object("networkConfiguration")["assignPublicIp"],
				"waitForSteadyState":   in["waitForSteadyState"],
				"containerName":        lb["containerName"],
				"targetGroupArn":       lb["targetGroupArn"],
				"taskDefinition":       in["taskDefinition"],
			}
			wantFixed := map[string]any{
				"launchType":           "FARGATE",
				"deploymentController": map[string]any{"type": "ECS"},
				"circuitBreaker":       map[string]any{"enable": true, "rollback": true},
				"enableExecuteCommand": false,
				"assignPublicIp":       false,
				"waitForSteadyState":   false,
				"containerName":        tt.service,
				"targetGroupArn":       rr.output(t, tt.service+"TargetGroupArn"),
				"taskDefinition":       rr.output(t, tt.service+"TaskDefinitionArn"),
			}
			if diff := cmp.Diff(wantFixed, fixed); diff != "" {
				t.Errorf("service settings (-want +got):\n%s", diff)
			}
			if got := policy.NewInputs(in.Object("networkConfiguration")).Strings("subnets"); !slices.Equal(got, rr.outputStrings(t, "taskSubnetIds")) {
				t.Errorf("subnets = %v, want the private subnets %v", got, rr.output(t, "taskSubnetIds"))
			}
		})
	}
}

func TestServiceExecIsOffUnlessConfigured(t *testing.T) {
	rr := runRuntime(t, "dev", func(v map[string]string) { setJSON(t, v, KeyServices, "mcp.enableExecuteCommand", true) })
	if got := rr.one(t, typeECSService, "runtime-mcp").Inputs["enableExecuteCommand"]; got != true {
		t.Errorf("mcp enableExecuteCommand = %v, want true", got)
	}
	if got := rr.one(t, typeECSService, "runtime-api").Inputs["enableExecuteCommand"]; got != false {
		t.Errorf("api enableExecuteCommand = %v, want false", got)
	}
	var policies []string
	for _, p := range rr.ofType("aws:iam/rolePolicy:RolePolicy") {
		policies = append(policies, p.Name)
		if p.Name == "runtime-mcp-task" {
			doc := policyDocument(t, p, "policy")
			if len(doc.Statement) != 1 || !slices.Contains(doc.Statement[0].Action, "ssmmessages:OpenDataChannel") {
				t.Errorf("mcp task role policy = %+v, want the ECS Exec channels", doc)
			}
		}
	}
	slices.Sort(policies)
	if diff := cmp.Diff([]string{"runtime-api-execution", "runtime-mcp-execution", "runtime-mcp-task"}, policies); diff != "" {
		t.Errorf("role policies (-want +got):\n%s", diff)
	}
}

func TestServiceContainerDefinitionsMatchGolden(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		rr := runRuntime(t, stack, nil)
		for _, svc := range Services {
			t.Run(stack+" "+svc, func(t *testing.T) {
				td := rr.one(t, typeTaskDefinition, "runtime-"+svc+"-taskdef")
				golden(t, "runtime-"+stack+"-"+svc+"-containers", td.Inputs["containerDefinitions"])
			})
		}
	}
}

func TestServiceContainerCarriesTheRelease(t *testing.T) {
	rr := runRuntime(t, "prod", func(v map[string]string) {
		setJSON(t, v, KeyRelease, "api.version", "1.4.2")
		setJSON(t, v, KeyRelease, "api.ref", "api-v1.4.2")
		setJSON(t, v, KeyRelease, "api.gitSha", "0123456789abcdef0123456789abcdef01234567")
	})
	defs := rr.containers(t, "runtime-api-taskdef")
	if len(defs) != 1 {
		t.Fatalf("%d containers, want 1", len(defs))
	}
	env := map[string]string{}
	for _, e := range defs[0].Environment {
		env[e.Name] = e.Value
	}
	want := map[string]string{
		"VERSION":                "1.4.2",
		"GIT_SHA":                "0123456789abcdef0123456789abcdef01234567",
		"ECS_DEPLOYMENT_VERSION": "1.4.2+0123456789abcdef0123456789abcdef01234567",
		"LOG_LEVEL":              "info",
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	wantSecrets := []ContainerSecret{{Name: "DATABASE_URL", ValueFrom: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:experts/prod/database-url-Xy34Zw"}}
	if diff := cmp.Diff(wantSecrets, defs[0].Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if got, want := defs[0].Image, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/experts/api@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"; got != want {
		t.Errorf("image = %s, want %s", got, want)
	}
}

func TestServiceTaskDefinition(t *testing.T) {
	rr := runRuntime(t, "prod", nil)
	td := rr.one(t, typeTaskDefinition, "runtime-api-taskdef")
	got := map[string]any{}
	for _, k := range []string{"family", "cpu", "memory", "networkMode", "requiresCompatibilities", "runtimePlatform", "skipDestroy", "executionRoleArn", "taskRoleArn"} {
		got[k] = td.Inputs[k]
	}
	want := map[string]any{
		"family":                  "experts-prod-api",
		"cpu":                     "1024",
		"memory":                  "2048",
		"networkMode":             "awsvpc",
		"requiresCompatibilities": []any{"FARGATE"},
		"runtimePlatform":         map[string]any{"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
		"skipDestroy":             true,
		"executionRoleArn":        "arn:aws:iam::123456789012:role/experts-prod-api-execution",
		"taskRoleArn":             "arn:aws:iam::123456789012:role/experts-prod-api-task",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("task definition (-want +got):\n%s", diff)
	}
	c := rr.containers(t, "runtime-api-taskdef")[0]
	if c.StopTimeout != 60 || c.HealthCheck == nil || c.HealthCheck.StartPeriod != 60 || c.HealthCheck.Retries != 3 ||
		!strings.Contains(c.HealthCheck.Command[1], "http://127.0.0.1:8000/healthz") {
		t.Errorf("stop timeout %d, health check %+v: want 60 s and a check of /healthz on 8000 starting after the grace period", c.StopTimeout, c.HealthCheck)
	}
	opts := c.LogConfiguration.Options
	if c.LogConfiguration.LogDriver != "awslogs" || opts["awslogs-group"] != "/experts/prod/api" || opts["awslogs-stream-prefix"] != "api" {
		t.Errorf("log configuration = %+v", c.LogConfiguration)
	}
}

func TestServiceRolesAreScopedToTheirService(t *testing.T) {
	rr := runRuntime(t, "dev", nil)
	for _, name := range []string{"runtime-api-execution", "runtime-api-task", "runtime-mcp-execution", "runtime-mcp-task"} {
		trust := policyDocument(t, rr.one(t, "aws:iam/role:Role", name), "assumeRolePolicy")
		want := NewPolicyDocument(Statement{
			Effect:    "Allow",
			Principal: map[string]StringOrList{"Service": {"ecs-tasks.amazonaws.com"}},
			Action:    StringOrList{"sts:AssumeRole"},
			Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": "210987654321"}},
		})
		if diff := cmp.Diff(want, trust); diff != "" {
			t.Errorf("%s trust (-want +got):\n%s", name, diff)
		}
	}
	got := policyDocument(t, rr.one(t, "aws:iam/rolePolicy:RolePolicy", "runtime-api-execution"), "policy")
	want := NewPolicyDocument(
		Statement{Sid: "RegistryLogin", Effect: "Allow", Action: StringOrList{"ecr:GetAuthorizationToken"}, Resource: StringOrList{"*"}},
		Statement{Sid: "PullImage", Effect: "Allow",
			Action:   StringOrList{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
			Resource: StringOrList{"arn:aws:ecr:eu-west-1:210987654321:repository/experts/api"}},
		Statement{Sid: "WriteLogs", Effect: "Allow", Action: StringOrList{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resource: StringOrList{"arn:aws:logs:eu-west-1:210987654321:log-group:/experts/dev/api:log-stream:*"}},
		Statement{Sid: "ReadSecrets", Effect: "Allow", Action: StringOrList{"secretsmanager:GetSecretValue"},
			Resource: StringOrList{"arn:aws:secretsmanager:eu-west-1:210987654321:secret:experts/dev/database-url-Ab12Cd"}},
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("api execution policy (-want +got):\n%s", diff)
	}
	mcp := policyDocument(t, rr.one(t, "aws:iam/rolePolicy:RolePolicy", "runtime-mcp-execution"), "policy")
	for _, s := range mcp.Statement {
		if s.Sid == "ReadSecrets" || s.Sid == "ReadParameters" {
			t.Errorf("mcp injects no secrets but may read %v", s.Resource)
		}
	}
}

func TestServiceReadsParametersFromSSM(t *testing.T) {
	param := "arn:aws:ssm:eu-west-1:210987654321:parameter/experts/dev/mcp-token"
	rr := runRuntime(t, "dev", func(v map[string]string) {
		setJSON(t, v, KeyServices, "mcp.secrets", map[string]string{"MCP_TOKEN": param})
	})
	doc := policyDocument(t, rr.one(t, "aws:iam/rolePolicy:RolePolicy", "runtime-mcp-execution"), "policy")
	last := doc.Statement[len(doc.Statement)-1]
	want := Statement{Sid: "ReadParameters", Effect: "Allow", Action: StringOrList{"ssm:GetParameters"}, Resource: StringOrList{param}}
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("parameter statement (-want +got):\n%s", diff)
	}
	if got := rr.runtime.Services[ServiceMCP].SecretArns; !slices.Equal(got, []string{param}) {
		t.Errorf("SecretArns = %v, want [%s]", got, param)
	}
}

func TestServiceLogGroupsExpire(t *testing.T) {
	for stack, days := range map[string]float64{"dev": 14, "prod": 90} {
		rr := runRuntime(t, stack, nil)
		for _, svc := range Services {
			lg := rr.one(t, typeLogGroup, "runtime-"+svc+"-logs")
			if lg.Inputs["name"] != "/experts/"+stack+"/"+svc || lg.Inputs["retentionInDays"] != days {
				t.Errorf("%s %s log group = %v, %v days; want /experts/%s/%s, %v days",
					stack, svc, lg.Inputs["name"], lg.Inputs["retentionInDays"], stack, svc, days)
			}
		}
	}
}

func TestServiceRulesFireOnBadResources(t *testing.T) {
	good := map[string]*runtimeRun{"dev": runRuntime(t, "dev", nil), "prod": runRuntime(t, "prod", nil)}
	find := func(t *testing.T, rs []policy.Resource, typ, name string) inputsMap {
		t.Helper()
		for _, r := range rs {
			if r.Type == typ && r.Name == name {
				return r.Inputs
			}
		}
		t.Fatalf("no %s %s", typ, name)
		return nil
	}
	taskSG := func(rr *runtimeRun) string { return rr.output(t, "taskSecurityGroupId").(string) }
	tests := []struct {
		name  string
		stack string
		// breakIt changes the resources of a good run; it may append more.
		breakIt func(t *testing.T, rr *runtimeRun, rs []policy.Resource) []policy.Resource
		want    []string
	}{
		{
			name:  "a service whose circuit breaker does not roll back",
			stack: "dev",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				find(t, rs, typeECSService, "runtime-api").Object("deploymentCircuitBreaker")["rollback"] = false
				return rs
			},
			want: []string{"service-circuit-breaker-rollback"},
		},
		{
			name:  "a service without a circuit breaker",
			stack: "prod",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				delete(find(t, rs, typeECSService, "runtime-mcp"), "deploymentCircuitBreaker")
				return rs
			},
			want: []string{"service-circuit-breaker-rollback"},
		},
		{
			name:  "a prod service that may drop to half capacity",
			stack: "prod",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				find(t, rs, typeECSService, "runtime-api")["deploymentMinimumHealthyPercent"] = 50.0
				return rs
			},
			want: []string{"prod-service-capacity"},
		},
		{
			name:  "a prod service of one task",
			stack: "prod",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				find(t, rs, typeECSService, "runtime-mcp")["desiredCount"] = 1.0
				return rs
			},
			want: []string{"prod-service-capacity"},
		},
		{
			name:  "a dev service of one task at half capacity passes",
			stack: "dev",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				in := find(t, rs, typeECSService, "runtime-api")
				in["desiredCount"], in["deploymentMinimumHealthyPercent"] = 1.0, 0.0
				return rs
			},
		},
		{
			name:  "a service behind the load balancer without a grace period",
			stack: "dev",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				find(t, rs, typeECSService, "runtime-api")["healthCheckGracePeriodSeconds"] = 0.0
				return rs
			},
			want: []string{"service-grace-period"},
		},
		{
			name:  "a service without a load balancer needs no grace period",
			stack: "dev",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				in := find(t, rs, typeECSService, "runtime-api")
				delete(in, "loadBalancers")
				delete(in, "healthCheckGracePeriodSeconds")
				return rs
			},
		},
		{
			name:  "tasks with public IP addresses",
			stack: "prod",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				find(t, rs, typeECSService, "runtime-api").Object("networkConfiguration")["assignPublicIp"] = true
				return rs
			},
			want: []string{"tasks-without-public-ip"},
		},
		{
			name:  "task security group open to the internet",
			stack: "dev",
			breakIt: func(_ *testing.T, rr *runtimeRun, rs []policy.Resource) []policy.Resource {
				return append(rs, policy.Resource{URN: "urn:open", Type: typeIngressRule, Name: "open", Inputs: map[string]any{
					"securityGroupId": taskSG(rr), "cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 8000.0, "toPort": 8000.0,
				}})
			},
			want: []string{"tasks-ingress-from-load-balancer-only"},
		},
		{
			name:  "task security group reachable from another group",
			stack: "prod",
			breakIt: func(_ *testing.T, rr *runtimeRun, rs []policy.Resource) []policy.Resource {
				return append(rs, policy.Resource{URN: "urn:other", Type: typeIngressRule, Name: "other", Inputs: map[string]any{
					"securityGroupId": taskSG(rr), "referencedSecurityGroupId": "sg-0bastion", "ipProtocol": "tcp",
				}})
			},
			want: []string{"tasks-ingress-from-load-balancer-only"},
		},
		{
			name:  "task security group opened by a classic rule",
			stack: "dev",
			breakIt: func(_ *testing.T, rr *runtimeRun, rs []policy.Resource) []policy.Resource {
				return append(rs, policy.Resource{URN: "urn:classic", Type: typeSecurityGroupRule, Name: "classic", Inputs: map[string]any{
					"type": "ingress", "securityGroupId": taskSG(rr), "cidrBlocks": []any{"10.0.0.0/8"}, "protocol": "tcp",
				}})
			},
			want: []string{"tasks-ingress-from-load-balancer-only"},
		},
		{
			name:  "a service without a security group",
			stack: "dev",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				delete(find(t, rs, typeECSService, "runtime-mcp").Object("networkConfiguration"), "securityGroups")
				return rs
			},
			want: []string{"tasks-ingress-from-load-balancer-only"},
		},
		{
			name:  "the load balancer's own group may accept the internet",
			stack: "dev",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				find(t, rs, typeIngressRule, "runtime-network-alb-in-443")["cidrIpv6"] = "::/0"
				return rs
			},
		},
		{
			name:  "a repository that does not scan on push",
			stack: "prod",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				find(t, rs, typeECRRepository, "runtime-registry-api").Object("imageScanningConfiguration")["scanOnPush"] = false
				return rs
			},
			want: []string{"ecr-scan-on-push"},
		},
		{
			name:  "a log group kept forever",
			stack: "dev",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				delete(find(t, rs, typeLogGroup, "runtime-mcp-logs"), "retentionInDays")
				return rs
			},
			want: []string{"log-retention-set"},
		},
		{
			name:  "a task definition that runs a tag",
			stack: "dev",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				in := find(t, rs, typeTaskDefinition, "runtime-api-migrate-taskdef")
				in["containerDefinitions"] = `[{"name":"migrate","image":"210987654321.dkr.ecr.eu-west-1.amazonaws.com/experts/api:main-latest"}]`
				return rs
			},
			want: []string{"images-by-digest"},
		},
		{
			name:  "a task definition with a truncated digest",
			stack: "prod",
			breakIt: func(t *testing.T, _ *runtimeRun, rs []policy.Resource) []policy.Resource {
				in := find(t, rs, typeTaskDefinition, "runtime-mcp-taskdef")
				in["containerDefinitions"] = `[{"name":"mcp","image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/experts/mcp@sha256:fcde2b2e"}]`
				return rs
			},
			want: []string{"images-by-digest"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := good[tt.stack]
			rs := tt.breakIt(t, rr, cloneResources(t, rr.resources))
			var got []string
			for _, v := range policy.Evaluate(runtimeRules, &policy.Stack{Name: tt.stack, Environment: tt.stack, Resources: rs}) {
				if v.Enforcement != policy.Mandatory {
					t.Errorf("%s is not mandatory", v.Policy)
				}
				got = append(got, v.Policy)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violated rules (-want +got):\n%s", diff)
			}
		})
	}
}

// inputsMap is a resource's plain inputs as tests read and change them in
// place.
type inputsMap map[string]any

// Object returns the object at key, nil if there is none.
func (m inputsMap) Object(key string) inputsMap {
	o, _ := m[key].(map[string]any)
	return o
}

func TestServiceHealthCheckCommandIsConfigurable(t *testing.T) {
	tests := []struct {
		name    string
		command any // the services.mcp.healthCheckCommand value; nil leaves it unset
		want    []string
	}{
		{"unset runs the default HTTP check", nil, nil},
		{"NONE turns the container check off", []any{"NONE"}, []string{}},
		{"a command runs as given", []any{"CMD", "/app/healthcheck"}, []string{"CMD", "/app/healthcheck"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := runRuntime(t, "dev", func(v map[string]string) {
				if tt.command != nil {
					setJSON(t, v, KeyServices, "mcp.healthCheckCommand", tt.command)
				}
			})
			c := rr.containers(t, "runtime-mcp-taskdef")[0]
			switch {
			case tt.want == nil:
				if c.HealthCheck == nil || c.HealthCheck.Command[0] != "CMD-SHELL" || !strings.Contains(c.HealthCheck.Command[1], "curl") {
					t.Errorf("health check %+v, want the default CMD-SHELL check", c.HealthCheck)
				}
			case len(tt.want) == 0:
				if c.HealthCheck != nil {
					t.Errorf("health check %+v, want none", c.HealthCheck)
				}
			default:
				if c.HealthCheck == nil || !slices.Equal(c.HealthCheck.Command, tt.want) {
					t.Errorf("health check %+v, want %v", c.HealthCheck, tt.want)
				}
			}
		})
	}
}

func TestServiceHealthCheckCommandIsValidated(t *testing.T) {
	_, err := tryRunStack(t, "dev", func(v map[string]string) {
		setJSON(t, v, KeyServices, "mcp.healthCheckCommand", []any{"curl", "-f", "http://localhost/"})
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "services.mcp.healthCheckCommand") {
		t.Errorf("error = %v, want one naming services.mcp.healthCheckCommand", err)
	}
}
