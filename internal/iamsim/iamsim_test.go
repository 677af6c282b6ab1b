package iamsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/internal/awsrecord"
	"github.com/experts/platform/internal/iamsim"
	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/publish"
	"github.com/experts/platform/stacks/publish/publishtest"
)

// stack is what the simulation needs of one stack's offline plan: each
// role's inline policies, the boundary, and the outputs ARNs come from.
type stack struct {
	name     string
	account  string
	region   string
	roles    map[string][]any // role name → inline policy documents
	boundary any
	outputs  map[string]any
}

func loadStack(t *testing.T, name string) *stack {
	t.Helper()
	plan, err := stacks.PreviewOffline(context.Background(), filepath.Join("..", ".."), name)
	if err != nil {
		t.Fatalf("offline preview of %s: %v", name, err)
	}
	s := &stack{name: name, roles: map[string][]any{}, outputs: plan.Outputs}
	s.account, _ = plan.Outputs[infra.OutputAccountID].(string)
	s.region, _ = plan.Outputs[infra.OutputRegion].(string)
	for _, r := range plan.Resources {
		text, _ := r.Inputs["policy"].(string)
		switch r.Type {
		case "aws:iam/rolePolicy:RolePolicy":
			role, _ := r.Inputs["role"].(string)
			s.roles[role] = append(s.roles[role], parseJSON(t, text))
		case "aws:iam/policy:Policy":
			if r.Inputs["name"] == "experts-"+name+"-boundary" {
				s.boundary = parseJSON(t, text)
			}
		}
	}
	if s.boundary == nil {
		t.Fatalf("stack %s declares no permissions boundary", name)
	}
	return s
}

func (s *stack) out(t *testing.T, key string) string {
	t.Helper()
	v, ok := s.outputs[key].(string)
	if !ok || v == "" {
		t.Fatalf("stack %s: output %s is %v", s.name, key, s.outputs[key])
	}
	return v
}

// call is one request a pipeline's role must be allowed (or, for a probe,
// refused), with where it comes from.
type call struct {
	source string
	iamsim.Request
}

// recordPublish runs the frontend publisher with real SDK clients against
// the local S3 and CloudFront fakes, recording every call, and returns the
// calls as IAM requests on the stack's bucket and distribution.
func recordPublish(t *testing.T, s *stack) []call {
	t.Helper()
	bucket := s.out(t, infra.OutputSiteBucketName)
	dist := s.out(t, infra.OutputSiteDistributionID)
	srv, err := publishtest.NewS3(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), bucket)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cf := publishtest.NewCloudFront(dist)
	defer cf.Close()
	rec := &awsrecord.Recorder{}
	base := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		APIOptions:  []func(*middleware.Stack) error{rec.Options},
	}
	s3cfg := base.Copy()
	s3cfg.BaseEndpoint = aws.String(srv.URL)
	clients := publish.NewClients(s3cfg, publish.ClientOptions{PathStyle: true, MaxBackoff: time.Millisecond})
	cfcfg := base.Copy()
	cfcfg.BaseEndpoint = aws.String(cf.URL)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html":               `<script src="/assets/index-BxV3k9aQ.js"></script>`,
		"assets/index-BxV3k9aQ.js": "console.log(1)",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 { // a first and a second release: the second one lists and keeps the first
		p := &publish.Publisher{
			S3: clients.S3, CloudFront: cloudfront.NewFromConfig(cfcfg), Bucket: bucket, DistributionID: dist, Dir: dir,
			Retain: 1, Concurrency: 2, Now: func() time.Time { return time.Date(2026, 3, 1, 12, i, 0, 0, time.UTC) },
			WaitMinDelay: time.Millisecond, WaitMaxDelay: time.Millisecond, WaitTimeout: time.Minute,
		}
		if _, err := p.Publish(context.Background()); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	var out []call
	for _, c := range rec.Calls() {
		reqs, err := requestsOf(s, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			out = append(out, call{source: "recorded: stacks/publish " + c.Operation, Request: r})
		}
	}
	if len(out) == 0 {
		t.Fatal("the publisher made no recorded call")
	}
	return out
}

// requestsOf is how IAM authorizes one recorded SDK call (Service
// Authorization Reference: S3 and CloudFront actions, resources and keys).
func requestsOf(s *stack, c awsrecord.Call) ([]iamsim.Request, error) {
	object := func(bucket, key *string) string {
		return "arn:aws:s3:::" + aws.ToString(bucket) + "/" + aws.ToString(key)
	}
	dist := func(id *string) string {
		return fmt.Sprintf("arn:aws:cloudfront::%s:distribution/%s", s.account, aws.ToString(id))
	}
	switch in := c.Input.(type) {
	case *s3.PutObjectInput:
		return []iamsim.Request{{Action: "s3:PutObject", Resource: object(in.Bucket, in.Key)}}, nil
	case *s3.GetObjectInput:
		return []iamsim.Request{{Action: "s3:GetObject", Resource: object(in.Bucket, in.Key)}}, nil
	case *s3.HeadObjectInput:
		return []iamsim.Request{{Action: "s3:GetObject", Resource: object(in.Bucket, in.Key)}}, nil
	case *s3.ListObjectsV2Input:
		return []iamsim.Request{{Action: "s3:ListBucket", Resource: "arn:aws:s3:::" + aws.ToString(in.Bucket),
			Context: map[string]any{"s3:prefix": aws.ToString(in.Prefix)}}}, nil
	case *s3.DeleteObjectsInput:
		var out []iamsim.Request
		for _, o := range in.Delete.Objects {
			out = append(out, iamsim.Request{Action: "s3:DeleteObject", Resource: object(in.Bucket, o.Key)})
		}
		return out, nil
	case *s3.DeleteObjectInput:
		return []iamsim.Request{{Action: "s3:DeleteObject", Resource: object(in.Bucket, in.Key)}}, nil
	case *cloudfront.CreateInvalidationInput:
		return []iamsim.Request{{Action: "cloudfront:CreateInvalidation", Resource: dist(in.DistributionId)}}, nil
	case *cloudfront.GetInvalidationInput:
		return []iamsim.Request{{Action: "cloudfront:GetInvalidation", Resource: dist(in.DistributionId)}}, nil
	}
	return nil, fmt.Errorf("no IAM mapping for recorded call %s %s (%T): add it to requestsOf", c.Service, c.Operation, c.Input)
}

// tableCalls are the calls of each pipeline that no test makes through an
// SDK client yet, written out from their sources:
//   - "deploy": stacks/deploy (RunMigration, deployment verification, the
//     failure bundle) as its ECS, Logs and ELB calls read;
//   - "provider": the pulumi-aws (terraform-provider-aws) create, read
//     and update calls of the resources a release's `pulumi up` changes
//     (task definitions and the ECS service; docker push and tags for the
//     image build in dev), and of the resources the infra role creates;
//   - "backend": the Pulumi DIY backend's objects for one stack update.
func tableCalls(s *stack, pipeline string) []call {
	r, a, env := s.region, s.account, s.name
	clusterArn := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/experts-%s", r, a, env)
	family := func(f string) string { return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:7", r, a, f) }
	task := fmt.Sprintf("arn:aws:ecs:%s:%s:task/experts-%s/0123456789abcdef0123456789abcdef", r, a, env)
	role := func(n string) string { return fmt.Sprintf("arn:aws:iam::%s:role/experts-%s-%s", a, env, n) }
	state := func(key string) string { return "arn:aws:s3:::experts-pulumi-state-" + a + "/" + key }
	stateBucket := "arn:aws:s3:::experts-pulumi-state-" + a
	stateKey := map[string]string{"dev": "arn:aws:kms:eu-west-1:210987654321:key/3c1f7a52-8d4e-4f0b-a6c9-2e7d5b8a9f10"}[env]
	c := func(source, action, resource string, kv ...string) call {
		ctx := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			ctx[kv[i]] = kv[i+1]
		}
		return call{source: source, Request: iamsim.Request{Action: action, Resource: resource, Context: ctx}}
	}
	var out []call
	backendRead := []call{
		c("backend", "s3:GetObject", state(".pulumi/meta.yaml")),
		c("backend", "s3:GetObject", state(".pulumi/stacks/experts/"+env+".json")),
		c("backend", "s3:ListBucket", stateBucket, "s3:prefix", ".pulumi/history/experts/"+env+"/"),
	}
	backendWrite := []call{
		c("backend", "s3:PutObject", state(".pulumi/stacks/experts/"+env+".json")),
		c("backend", "s3:PutObject", state(".pulumi/history/experts/"+env+"/"+env+"-1767225600.history.json")),
		c("backend", "s3:PutObject", state(".pulumi/locks/experts/"+env+"/0b0e1c2d.json")),
		c("backend", "s3:DeleteObject", state(".pulumi/locks/experts/"+env+"/0b0e1c2d.json")),
		c("backend", "s3:ListBucket", stateBucket, "s3:prefix", ".pulumi/locks/experts/"+env+"/"),
	}
	if stateKey != "" {
		backendRead = append(backendRead, c("backend", "kms:Decrypt", stateKey))
		backendWrite = append(backendWrite, c("backend", "kms:GenerateDataKey", stateKey))
	}
	switch pipeline {
	case infra.ServiceAPI, infra.ServiceMCP:
		svc := pipeline
		fam := "experts-" + env + "-" + svc
		repo := fmt.Sprintf("arn:aws:ecr:%s:%s:repository/experts/%s", r, a, svc)
		out = append(out,
			c("provider", "ecs:RegisterTaskDefinition", family(fam)),
			c("provider", "ecs:TagResource", family(fam), "ecs:CreateAction", "RegisterTaskDefinition"),
			c("provider", "ecs:DescribeTaskDefinition", "*"),
			c("provider", "iam:PassRole", role(svc+"-task"), "iam:PassedToService", "ecs-tasks.amazonaws.com"),
			c("provider", "iam:PassRole", role(svc+"-execution"), "iam:PassedToService", "ecs-tasks.amazonaws.com"),
			c("provider", "ecs:UpdateService", fmt.Sprintf("arn:aws:ecs:%s:%s:service/experts-%s/%s", r, a, env, fam), "ecs:cluster", clusterArn),
			c("provider", "ecs:DescribeServices", fmt.Sprintf("arn:aws:ecs:%s:%s:service/experts-%s/%s", r, a, env, fam), "ecs:cluster", clusterArn),
			c("provider", "ec2:DescribeAvailabilityZones", "*"),
			c("deploy", "ecs:ListTasks", "*", "ecs:cluster", clusterArn),
			c("deploy", "ecs:DescribeTasks", task, "ecs:cluster", clusterArn, "aws:ResourceTag/"+infra.TaskServiceTagKey, svc),
			c("deploy", "ecs:StopTask", task, "ecs:cluster", clusterArn, "aws:ResourceTag/"+infra.TaskServiceTagKey, svc),
			c("deploy", "elasticloadbalancing:DescribeTargetHealth", "*"),
		)
		if env == "dev" {
			for _, action := range []string{"ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
				"ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage"} {
				out = append(out, c("provider", action, repo))
			}
			out = append(out, c("provider", "ecr:GetAuthorizationToken", "*"))
		} else {
			out = append(out, c("deploy", "ecr:DescribeImages", repo)) // CheckImageReleasable
		}
		if infra.HasMigrations(svc) {
			out = append(out,
				c("provider", "ecs:RegisterTaskDefinition", family(fam+"-migrate")),
				c("deploy", "ecs:RunTask", family(fam+"-migrate"), "ecs:cluster", clusterArn, "aws:RequestTag/"+infra.TaskServiceTagKey, svc),
				c("deploy", "ecs:TagResource", task, "ecs:CreateAction", "RunTask", "aws:RequestTag/"+infra.TaskServiceTagKey, svc),
				c("deploy", "logs:GetLogEvents", fmt.Sprintf("arn:aws:logs:%s:%s:log-group:/experts/%s/%s:log-stream:migrate/migrate/0123", r, a, env, svc)),
			)
		}
		out = append(append(out, backendRead...), backendWrite...)
	case infra.PipelineFrontend:
		out = append(out, backendRead...)
	case infra.PipelineInfra:
		boundary := fmt.Sprintf("arn:aws:iam::%s:policy/experts-%s-boundary", a, env)
		for _, action := range []string{"cloudfront:CreateDistribution", "cloudfront:CreateFunction", "cloudfront:CreateCachePolicy",
			"cloudfront:CreateOriginAccessControl", "cloudfront:CreateResponseHeadersPolicy"} {
			out = append(out, c("provider", action, "*"))
		}
		out = append(out,
			c("provider", "ecs:RegisterTaskDefinition", family("experts-"+env+"-api")),
			c("provider", "iam:CreateRole", role("api-task"), "iam:PermissionsBoundary", boundary),
			c("provider", "iam:PutRolePolicy", role("api-deploy"), "iam:PermissionsBoundary", boundary),
			c("provider", "iam:PassRole", role("api-task"), "iam:PassedToService", "ecs-tasks.amazonaws.com"),
			c("provider", "ec2:CreateSecurityGroup", fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/sg-0123456789abcdef0", r, a)),
			c("provider", "ecr:PutLifecyclePolicy", fmt.Sprintf("arn:aws:ecr:%s:%s:repository/experts/api", r, a)),
		)
		out = append(append(out, backendRead...), backendWrite...)
	case infra.PipelinePreview:
		out = append(out, c("provider", "ec2:DescribeVpcs", "*"), c("provider", "ecs:DescribeServices", "*"))
		out = append(out, backendRead...)
	}
	return out
}

// probes are requests each role must be refused: other services' tasks,
// families and repositories, another stack's state, and the infra role's
// escapes from its boundary.
func probes(s *stack, pipeline string) []call {
	r, a, env := s.region, s.account, s.name
	other := map[string]string{"dev": "prod", "prod": "dev"}[env]
	clusterArn := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/experts-%s", r, a, env)
	task := fmt.Sprintf("arn:aws:ecs:%s:%s:task/experts-%s/0123456789abcdef0123456789abcdef", r, a, env)
	state := func(key string) string { return "arn:aws:s3:::experts-pulumi-state-" + a + "/" + key }
	p := func(action, resource string, kv ...string) call {
		ctx := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			ctx[kv[i]] = kv[i+1]
		}
		return call{source: "probe", Request: iamsim.Request{Action: action, Resource: resource, Context: ctx}}
	}
	out := []call{
		p("s3:PutObject", state(".pulumi/stacks/experts/"+other+".json")),
		p("s3:GetObject", state(".pulumi/stacks/experts/"+other+".json")),
		p("s3:ListBucket", "arn:aws:s3:::experts-pulumi-state-"+a, "s3:prefix", ".pulumi/history/experts/"+other+"/"),
	}
	switch pipeline {
	case infra.ServiceAPI, infra.ServiceMCP:
		otherSvc := map[string]string{"api": "mcp", "mcp": "api"}[pipeline]
		out = append(out,
			p("ecs:RegisterTaskDefinition", fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/experts-%s-%s:7", r, a, env, otherSvc)),
			p("ecs:DescribeTasks", task, "ecs:cluster", clusterArn, "aws:ResourceTag/"+infra.TaskServiceTagKey, otherSvc),
			p("ecs:StopTask", task, "ecs:cluster", clusterArn, "aws:ResourceTag/"+infra.TaskServiceTagKey, otherSvc),
			p("ecs:ListTasks", "*", "ecs:cluster", fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/other", r, a)),
			p("ecr:PutImage", fmt.Sprintf("arn:aws:ecr:%s:%s:repository/experts/%s", r, a, otherSvc)),
			p("iam:PassRole", fmt.Sprintf("arn:aws:iam::%s:role/experts-%s-%s-task", a, env, otherSvc), "iam:PassedToService", "ecs-tasks.amazonaws.com"),
			p("secretsmanager:GetSecretValue", fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:experts/%s/database-url-Ab12Cd", r, a, env)),
		)
		if infra.HasMigrations(pipeline) {
			out = append(out, p("ecs:RunTask", fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/experts-%s-%s-migrate:7", r, a, env, pipeline),
				"ecs:cluster", clusterArn)) // without its service tag
		}
		if env == "prod" {
			out = append(out, p("ecr:PutImage", fmt.Sprintf("arn:aws:ecr:%s:%s:repository/experts/%s", r, a, pipeline)))
		}
	case infra.PipelineInfra:
		boundary := fmt.Sprintf("arn:aws:iam::%s:policy/experts-%s-boundary", a, env)
		out = append(out,
			p("iam:CreateRole", fmt.Sprintf("arn:aws:iam::%s:role/experts-%s-escape", a, env)),
			p("iam:PutRolePolicy", fmt.Sprintf("arn:aws:iam::%s:role/experts-%s-infra", a, env), "iam:PermissionsBoundary", boundary),
			p("iam:UpdateAssumeRolePolicy", fmt.Sprintf("arn:aws:iam::%s:role/experts-%s-infra", a, env)),
			p("iam:CreatePolicyVersion", boundary),
			p("iam:DeleteRolePermissionsBoundary", fmt.Sprintf("arn:aws:iam::%s:role/experts-%s-api-deploy", a, env)),
		)
	case infra.PipelinePreview, infra.PipelineFrontend:
		out = append(out, p("s3:PutObject", state(".pulumi/stacks/experts/"+env+".json")))
	}
	return out
}

func TestPipelineRolesAllowTheirCallsAndRefuseProbes(t *testing.T) {
	sim, err := iamsim.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]map[string]int{}
	for _, name := range []string{"dev", "prod"} {
		s := loadStack(t, name)
		published := recordPublish(t, s)
		var cases []iamsim.Case
		var want []bool
		var docs []iamsim.Document
		for _, pipeline := range infra.Pipelines {
			roleName := map[string]string{
				infra.PipelineAPI: "api-deploy", infra.PipelineMCP: "mcp-deploy", infra.PipelineFrontend: "frontend-deploy",
				infra.PipelineInfra: "infra", infra.PipelinePreview: "preview",
			}[pipeline]
			roleName = "experts-" + name + "-" + roleName
			policies := s.roles[roleName]
			if len(policies) == 0 {
				t.Fatalf("stack %s has no inline policies for %s", name, roleName)
			}
			var boundary any
			if pipeline != infra.PipelineInfra {
				boundary = s.boundary
			}
			for i, doc := range policies {
				docs = append(docs, iamsim.Document{Name: fmt.Sprintf("%s policy %d", roleName, i+1), Policy: doc})
			}
			calls := tableCalls(s, pipeline)
			if pipeline == infra.PipelineFrontend {
				calls = append(calls, published...)
			}
			key := name + " " + roleName
			counts[key] = map[string]int{}
			for _, c := range calls {
				counts[key][strings.SplitN(c.source, ":", 2)[0]]++
				cases = append(cases, iamsim.Case{Name: key + ": " + c.source + ": " + c.Action + " on " + c.Resource,
					Account: s.account, Request: c.Request, Policies: policies, Boundary: boundary, ResourcePolicy: resourcePolicy(s, c)})
				want = append(want, true)
			}
			for _, c := range probes(s, pipeline) {
				counts[key]["probe"]++
				cases = append(cases, iamsim.Case{Name: key + ": probe: " + c.Action + " on " + c.Resource,
					Account: s.account, Request: c.Request, Policies: policies, Boundary: boundary})
				want = append(want, false)
			}
		}
		docs = append(docs, iamsim.Document{Name: "experts-" + name + "-boundary", Policy: s.boundary})
		results, problems, err := sim.Run(context.Background(), cases, docs)
		if err != nil {
			t.Fatal(err)
		}
		for i, res := range results {
			switch {
			case res.Result == "Error":
				t.Errorf("%s: the simulator refused the request: %s", res.Name, res.Errors)
			case res.Allowed() != want[i]:
				t.Errorf("%s: %s, want allowed=%v", res.Name, res.Result, want[i])
			case want[i] && len(res.IgnoredContextKeys) > 0:
				t.Errorf("%s: the simulator ignored the condition keys %v: they do not apply to this action", res.Name, res.IgnoredContextKeys)
			}
		}
		for _, p := range problems {
			t.Errorf("stack %s: %s", name, p)
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-32s recorded %2d  deploy %2d  provider %2d  backend %2d  probes %2d", k,
			counts[k]["recorded"], counts[k]["deploy"], counts[k]["provider"], counts[k]["backend"], counts[k]["probe"])
	}
}

// resourcePolicy is the policy of the resource a call is made on: KMS keys
// always have one, here the default key policy, which lets IAM policies of
// the account grant the key's use.
func resourcePolicy(s *stack, c call) any {
	if !strings.HasPrefix(c.Action, "kms:") {
		return nil
	}
	return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "EnableIAMPolicies", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + s.account + ":root"},
		"Action": "kms:*", "Resource": "*",
	}}}
}

func parseJSON(t *testing.T, text string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("policy %q: %v", text, err)
	}
	return v
}
