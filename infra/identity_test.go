package infra

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/experts/platform/infra/policy"
)

// identityOIDCProviderType is the type token of the GitHub OIDC provider.
const identityOIDCProviderType = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"

// identityTestArgs returns the targets the runtime and site components
// would hand the identity, as ARNs in the stack's account and region.
func identityTestArgs(cfg *Config) *IdentityArgs {
	r, a := cfg.Region, cfg.AccountID
	cluster := cfg.Name()
	args := &IdentityArgs{
		Config:     cfg,
		ClusterArn: pulumi.String(fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", r, a, cluster)),
		Services:   map[string]ServiceTargets{},

		PermissionsBoundaryArn: pulumi.String(PermissionsBoundaryArn(cfg)),
		Site: SiteTargets{
			BucketArn:       pulumi.String("arn:aws:s3:::" + cfg.Site.BucketName),
			DistributionArn: pulumi.String(fmt.Sprintf("arn:aws:cloudfront::%s:distribution/E2QWRUHEXAMPLE", a)),
		},
	}
	for _, svc := range Services {
		t := ServiceTargets{
			RepositoryArn:        pulumi.String(fmt.Sprintf("arn:aws:ecr:%s:%s:repository/experts/%s", r, a, svc)),
			ServiceArn:           pulumi.String(fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", r, a, cluster, cfg.Name(svc))),
			TaskRoleArn:          pulumi.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", a, cfg.Name(svc, "task"))),
			ExecutionRoleArn:     pulumi.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", a, cfg.Name(svc, "execution"))),
			LogGroupArn:          pulumi.String(fmt.Sprintf("arn:aws:logs:%s:%s:log-group:/ecs/%s", r, a, cfg.Name(svc))),
			TaskDefinitionFamily: cfg.Name(svc),
		}
		if svc == ServiceAPI {
			t.MigrationFamily = cfg.Name(svc, "migrate")
		}
		for _, name := range cfg.Services[svc].SecretNames() {
			t.SecretArns = append(t.SecretArns, cfg.Services[svc].Secrets[name])
		}
		args.Services[svc] = t
	}
	return args
}

// identityRun is a run of the identity component alone, with its outputs.
type identityRun struct {
	*stackRun
	outputs map[string]string
	// environments is the githubEnvironments output.
	environments map[string]any
}

func runIdentity(t *testing.T, stack string, mutate func(values map[string]string)) *identityRun {
	t.Helper()
	run, outputs, err := tryRunComponent(t, stack, mutate, func(ctx *pulumi.Context, cfg *Config) (pulumi.Map, error) {
		id, err := NewIdentity(ctx, "identity", identityTestArgs(cfg))
		if err != nil {
			return nil, err
		}
		return id.Outputs(), nil
	})
	if err != nil {
		t.Fatalf("run identity of stack %s: %v", stack, err)
	}
	envs, _ := outputs[OutputGitHubEnvironments].(map[string]any)
	delete(outputs, OutputGitHubEnvironments)
	return &identityRun{stackRun: run, outputs: stringOutputs(t, outputs), environments: envs}
}

// identityRoleTags are the PipelineTagKey values, in Pipelines order.
var identityRoleTags = []string{"api-deploy", "mcp-deploy", "frontend-deploy", "infra", "preview"}

// role returns the registered role of a pipeline tag ("api-deploy").
func (r *identityRun) role(t *testing.T, tag string) policy.Resource {
	t.Helper()
	return r.one(t, identityRoleType, "identity-"+tag)
}

// trust returns the parsed trust policy of a role.
func (r *identityRun) trust(t *testing.T, tag string) PolicyDocument {
	t.Helper()
	doc, ok, err := identityRoleTrust(r.role(t, tag))
	if err != nil || !ok {
		t.Fatalf("trust policy of %s: known=%v, %v", tag, ok, err)
	}
	return doc
}

// policies returns the inline policies of a role by name.
func (r *identityRun) policies(t *testing.T, tag string) map[string]PolicyDocument {
	t.Helper()
	name, _ := r.role(t, tag).Inputs["name"].(string)
	out := map[string]PolicyDocument{}
	for _, p := range r.ofType(identityRolePolicyType) {
		if p.Inputs["role"] != name {
			continue
		}
		doc, err := ParsePolicyDocument(p.Inputs["policy"].(string))
		if err != nil {
			t.Fatalf("policy %s: %v", p.Name, err)
		}
		out[p.Inputs["name"].(string)] = doc
	}
	return out
}

// statements returns every statement of a role's inline policies.
func (r *identityRun) statements(t *testing.T, tag string) []Statement {
	t.Helper()
	var out []Statement
	pols := r.policies(t, tag)
	for _, name := range sortedKeys(pols) {
		out = append(out, pols[name].Statement...)
	}
	return out
}

func asJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIdentityRolesMatchGoldenFiles(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			run := runIdentity(t, stack, nil)
			provider := run.one(t, identityOIDCProviderType, "identity-github")
			golden(t, "identity-"+stack+"-provider", provider.Inputs)
			for _, tag := range identityRoleTags {
				role := run.role(t, tag)
				policies := map[string]any{}
				for name, doc := range run.policies(t, tag) {
					policies[name] = asJSONValue(t, doc)
				}
				golden(t, "identity-"+stack+"-"+tag, map[string]any{
					"name":               role.Inputs["name"],
					"description":        role.Inputs["description"],
					"maxSessionDuration": role.Inputs["maxSessionDuration"],
					"tags":               role.Inputs["tags"],
					"trust":              asJSONValue(t, run.trust(t, tag)),
					"policies":           policies,
				})
			}
		})
	}
}

func TestIdentityOutputsNameEveryRole(t *testing.T) {
	run := runIdentity(t, "dev", nil)
	acct := "210987654321"
	want := map[string]string{
		"oidcProviderArn":       "arn:aws:iam::" + acct + ":oidc-provider/token.actions.githubusercontent.com",
		"apiDeployRoleArn":      "arn:aws:iam::" + acct + ":role/experts-dev-api-deploy",
		"mcpDeployRoleArn":      "arn:aws:iam::" + acct + ":role/experts-dev-mcp-deploy",
		"frontendDeployRoleArn": "arn:aws:iam::" + acct + ":role/experts-dev-frontend-deploy",
		"infraRoleArn":          "arn:aws:iam::" + acct + ":role/experts-dev-infra",
		"previewRoleArn":        "arn:aws:iam::" + acct + ":role/experts-dev-preview",
	}
	if diff := cmp.Diff(want, run.outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}

func TestIdentityChildrenAreParentedAndNamedAfterTheComponent(t *testing.T) {
	run := runIdentity(t, "dev", nil)
	component := run.one(t, identityComponentType, "identity")
	var children []string
	for _, r := range run.resources {
		if r.URN == component.URN {
			continue
		}
		children = append(children, r.Name)
		if r.Parent != component.URN {
			t.Errorf("%s %s has parent %q, want the identity component", r.Type, r.Name, r.Parent)
		}
	}
	sort.Strings(children)
	want := []string{"identity-github"}
	for _, tag := range identityRoleTags {
		want = append(want, "identity-"+tag, "identity-"+tag+"-access", "identity-"+tag+"-state")
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, children); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
}

// TestIdentityTrustAdmitsOnlyTheGatedEnvironmentOrPullRequests checks the
// trust of every role directly, independently of the policy rules.
func TestIdentityTrustAdmitsOnlyTheGatedEnvironmentOrPullRequests(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			run := runIdentity(t, stack, nil)
			provider := "arn:aws:iam::" + run.cfg.AccountID + ":oidc-provider/token.actions.githubusercontent.com"
			for _, tag := range identityRoleTags {
				sub := "repo:experts-app/experts:environment:" + stack + "-" + strings.TrimSuffix(tag, "-deploy")
				if tag == "preview" {
					sub = "repo:experts-app/experts:pull_request"
				}
				want := NewPolicyDocument(Statement{
					Sid:       "GitHubJobs",
					Effect:    "Allow",
					Principal: map[string]StringOrList{"Federated": {provider}},
					Action:    StringOrList{"sts:AssumeRoleWithWebIdentity"},
					Condition: map[string]map[string]any{"StringEquals": {
						"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
						"token.actions.githubusercontent.com:sub": sub,
					}},
				})
				if diff := cmp.Diff(want, run.trust(t, tag)); diff != "" {
					t.Errorf("trust of %s (-want +got):\n%s", tag, diff)
				}
				if got := run.role(t, tag).Inputs["maxSessionDuration"]; got != float64(run.cfg.Identity.MaxSessionSeconds) {
					t.Errorf("%s maxSessionDuration = %v, want %d", tag, got, run.cfg.Identity.MaxSessionSeconds)
				}
			}
		})
	}
}

func TestIdentityDevBranchPatternsReachOnlyTheDevDeployRoles(t *testing.T) {
	run := runIdentity(t, "dev", func(v map[string]string) {
		v[KeyGitHub] = `{"owner":"experts-app","repo":"experts","subjectFormat":"name","devBranchPatterns":["feature/*","main"]}`
	})
	for _, tag := range identityRoleTags {
		var patterns []Statement
		for _, st := range run.trust(t, tag).Statement {
			if _, ok := st.Condition["StringLike"]; ok {
				patterns = append(patterns, st)
			}
		}
		deploy := strings.HasSuffix(tag, "-deploy")
		if !deploy {
			if len(patterns) > 0 {
				t.Errorf("%s trusts branch patterns: %+v", tag, patterns)
			}
			continue
		}
		if len(patterns) != 1 {
			t.Fatalf("%s has %d StringLike statements, want 1", tag, len(patterns))
		}
		want := map[string]map[string]any{
			"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
			"StringLike": {"token.actions.githubusercontent.com:sub": []any{
				"repo:experts-app/experts:ref:refs/heads/feature/*",
				"repo:experts-app/experts:ref:refs/heads/main",
			}},
		}
		if diff := cmp.Diff(want, patterns[0].Condition); diff != "" {
			t.Errorf("%s branch condition (-want +got):\n%s", tag, diff)
		}
	}
	if got := policy.MandatoryOnly(run.violations(identityRules)); len(got) > 0 {
		t.Errorf("mandatory violations with dev branch patterns:\n%v", got)
	}
}

func TestIdentityUsesTheImmutableSubjectFormat(t *testing.T) {
	run := runIdentity(t, "prod", func(v map[string]string) {
		v[KeyGitHub] = `{"owner":"experts-app","repo":"experts","subjectFormat":"id","ownerId":"1234567","repoId":"89012345"}`
	})
	subs := run.trust(t, "infra").Statement[0].Condition["StringEquals"]["token.actions.githubusercontent.com:sub"]
	if want := "repo:experts-app@1234567/experts@89012345:environment:prod-infra"; subs != want {
		t.Errorf("infra sub = %v, want %s", subs, want)
	}
	subs = run.trust(t, "preview").Statement[0].Condition["StringEquals"]["token.actions.githubusercontent.com:sub"]
	if want := "repo:experts-app@1234567/experts@89012345:pull_request"; subs != want {
		t.Errorf("preview sub = %v, want %s", subs, want)
	}
}

func TestIdentityReusesTheConfiguredProvider(t *testing.T) {
	const arn = "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com"
	run := runIdentity(t, "dev", func(v map[string]string) {
		setJSON(t, v, KeyIdentity, "oidcProviderArn", arn)
	})
	if got := run.ofType(identityOIDCProviderType); len(got) != 0 {
		t.Errorf("declared %d OIDC providers, want none (the account's is reused)", len(got))
	}
	if got := run.outputs["oidcProviderArn"]; got != arn {
		t.Errorf("oidcProviderArn = %q, want %q", got, arn)
	}
	for _, tag := range identityRoleTags {
		if got := run.trust(t, tag).Statement[0].Principal["Federated"]; !slices.Equal(got, StringOrList{arn}) {
			t.Errorf("%s trusts %v, want %s", tag, got, arn)
		}
	}
	for _, st := range run.statements(t, "infra") {
		if st.Sid == "GitHubProvider" {
			t.Error("the infra role may change a provider this stack does not manage")
		}
	}
}

func TestIdentityWithoutStateBackendHasNoStatePolicies(t *testing.T) {
	run := runIdentity(t, "dev", func(v map[string]string) {
		setJSON(t, v, KeyIdentity, "stateBucket", nil)
		setJSON(t, v, KeyIdentity, "stateKmsKeyArn", nil)
	})
	for _, tag := range identityRoleTags {
		if got := sortedKeys(run.policies(t, tag)); len(got) != 1 || !strings.HasSuffix(got[0], "-access") {
			t.Errorf("%s policies = %v, want only its access policy", tag, got)
		}
	}
}

// TestIdentityRulesHoldForEveryRole runs the mandatory rules over the
// identity in every configuration the stacks allow.
func TestIdentityRulesHoldForEveryRole(t *testing.T) {
	if err := policy.Validate(identityRules); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stack  string
		mutate func(v map[string]string)
	}{
		{"dev as configured", "dev", nil},
		{"prod as configured", "prod", nil},
		{"dev with branch patterns", "dev", func(v map[string]string) {
			v[KeyGitHub] = `{"owner":"experts-app","repo":"experts","subjectFormat":"name","devBranchPatterns":["feature/*"]}`
		}},
		{"prod reusing the account's provider", "prod", func(v map[string]string) {
			v[KeyIdentity] = `{"oidcProviderArn":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := runIdentity(t, tt.stack, tt.mutate)
			if got := run.violations(identityRules); len(got) > 0 {
				t.Errorf("violations:\n%v", got)
			}
			if got := len(identityGitHubRoles(&policy.Stack{Resources: run.resources})); got != len(identityRoleTags) {
				t.Errorf("the rules see %d GitHub roles, want %d", got, len(identityRoleTags))
			}
		})
	}
}

// TestIdentityDeployRolesTouchOnlyTheirOwnResources checks properties of
// the deploy policies directly, independently of the rules and golden files.
func TestIdentityDeployRolesTouchOnlyTheirOwnResources(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			run := runIdentity(t, stack, nil)
			args := identityTestArgs(run.cfg)
			for _, svc := range Services {
				other := ServiceMCP
				if svc == ServiceMCP {
					other = ServiceAPI
				}
				var runTask, passRole []Statement
				for _, st := range run.statements(t, svc+"-deploy") {
					for _, res := range st.Resource {
						if res == "*" {
							for _, a := range st.Action {
								if !slices.Contains(identityStarActions, a) {
									t.Errorf("%s deploy grants %s on *", svc, a)
								}
							}
						}
						if strings.Contains(res, "/"+other) || strings.Contains(res, "-"+other) {
							t.Errorf("%s deploy reaches %s of the %s service", svc, res, other)
						}
					}
					for _, a := range st.Action {
						if strings.Contains(a, "*") {
							t.Errorf("%s deploy grants the wildcard action %s", svc, a)
						}
					}
					if slices.Contains(st.Action, "ecs:RunTask") {
						runTask = append(runTask, st)
					}
					if slices.Contains(st.Action, "iam:PassRole") {
						passRole = append(passRole, st)
					}
				}
				if len(passRole) != 1 {
					t.Fatalf("%s deploy has %d PassRole statements, want 1", svc, len(passRole))
				}
				wantRoles := StringOrList{
					fmt.Sprintf("arn:aws:iam::%s:role/%s", run.cfg.AccountID, run.cfg.Name(svc, "task")),
					fmt.Sprintf("arn:aws:iam::%s:role/%s", run.cfg.AccountID, run.cfg.Name(svc, "execution")),
				}
				if diff := cmp.Diff(wantRoles, passRole[0].Resource); diff != "" {
					t.Errorf("%s PassRole resources (-want +got):\n%s", svc, diff)
				}
				if got := passRole[0].Condition["StringEquals"]["iam:PassedToService"]; got != "ecs-tasks.amazonaws.com" {
					t.Errorf("%s PassRole passed to %v", svc, got)
				}
				switch {
				case args.Services[svc].MigrationFamily == "" && len(runTask) > 0:
					t.Errorf("%s deploy may run tasks but has no migration", svc)
				case args.Services[svc].MigrationFamily != "":
					if len(runTask) != 1 {
						t.Fatalf("%s deploy has %d RunTask statements, want 1", svc, len(runTask))
					}
					want := fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:*", run.cfg.Region, run.cfg.AccountID, run.cfg.Name(svc, "migrate"))
					if !slices.Equal(runTask[0].Resource, StringOrList{want}) {
						t.Errorf("%s RunTask on %v, want %s", svc, runTask[0].Resource, want)
					}
					cluster := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", run.cfg.Region, run.cfg.AccountID, run.cfg.Name())
					if got := runTask[0].Condition["ArnEquals"]["ecs:cluster"]; got != cluster {
						t.Errorf("%s RunTask cluster condition = %v, want %s", svc, got, cluster)
					}
				}
			}
		})
	}
}

// TestIdentityPoliciesFitIAMLimits keeps every role under IAM's 10,240
// characters of inline policy per role (whitespace not counted).
func TestIdentityPoliciesFitIAMLimits(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		run := runIdentity(t, stack, nil)
		for _, tag := range identityRoleTags {
			total := 0
			for _, doc := range run.policies(t, tag) {
				text, err := doc.JSON()
				if err != nil {
					t.Fatal(err)
				}
				total += len(strings.Join(strings.Fields(text), ""))
			}
			if total > 10240 {
				t.Errorf("%s %s: inline policies total %d characters, IAM accepts 10240", stack, tag, total)
			}
		}
	}
}

func TestIdentityRefusesIncompleteArgs(t *testing.T) {
	tests := []struct {
		name   string
		change func(a *IdentityArgs)
		want   string
	}{
		{"fails without config", func(a *IdentityArgs) { a.Config = nil }, "args.Config is required"},
		{"fails without the cluster", func(a *IdentityArgs) { a.ClusterArn = nil }, "args.ClusterArn is required"},
		{"fails without a service", func(a *IdentityArgs) { delete(a.Services, ServiceMCP) }, `args.Services["mcp"] is required`},
		{"fails on an unknown service", func(a *IdentityArgs) { a.Services["worker"] = a.Services[ServiceAPI] }, `args.Services["worker"]: unknown service`},
		{"fails without a task role", func(a *IdentityArgs) {
			s := a.Services[ServiceAPI]
			s.TaskRoleArn = nil
			a.Services[ServiceAPI] = s
		}, `args.Services["api"].TaskRoleArn is required`},
		{"fails on a bad family", func(a *IdentityArgs) {
			s := a.Services[ServiceAPI]
			s.MigrationFamily = "api:*"
			a.Services[ServiceAPI] = s
		}, `MigrationFamily "api:*" is not a task definition family`},
		{"fails on a secret of another account", func(a *IdentityArgs) {
			s := a.Services[ServiceMCP]
			s.SecretArns = []string{"arn:aws:secretsmanager:eu-west-1:999999999999:secret:x-Ab12Cd"}
			a.Services[ServiceMCP] = s
		}, "is not a secret or parameter ARN in eu-west-1, account 210987654321"},
		{"fails without the site", func(a *IdentityArgs) { a.Site = SiteTargets{} }, "args.Site.BucketArn and args.Site.DistributionArn are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tryRunStack(t, "dev", nil, func(ctx *pulumi.Context, cfg *Config) error {
				args := identityTestArgs(cfg)
				tt.change(args)
				_, err := NewIdentity(ctx, "identity", args)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestIdentityBadConfigIsAConfigErrorNamingTheKey runs the identity with
// configs GitHub or IAM could not honor: the run fails before declaring
// anything, with a *ConfigError for the key (exit 2 in preview).
func TestIdentityBadConfigIsAConfigErrorNamingTheKey(t *testing.T) {
	github := func(fields string) func(v map[string]string) {
		return func(v map[string]string) { v[KeyGitHub] = `{"subjectFormat":"name",` + fields + `}` }
	}
	tests := []struct {
		name    string
		stack   string
		mutate  func(v map[string]string)
		wantKey string
	}{
		{"fails when the owner has a space", "dev", github(`"owner":"experts app","repo":"experts"`), KeyGitHub + ".owner"},
		{"fails when the owner has a slash", "dev", github(`"owner":"experts/app","repo":"experts"`), KeyGitHub + ".owner"},
		{"fails when the owner is a wildcard", "prod", github(`"owner":"*","repo":"experts"`), KeyGitHub + ".owner"},
		{"fails when the repository is empty", "dev", github(`"owner":"experts-app","repo":""`), KeyGitHub + ".repo"},
		{"fails when the repository has a colon", "dev", github(`"owner":"experts-app","repo":"experts:pull_request"`), KeyGitHub + ".repo"},
		{"fails when the repository is a wildcard", "dev", github(`"owner":"experts-app","repo":"exp*"`), KeyGitHub + ".repo"},
		{"fails on branch patterns in prod", "prod", github(`"owner":"experts-app","repo":"experts","devBranchPatterns":["main"]`),
			KeyGitHub + ".devBranchPatterns"},
		{"fails on a bare wildcard branch pattern", "dev", github(`"owner":"experts-app","repo":"experts","devBranchPatterns":["*"]`),
			KeyGitHub + ".devBranchPatterns[0]"},
		{"fails when the account id is not 12 digits", "dev", func(v map[string]string) { v[KeyAccountID] = "21098765432" }, KeyAccountID},
		{"fails when the session is shorter than IAM allows", "dev", func(v map[string]string) {
			setJSON(t, v, KeyIdentity, "maxSessionSeconds", 900)
		}, KeyIdentity + ".maxSessionSeconds"},
		{"fails when the provider is another account's", "dev", func(v map[string]string) {
			setJSON(t, v, KeyIdentity, "oidcProviderArn", "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com")
		}, KeyIdentity + ".oidcProviderArn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			declared := false
			run, err := tryRunStack(t, tt.stack, tt.mutate, func(ctx *pulumi.Context, cfg *Config) error {
				declared = true
				_, err := NewIdentity(ctx, "identity", identityTestArgs(cfg))
				return err
			})
			if err == nil {
				t.Fatal("run succeeded, want a config error")
			}
			var keys []string
			for _, e := range identityFlatten(err) {
				var ce *ConfigError
				if errors.As(e, &ce) {
					keys = append(keys, ce.Key)
				}
			}
			if !slices.Contains(keys, tt.wantKey) {
				t.Errorf("config errors name %v, want %s; error: %v", keys, tt.wantKey, err)
			}
			if !strings.Contains(err.Error(), "config "+tt.wantKey) {
				t.Errorf("message does not name %s: %v", tt.wantKey, err)
			}
			if declared || len(run.resources) > 0 {
				t.Errorf("declared %d resources despite the bad config", len(run.resources))
			}
		})
	}
}

// identityFlatten returns err and every error it wraps, joined ones
// included.
func identityFlatten(err error) []error {
	out := []error{err}
	switch e := err.(type) { //nolint:errorlint // walking the tree itself
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			out = append(out, identityFlatten(inner)...)
		}
	case interface{ Unwrap() error }:
		if inner := e.Unwrap(); inner != nil {
			out = append(out, identityFlatten(inner)...)
		}
	}
	return out
}

// Builders of hand-made resources for the negative rule tests.

func ruleTrust(subs map[string][]string) PolicyDocument {
	cond := map[string]map[string]any{"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
	for op, values := range subs {
		if cond[op] == nil {
			cond[op] = map[string]any{}
		}
		cond[op]["token.actions.githubusercontent.com:sub"] = values
	}
	return NewPolicyDocument(Statement{
		Effect:    "Allow",
		Principal: map[string]StringOrList{"Federated": {"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}},
		Action:    StringOrList{"sts:AssumeRoleWithWebIdentity"},
		Condition: cond,
	})
}

func ruleDoc(t *testing.T, statements ...Statement) string {
	t.Helper()
	text, err := NewPolicyDocument(statements...).JSON()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func ruleRole(t *testing.T, name, tag string, trust PolicyDocument) policy.Resource {
	t.Helper()
	text, err := trust.JSON()
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]any{"assumeRolePolicy": text, "tags": map[string]any{PipelineTagKey: tag}}
	if name != "" {
		inputs["name"] = name
	}
	return policy.Resource{URN: "urn:role:" + name, Type: identityRoleType, Name: name, Inputs: inputs}
}

func ruleRolePolicy(t *testing.T, role string, statements ...Statement) policy.Resource {
	t.Helper()
	return policy.Resource{URN: "urn:policy:" + role, Type: identityRolePolicyType, Name: role + "-access",
		Inputs: map[string]any{"role": role, "name": role + "-access", "policy": ruleDoc(t, statements...)}}
}

func allow(actions []string, resources ...string) Statement {
	return Statement{Effect: "Allow", Action: actions, Resource: resources}
}

func TestIdentityRulesFire(t *testing.T) {
	const (
		envSub    = "repo:o/r:environment:dev-api"
		prodSub   = "repo:o/r:environment:prod-api"
		infraSub  = "repo:o/r:environment:prod-infra"
		prSub     = "repo:o/r:pull_request"
		branchSub = "repo:o/r:ref:refs/heads/feature/*"
		svcArn    = "arn:aws:ecs:eu-west-1:123456789012:service/c/api"
		taskRole  = "arn:aws:iam::123456789012:role/experts-dev-api-task"
	)
	exact := func(sub string) PolicyDocument { return ruleTrust(map[string][]string{"StringEquals": {sub}}) }
	passCond := map[string]map[string]any{"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
	deployWith := func(env string, statements ...Statement) func(t *testing.T) policy.Stack {
		return func(t *testing.T) policy.Stack {
			sub := envSub
			if env == "prod" {
				sub = prodSub
			}
			return policy.Stack{Environment: env, Resources: []policy.Resource{
				ruleRole(t, "d", "api-deploy", exact(sub)), ruleRolePolicy(t, "d", statements...),
			}}
		}
	}
	roleWith := func(env, tag string, trust PolicyDocument, statements ...Statement) func(t *testing.T) policy.Stack {
		return func(t *testing.T) policy.Stack {
			rs := []policy.Resource{ruleRole(t, "r", tag, trust)}
			if len(statements) > 0 {
				rs = append(rs, ruleRolePolicy(t, "r", statements...))
			}
			return policy.Stack{Environment: env, Resources: rs}
		}
	}
	tests := []struct {
		name  string
		stack func(t *testing.T) policy.Stack
		want  []string
	}{
		// Controls: documents like the identity's pass.
		{"a deploy role scoped to its service passes", deployWith("dev",
			allow([]string{"ecs:UpdateService"}, svcArn),
			allow([]string{"ecr:GetAuthorizationToken", "ecs:ListTasks"}, "*"),
			Statement{Effect: "Allow", Action: StringOrList{"iam:PassRole"}, Resource: StringOrList{taskRole}, Condition: passCond},
		), nil},
		{"a dev deploy role may trust a branch prefix", roleWith("dev", "api-deploy",
			ruleTrust(map[string][]string{"StringEquals": {envSub}, "StringLike": {branchSub}})), nil},
		{"a preview role may read metadata on *", roleWith("dev", "preview", exact(prSub),
			allow([]string{"ec2:Describe*", "ecs:List*", "s3:GetBucketPolicy"}, "*")), nil},
		{"the infra role may manage a service in its region", roleWith("prod", "infra", exact(infraSub),
			allow([]string{"ecs:*"}, "arn:aws:ecs:eu-west-1:123456789012:*"),
			allow([]string{"ecr:PutReplicationConfiguration", "ec2:Describe*"}, "*")), nil},

		// github-trust-has-aud-and-sub
		{"a trust without a sub condition fires", roleWith("dev", "api-deploy", ruleTrust(nil)),
			[]string{RuleGitHubTrustAudSub}},
		{"a trust without an aud condition fires", roleWith("dev", "api-deploy", func() PolicyDocument {
			d := exact(envSub)
			delete(d.Statement[0].Condition["StringEquals"], "token.actions.githubusercontent.com:aud")
			return d
		}()), []string{RuleGitHubTrustAudSub}},
		{"a trust for another audience fires", roleWith("dev", "api-deploy", func() PolicyDocument {
			d := exact(envSub)
			d.Statement[0].Condition["StringEquals"]["token.actions.githubusercontent.com:aud"] = "https://github.com/o"
			return d
		}()), []string{RuleGitHubTrustAudSub}},
		{"a sub under ForAllValues fires", roleWith("dev", "api-deploy",
			ruleTrust(map[string][]string{"ForAllValues:StringLike": {envSub}})), []string{RuleGitHubTrustAudSub, RuleGitHubSubjectFits}},
		{"a federated trust of any issuer without conditions fires", func(t *testing.T) policy.Stack {
			return policy.Stack{Environment: "dev", Resources: []policy.Resource{ruleRole(t, "g", "", NewPolicyDocument(Statement{
				Effect: "Allow", Principal: map[string]StringOrList{"Federated": {"accounts.google.com"}},
				Action: StringOrList{"sts:AssumeRoleWithWebIdentity"},
			}))}}
		}, []string{RuleGitHubTrustAudSub}},

		// github-trust-no-wildcard-sub
		{"a wildcard repository fires", roleWith("dev", "api-deploy",
			ruleTrust(map[string][]string{"StringLike": {"repo:o/*"}})), []string{RuleGitHubNoWildcardSub, RuleGitHubSubjectFits}},
		{"a bare wildcard subject fires", roleWith("dev", "api-deploy",
			ruleTrust(map[string][]string{"StringLike": {"*"}})), []string{RuleGitHubNoWildcardSub, RuleGitHubSubjectFits}},
		{"a branch pattern in prod fires", roleWith("prod", "api-deploy",
			ruleTrust(map[string][]string{"StringEquals": {prodSub}, "StringLike": {branchSub}})),
			[]string{RuleGitHubNoWildcardSub, RuleGitHubSubjectFits}},
		{"StringLike on the sub in prod fires even without a wildcard", roleWith("prod", "infra",
			ruleTrust(map[string][]string{"StringLike": {infraSub}})), []string{RuleGitHubNoWildcardSub, RuleGitHubSubjectFits}},

		// github-trust-subject-fits-pipeline
		{"a preview role reachable from the environment fires", roleWith("dev", "preview", exact(envSub)),
			[]string{RuleGitHubSubjectFits}},
		{"an infra role reachable from pull requests fires", roleWith("dev", "infra", exact(prSub)),
			[]string{RuleGitHubSubjectFits}},
		{"an infra role reachable from an exact branch fires", roleWith("dev", "infra", exact("repo:o/r:ref:refs/heads/main")),
			[]string{RuleGitHubSubjectFits}},
		{"a prod deploy role reachable from an exact branch fires", roleWith("prod", "api-deploy", exact("repo:o/r:ref:refs/heads/main")),
			[]string{RuleGitHubSubjectFits}},
		{"a deploy role reachable from pull requests fires", roleWith("dev", "mcp-deploy", exact(prSub)),
			[]string{RuleGitHubSubjectFits}},
		{"a deploy role reachable from another pipeline's environment fires", roleWith("dev", "mcp-deploy", exact(envSub)),
			[]string{RuleGitHubSubjectFits}},
		{"a deploy role reachable from the stack's shared environment fires", roleWith("dev", "api-deploy", exact("repo:o/r:environment:dev")),
			[]string{RuleGitHubSubjectFits}},
		{"an infra role reachable from a deploy pipeline's environment fires", roleWith("prod", "infra", exact(prodSub)),
			[]string{RuleGitHubSubjectFits}},

		// roles-carry-permissions-boundary
		{"a deploy role without the boundary fires", func(t *testing.T) policy.Stack {
			r := ruleRole(t, "d", "api-deploy", exact(envSub))
			r.Inputs["permissionsBoundary"] = ""
			return policy.Stack{Environment: "dev", Resources: []policy.Resource{r}}
		}, []string{RulePermissionsBoundary}},
		{"a role with another environment's boundary fires", func(t *testing.T) policy.Stack {
			r := ruleRole(t, "d", "api-deploy", exact(envSub))
			r.Inputs["permissionsBoundary"] = "arn:aws:iam::123456789012:policy/experts-prod-boundary"
			return policy.Stack{Environment: "dev", Resources: []policy.Resource{r}}
		}, []string{RulePermissionsBoundary}},
		{"the infra role needs no boundary", func(t *testing.T) policy.Stack {
			r := ruleRole(t, "i", "infra", exact(infraSub))
			r.Inputs["permissionsBoundary"] = ""
			return policy.Stack{Environment: "prod", Resources: []policy.Resource{r}}
		}, nil},

		// github-roles-resource-star-limited
		{"a deploy role reading objects on * fires", deployWith("dev", allow([]string{"s3:GetObject"}, "*")),
			[]string{RuleGitHubResourceStar}},
		{"a deploy role reading metadata on * fires", deployWith("dev", allow([]string{"ecs:DescribeServices"}, "*")),
			[]string{RuleGitHubResourceStar}},
		{"a deploy role with NotResource fires", deployWith("dev",
			Statement{Effect: "Allow", Action: StringOrList{"ecs:UpdateService"}, NotResource: StringOrList{svcArn}}),
			[]string{RuleGitHubResourceStar}},
		{"a preview role reading secrets on * fires", roleWith("dev", "preview", exact(prSub),
			allow([]string{"secretsmanager:GetSecretValue"}, "*")), []string{RuleGitHubResourceStar}},
		{"a preview role reading parameters through a wildcard fires", roleWith("dev", "preview", exact(prSub),
			allow([]string{"ssm:Get*"}, "*")), []string{RuleGitHubResourceStar}},
		{"a deploy role with the infra's account-level write fires", deployWith("dev",
			allow([]string{"ecr:PutReplicationConfiguration"}, "*")), []string{RuleGitHubResourceStar}},
		{"a preview role with the infra's account-level write fires", roleWith("dev", "preview", exact(prSub),
			allow([]string{"ecr:PutRegistryPolicy"}, "*")), []string{RuleGitHubResourceStar}},
		{"a preview role writing on * fires", roleWith("dev", "preview", exact(prSub),
			allow([]string{"ecs:UpdateService"}, "*")), []string{RuleGitHubResourceStar}},
		{"an infra role writing on * fires", roleWith("prod", "infra", exact(infraSub),
			allow([]string{"ec2:CreateVpc"}, "*")), []string{RuleGitHubResourceStar}},
		{"a preview role with NotAction fires", roleWith("dev", "preview", exact(prSub),
			Statement{Effect: "Allow", NotAction: StringOrList{"iam:*"}, Resource: StringOrList{"arn:aws:s3:::b"}}),
			[]string{RuleGitHubResourceStar}},

		// deploy-roles-exact-actions
		{"a deploy role with service:* fires", deployWith("dev", allow([]string{"ecs:*"}, svcArn)),
			[]string{RuleDeployRolesExactActions}},
		{"a deploy role with a verb wildcard fires", deployWith("dev", allow([]string{"ecs:Update*"}, svcArn)),
			[]string{RuleDeployRolesExactActions}},
		{"a deploy role with Action * fires", deployWith("dev", allow([]string{"*"}, svcArn)),
			[]string{RuleDeployRolesExactActions, RulePassRoleScoped}},
		{"a deploy role with NotAction fires", deployWith("dev",
			Statement{Effect: "Allow", NotAction: StringOrList{"iam:PassRole"}, Resource: StringOrList{svcArn}}),
			[]string{RuleDeployRolesExactActions, RuleGitHubResourceStar}},
		{"a role that is not tagged counts as a deploy role", roleWith("dev", "", exact(envSub), allow([]string{"ecs:*"}, svcArn)),
			[]string{RuleDeployRolesExactActions, RuleGitHubSubjectFits}},

		// passrole-scoped-to-service
		{"PassRole on * fires", func(t *testing.T) policy.Stack {
			return policy.Stack{Environment: "dev", Resources: []policy.Resource{{URN: "urn:p", Type: identityPolicyType, Name: "p",
				Inputs: map[string]any{"policy": ruleDoc(t, Statement{Effect: "Allow", Action: StringOrList{"iam:PassRole"},
					Resource: StringOrList{"*"}, Condition: passCond})}}}}
		}, []string{RulePassRoleScoped}},
		{"PassRole on every role fires", func(t *testing.T) policy.Stack {
			return policy.Stack{Environment: "dev", Resources: []policy.Resource{{URN: "urn:p", Type: identityPolicyType, Name: "p",
				Inputs: map[string]any{"policy": ruleDoc(t, Statement{Effect: "Allow", Action: StringOrList{"iam:PassRole"},
					Resource: StringOrList{"arn:aws:iam::123456789012:role/*"}, Condition: passCond})}}}}
		}, []string{RulePassRoleScoped}},
		{"PassRole without PassedToService fires", deployWith("dev", allow([]string{"iam:PassRole"}, taskRole)),
			[]string{RulePassRoleScoped}},
		{"PassRole through iam:* fires on any role's inline policy", func(t *testing.T) policy.Stack {
			task := policy.Resource{URN: "urn:task", Type: identityRoleType, Name: "task", Inputs: map[string]any{
				"assumeRolePolicy": ruleDoc(t, Statement{Effect: "Allow", Principal: map[string]StringOrList{"Service": {"ecs-tasks.amazonaws.com"}},
					Action: StringOrList{"sts:AssumeRole"}}),
				"inlinePolicies": []any{map[string]any{"name": "x", "policy": ruleDoc(t, allow([]string{"iam:*"}, taskRole))}},
			}}
			return policy.Stack{Environment: "dev", Resources: []policy.Resource{task}}
		}, []string{RulePassRoleScoped}},
		{"PassRole to any service fires", deployWith("dev", Statement{Effect: "Allow", Action: StringOrList{"iam:PassRole"},
			Resource: StringOrList{taskRole}, Condition: map[string]map[string]any{"StringLike": {"iam:PassedToService": "*"}}}),
			[]string{RulePassRoleScoped}},

		// github-roles-inline-policies-only
		{"a managed policy attached to a GitHub role fires", func(t *testing.T) policy.Stack {
			return policy.Stack{Environment: "dev", Resources: []policy.Resource{
				ruleRole(t, "p", "preview", exact(prSub)),
				{URN: "urn:att", Type: identityRoleAttachmentType, Name: "att",
					Inputs: map[string]any{"role": "p", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}},
			}}
		}, []string{RuleGitHubInlinePolicies}},
		{"managedPolicyArns on a GitHub role fires", func(t *testing.T) policy.Stack {
			r := ruleRole(t, "p", "preview", exact(prSub))
			r.Inputs["managedPolicyArns"] = []any{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
			return policy.Stack{Environment: "dev", Resources: []policy.Resource{r}}
		}, []string{RuleGitHubInlinePolicies}},
		{"an unnamed GitHub role fires", func(t *testing.T) policy.Stack {
			return policy.Stack{Environment: "dev", Resources: []policy.Resource{ruleRole(t, "", "api-deploy", exact(envSub))}}
		}, []string{RuleGitHubInlinePolicies}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := tt.stack(t)
			for _, r := range stack.Resources {
				if _, set := r.Inputs["permissionsBoundary"]; r.Type == identityRoleType && !set {
					r.Inputs["permissionsBoundary"] = "arn:aws:iam::123456789012:policy/experts-" + stack.Environment + "-boundary"
				}
			}
			fired := map[string]bool{}
			var messages []string
			for _, v := range policy.Evaluate(identityRules, &stack) {
				fired[v.Policy] = true
				messages = append(messages, v.Policy+": "+v.Message)
				if v.Enforcement != policy.Mandatory {
					t.Errorf("%s is %s, want mandatory", v.Policy, v.Enforcement)
				}
			}
			got := sortedKeys(fired)
			want := slices.Clone(tt.want)
			sort.Strings(want)
			if diff := cmp.Diff(want, got, cmpEmpty); diff != "" {
				t.Errorf("fired rules (-want +got):\n%s\nmessages:\n%s", diff, strings.Join(messages, "\n"))
			}
		})
	}
}

// cmpEmpty treats a nil and an empty list as equal.
var cmpEmpty = cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func TestIdentityRuleMessagesSayWhatIsWrong(t *testing.T) {
	stack := policy.Stack{Environment: "prod", Resources: []policy.Resource{
		ruleRole(t, "d", "api-deploy", ruleTrust(map[string][]string{"StringLike": {"repo:o/r:environment:*"}})),
		ruleRolePolicy(t, "d", allow([]string{"iam:PassRole"}, "*")),
	}}
	var got []string
	for _, v := range policy.Evaluate(identityRules, &stack) {
		got = append(got, v.Message)
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		`trusts the wildcard subject "repo:o/r:environment:*" in prod`,
		"with StringLike in prod",
		`grants iam:PassRole on "*"`,
		"without an iam:PassedToService condition",
		`grants iam:PassRole on Resource "*"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("messages lack %q:\n%s", want, text)
		}
	}
}

func TestIdentityGlobMatchesLikeIAM(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"iam:PassRole", "iam:passrole", true},
		{"iam:*", "iam:PassRole", true},
		{"iam:Pass*", "iam:PassRole", true},
		{"*", "iam:PassRole", true},
		{"iam:P?ssRole", "iam:PassRole", true},
		{"iam:Get*", "iam:PassRole", false},
		{"s3:Get*", "s3:GetObject", true},
		{"s3:GetBucket*", "s3:GetObject", false},
		{"ssm:GetParameter", "ssm:GetParameters", false},
	}
	for _, tt := range tests {
		if got := identityGlobMatch(tt.pattern, tt.action); got != tt.want {
			t.Errorf("identityGlobMatch(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}
