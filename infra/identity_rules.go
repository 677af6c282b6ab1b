package infra

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/experts/platform/infra/policy"
)

// Rule names of the identity's mandatory policy rules.
const (
	RuleGitHubTrustAudSub       = "github-trust-has-aud-and-sub"
	RuleGitHubNoWildcardSub     = "github-trust-no-wildcard-sub"
	RuleGitHubSubjectFits       = "github-trust-subject-fits-pipeline"
	RuleGitHubResourceStar      = "github-roles-resource-star-limited"
	RuleDeployRolesExactActions = "deploy-roles-exact-actions"
	RulePassRoleScoped          = "passrole-scoped-to-service"
	RuleGitHubInlinePolicies    = "github-roles-inline-policies-only"
	RulePermissionsBoundary     = "roles-carry-permissions-boundary"
)

// Type tokens the identity rules look at.
const (
	identityRoleType             = "aws:iam/role:Role"
	identityRolePolicyType       = "aws:iam/rolePolicy:RolePolicy"
	identityPolicyType           = "aws:iam/policy:Policy"
	identityUserPolicyType       = "aws:iam/userPolicy:UserPolicy"
	identityGroupPolicyType      = "aws:iam/groupPolicy:GroupPolicy"
	identityRoleAttachmentType   = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	identityPolicyAttachmentType = "aws:iam/policyAttachment:PolicyAttachment"
)

// identityStarActions are the only actions any GitHub role may hold on
// Resource "*": AWS cannot scope them to a resource. The program itself
// calls ec2:DescribeAvailabilityZones (the awsx Vpc), so every role that
// runs it needs that one; a release's failure bundle reads target health;
// ListTasks without a container instance is authorized on "*" (and held
// with the ecs:cluster condition).
var identityStarActions = []string{
	"ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition", "ecs:ListTasks", "ec2:DescribeAvailabilityZones",
	"elasticloadbalancing:DescribeTargetHealth",
}

// identityInfraStarActions are the account-level writes the infra role may
// hold on "*" (IAM authorizes them on nothing else), besides metadata reads.
var identityInfraStarActions = []string{
	"ecr:PutReplicationConfiguration", "ecr:PutRegistryPolicy", "ecr:DeleteRegistryPolicy",
	"cloudfront:CreateCachePolicy", "cloudfront:CreateDistribution", "cloudfront:CreateFunction",
	"cloudfront:CreateOriginAccessControl", "cloudfront:CreateResponseHeadersPolicy",
}

// identityDataReads are Describe/Get/List actions that return data or
// credentials rather than metadata: a "read-only" grant on "*" must not
// cover them.
var identityDataReads = []string{
	"athena:GetQueryResults", "cloudfront:GetFunction", "codeartifact:GetAuthorizationToken", "codecommit:GetBlob",
	"codecommit:GetFile", "dynamodb:GetItem", "dynamodb:GetRecords", "ec2:GetConsoleOutput", "ec2:GetConsoleScreenshot",
	"ec2:GetPasswordData", "ecr:GetDownloadUrlForLayer", "ecr-public:GetAuthorizationToken", "kinesis:GetRecords",
	"lambda:GetFunction", "logs:GetLogEvents", "logs:GetLogRecord", "logs:GetQueryResults", "s3:GetObject",
	"s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions", "secretsmanager:GetSecretValue", "ssm:GetParameter",
	"ssm:GetParameterHistory", "ssm:GetParameters", "ssm:GetParametersByPath", "sts:GetFederationToken",
	"sts:GetServiceBearerToken", "sts:GetSessionToken",
}

// Kinds of GitHub roles, from PipelineTagKey; anything else is a deploy
// role, the strictest kind.
const (
	githubKindDeploy  = "deploy"
	githubKindInfra   = "infra"
	githubKindPreview = "preview"
)

var identityRules = []policy.Rule{
	{
		Name: RulePermissionsBoundary,
		Description: "Every role but the infra role carries the environment's permissions boundary " +
			"(<project>-<env>-boundary), so that nothing the infra role creates can exceed it.",
		Enforcement: policy.Mandatory,
		Types:       []string{identityRoleType},
		Check: func(s *policy.Stack, r policy.Resource) []string {
			in := policy.InputsOf(r)
			if in.Object("tags").String(PipelineTagKey) == pipelineTagInfra {
				return nil
			}
			want := ":policy/" + Project + "-" + s.Environment + "-boundary"
			got := in.String("permissionsBoundary")
			switch {
			case got == policy.UnknownMarker:
				return nil // the boundary's ARN is not known yet
			case !strings.HasPrefix(got, "arn:aws:iam::") || !strings.HasSuffix(got, want):
				return []string{fmt.Sprintf("role %s has permissions boundary %q, want the environment's (arn:aws:iam::<account>%s)",
					identityOr(in.String("name"), r.Name), got, want)}
			}
			return nil
		},
	},
	{
		Name: RuleGitHubTrustAudSub,
		Description: "Every web-identity trust statement requires the audience (StringEquals, sts.amazonaws.com for GitHub) " +
			"and the subject (StringEquals or StringLike): without a sub condition any GitHub repository could assume the role.",
		Enforcement: policy.Mandatory,
		Types:       []string{identityRoleType},
		Check: func(_ *policy.Stack, r policy.Resource) []string {
			doc, ok, err := identityRoleTrust(r)
			if err != nil {
				return []string{err.Error()}
			}
			if !ok {
				return nil
			}
			var out []string
			for i, st := range doc.Statement {
				if !identityIsWebIdentity(st) {
					continue
				}
				label := identityStatementLabel(i, st)
				hosts := identityFederatedHosts(st)
				if len(hosts) == 0 {
					out = append(out, label+" allows sts:AssumeRoleWithWebIdentity without a Federated principal")
				}
				for _, host := range hosts {
					out = append(out, identityCheckAudSub(label, host, st.Condition)...)
				}
			}
			return out
		},
	},
	{
		Name: RuleGitHubNoWildcardSub,
		Description: "Prod trusts exact subjects only (no StringLike, no wildcard); elsewhere a wildcard may only end a branch " +
			"name after a fixed prefix (repo:OWNER/REPO:ref:refs/heads/PREFIX*), never stand for the owner, repository or claim.",
		Enforcement: policy.Mandatory,
		Types:       []string{identityRoleType},
		Check: func(s *policy.Stack, r policy.Resource) []string {
			doc, ok, err := identityRoleTrust(r)
			if err != nil || !ok {
				return nil // reported by the aud/sub rule
			}
			var out []string
			for i, st := range doc.Statement {
				if !identityIsWebIdentity(st) {
					continue
				}
				label := identityStatementLabel(i, st)
				for _, host := range identityFederatedHosts(st) {
					for op, values := range identityConditionOps(st.Condition, host+":sub") {
						if s.IsProd() && op == "StringLike" {
							out = append(out, fmt.Sprintf("%s matches %s:sub with StringLike in prod: prod trusts exact subjects only", label, host))
						}
						for _, v := range values {
							wild := strings.ContainsAny(v, "*?")
							switch {
							case wild && s.IsProd():
								out = append(out, fmt.Sprintf("%s trusts the wildcard subject %q in prod: prod trusts exact subjects only", label, v))
							case wild && !identityBranchGlob.MatchString(v):
								out = append(out, fmt.Sprintf("%s trusts the wildcard subject %q: a wildcard may only end a branch name "+
									"after a fixed prefix (repo:OWNER/REPO:ref:refs/heads/PREFIX*)", label, v))
							}
						}
					}
				}
			}
			sort.Strings(out)
			return out
		},
	},
	{
		Name: RuleGitHubSubjectFits,
		Description: "The preview role trusts pull requests only; the infra role only its approval-gated environment; deploy " +
			"roles their environment and, in dev only, configured branches. Each environment is the pipeline's own " +
			"(<stack>-<pipeline>, such as dev-api), so that one job reaches one role. Nothing else reaches any of them.",
		Enforcement: policy.Mandatory,
		Types:       []string{identityRoleType},
		Check: func(s *policy.Stack, r policy.Resource) []string {
			role, ok := identityGitHubRoleOf(r)
			if !ok {
				return nil
			}
			var out []string
			for i, st := range role.trust.Statement {
				if !identityIsWebIdentity(st) {
					continue
				}
				label := identityStatementLabel(i, st)
				for _, host := range identityFederatedHosts(st) {
					for op, values := range identityConditionOps(st.Condition, host+":sub") {
						for _, v := range values {
							if msg := identitySubjectProblem(role, s.Environment, s.IsProd(), op, v); msg != "" {
								out = append(out, label+": "+msg)
							}
						}
					}
				}
			}
			sort.Strings(out)
			return out
		},
	},
	{
		Name: RuleGitHubResourceStar,
		Description: `GitHub roles hold Resource "*" only for ecr:GetAuthorizationToken, ` +
			`ecs:DescribeTaskDefinition, ecs:ListTasks, ec2:DescribeAvailabilityZones (which the program calls) and ` +
			`elasticloadbalancing:DescribeTargetHealth (the failure bundle); the preview and infra roles ` +
			`also for metadata reads (never object, secret or log data), ` +
			"and the infra role for the account-level writes and creations IAM cannot scope. No NotAction or NotResource.",
		Enforcement: policy.Mandatory,
		CheckStack: func(s *policy.Stack) []policy.Violation {
			var out []policy.Violation
			for _, role := range identityGitHubRoles(s) {
				for _, d := range identityRoleDocuments(s, role, &out) {
					for i, st := range d.doc.Statement {
						if !strings.EqualFold(st.Effect, "Allow") {
							continue
						}
						label := fmt.Sprintf("%s of role %s, %s", d.label, role.name, identityStatementLabel(i, st))
						if len(st.NotAction) > 0 {
							out = append(out, policy.Violation{URN: d.urn, Message: label + " uses NotAction: it grants every other action; list the actions"})
						}
						if len(st.NotResource) > 0 {
							out = append(out, policy.Violation{URN: d.urn, Message: label + " uses NotResource: it applies to every other resource; list the resources"})
						}
						if !slices.Contains(st.Resource, "*") {
							continue
						}
						for _, action := range st.Action {
							if !identityStarAllowed(role.kind, action) {
								out = append(out, policy.Violation{URN: d.urn, Message: fmt.Sprintf(
									`%s grants %s on Resource "*": scope it to the ARNs it needs`, label, action)})
							}
						}
					}
				}
			}
			return out
		},
	},
	{
		Name:        RuleDeployRolesExactActions,
		Description: `Deploy roles list exact actions: no Action "*", no "service:*", no wildcard, no NotAction.`,
		Enforcement: policy.Mandatory,
		CheckStack: func(s *policy.Stack) []policy.Violation {
			var out []policy.Violation
			for _, role := range identityGitHubRoles(s) {
				if role.kind != githubKindDeploy {
					continue
				}
				for _, d := range identityRoleDocuments(s, role, &out) {
					for i, st := range d.doc.Statement {
						if !strings.EqualFold(st.Effect, "Allow") {
							continue
						}
						label := fmt.Sprintf("%s of deploy role %s, %s", d.label, role.name, identityStatementLabel(i, st))
						if len(st.NotAction) > 0 {
							out = append(out, policy.Violation{URN: d.urn, Message: label + " uses NotAction: list the exact actions"})
						}
						for _, action := range st.Action {
							service, name, _ := strings.Cut(action, ":")
							switch {
							case action == "*":
								out = append(out, policy.Violation{URN: d.urn, Message: label + ` grants Action "*": every action of every service`})
							case name == "*":
								out = append(out, policy.Violation{URN: d.urn, Message: fmt.Sprintf("%s grants %s: every action of %s", label, action, service)})
							case strings.ContainsAny(action, "*?"):
								out = append(out, policy.Violation{URN: d.urn, Message: fmt.Sprintf("%s grants the wildcard action %s: list the exact actions", label, action)})
							}
						}
					}
				}
			}
			return out
		},
	},
	{
		Name: RulePassRoleScoped,
		Description: `iam:PassRole is never granted on "*" or on every role, and always with an iam:PassedToService condition ` +
			"naming the service the roles are for.",
		Enforcement: policy.Mandatory,
		Types: []string{identityRoleType, identityRolePolicyType, identityPolicyType, identityUserPolicyType,
			identityGroupPolicyType},
		Check: func(_ *policy.Stack, r policy.Resource) []string {
			var out []string
			for _, d := range identityDocumentsOf(r, &out) {
				for i, st := range d.doc.Statement {
					if !strings.EqualFold(st.Effect, "Allow") || !identityGrantsPassRole(st) {
						continue
					}
					label := fmt.Sprintf("%s, %s", d.label, identityStatementLabel(i, st))
					if len(st.NotResource) > 0 {
						out = append(out, label+" grants iam:PassRole with NotResource: list the role ARNs")
					}
					for _, res := range st.Resource {
						if res == "*" || strings.HasSuffix(res, ":role/*") || strings.HasSuffix(res, ":*") {
							out = append(out, fmt.Sprintf("%s grants iam:PassRole on %q: every role; list the role ARNs", label, res))
						}
					}
					if !identityHasPassedToService(st.Condition) {
						out = append(out, label+" grants iam:PassRole without an iam:PassedToService condition (StringEquals, such as ecs-tasks.amazonaws.com)")
					}
				}
			}
			return out
		},
	},
	{
		Name: RuleGitHubInlinePolicies,
		Description: "GitHub roles are named and carry only inline policies of this stack, so that every statement they " +
			"hold is reviewed and checked here; managed policy attachments are refused.",
		Enforcement: policy.Mandatory,
		CheckStack: func(s *policy.Stack) []policy.Violation {
			var out []policy.Violation
			for _, role := range identityGitHubRoles(s) {
				if role.name == "" {
					out = append(out, policy.Violation{URN: role.res.URN, Message: "GitHub role has no explicit name: its policies cannot be matched and checked"})
					continue
				}
				for _, arn := range policy.Strings(role.res.Inputs["managedPolicyArns"]) {
					out = append(out, policy.Violation{URN: role.res.URN, Message: fmt.Sprintf(
						"GitHub role %s attaches the managed policy %s: use an inline policy of this stack", role.name, arn)})
				}
				for _, r := range s.Resources {
					attached := false
					switch r.Type {
					case identityRoleAttachmentType:
						attached = r.Inputs["role"] == role.name
					case identityPolicyAttachmentType:
						attached = slices.Contains(policy.Strings(r.Inputs["roles"]), role.name)
					}
					if attached {
						out = append(out, policy.Violation{URN: r.URN, Message: fmt.Sprintf(
							"attaches the managed policy %v to GitHub role %s: use an inline policy of this stack", r.Inputs["policyArn"], role.name)})
					}
				}
			}
			return out
		},
	},
}

// identityPassedToECSTasks is the condition that lets roles be passed to
// ECS tasks only.
func identityPassedToECSTasks() map[string]map[string]any {
	return identityCondition("StringEquals", "iam:PassedToService", "ecs-tasks.amazonaws.com")
}

// identityCondition is a policy condition with one operator and key.
func identityCondition(op, key string, value any) map[string]map[string]any {
	return map[string]map[string]any{op: {key: value}}
}

// identityBranchGlob is the only wildcard subject allowed (outside prod):
// a branch name prefix of the named repository.
var identityBranchGlob = regexp.MustCompile(`^repo:[^*?:]+:ref:refs/heads/[^*?]+\*$`)

// identityGitHubRole is a role that GitHub Actions can assume, as the rules
// see it.
type identityGitHubRole struct {
	res  policy.Resource
	name string
	kind string
	// pipeline is the pipeline the role's tag names: "api" for
	// "api-deploy", "infra", "preview"; "" when untagged.
	pipeline string
	trust    PolicyDocument
}

// identityGitHubRoles returns the stack's roles whose trust admits
// GitHub's OIDC provider.
func identityGitHubRoles(s *policy.Stack) []identityGitHubRole {
	var out []identityGitHubRole
	for _, r := range s.OfType(identityRoleType) {
		if role, ok := identityGitHubRoleOf(r); ok {
			out = append(out, role)
		}
	}
	return out
}

func identityGitHubRoleOf(r policy.Resource) (identityGitHubRole, bool) {
	if r.Type != identityRoleType {
		return identityGitHubRole{}, false
	}
	doc, ok, err := identityRoleTrust(r)
	if err != nil || !ok {
		return identityGitHubRole{}, false
	}
	github := false
	for _, st := range doc.Statement {
		if identityIsWebIdentity(st) && slices.Contains(identityFederatedHosts(st), GitHubOIDCHost) {
			github = true
		}
	}
	if !github {
		return identityGitHubRole{}, false
	}
	name, _ := r.Inputs["name"].(string)
	kind := githubKindDeploy
	tag := policy.InputsOf(r).Object("tags").String(PipelineTagKey)
	switch tag {
	case pipelineTagInfra:
		kind = githubKindInfra
	case pipelineTagPreview:
		kind = githubKindPreview
	}
	pipeline, _ := strings.CutSuffix(tag, "-deploy")
	return identityGitHubRole{res: r, name: name, kind: kind, pipeline: pipeline, trust: doc}, true
}

// identityRoleTrust parses a role's trust policy; ok is false while the
// document is not known yet.
func identityRoleTrust(r policy.Resource) (PolicyDocument, bool, error) {
	text, ok := r.Inputs["assumeRolePolicy"].(string)
	if !ok || text == "" || strings.HasPrefix(text, "[") {
		return PolicyDocument{}, false, nil
	}
	doc, err := ParsePolicyDocument(text)
	if err != nil {
		return doc, false, fmt.Errorf("trust policy of %s: %w", r.Name, err)
	}
	return doc, true, nil
}

// identityDocument is one permissions policy as a rule sees it.
type identityDocument struct {
	urn, label string
	doc        PolicyDocument
}

// identityDocumentsOf returns the permissions policies a resource holds:
// the document of a policy resource, or a role's inline policies. Problems
// parsing them are appended to problems.
func identityDocumentsOf(r policy.Resource, problems *[]string) []identityDocument {
	var texts []struct{ label, text string }
	switch r.Type {
	case identityRoleType:
		list, _ := r.Inputs["inlinePolicies"].([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			text, _ := m["policy"].(string)
			name, _ := m["name"].(string)
			texts = append(texts, struct{ label, text string }{"inline policy " + name + " of " + r.Name, text})
		}
	default:
		text, _ := r.Inputs["policy"].(string)
		name, _ := r.Inputs["name"].(string)
		texts = append(texts, struct{ label, text string }{"policy " + identityOr(name, r.Name), text})
	}
	var out []identityDocument
	for _, t := range texts {
		if t.text == "" || strings.HasPrefix(t.text, "[") {
			continue // not known yet
		}
		doc, err := ParsePolicyDocument(t.text)
		if err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: %v", t.label, err))
			continue
		}
		out = append(out, identityDocument{urn: r.URN, label: t.label, doc: doc})
	}
	return out
}

// identityRoleDocuments returns the inline policies of a GitHub role:
// RolePolicy resources naming it, and the role's own inlinePolicies.
func identityRoleDocuments(s *policy.Stack, role identityGitHubRole, violations *[]policy.Violation) []identityDocument {
	var problems []string
	docs := identityDocumentsOf(role.res, &problems)
	for _, r := range s.OfType(identityRolePolicyType) {
		if role.name != "" && r.Inputs["role"] == role.name {
			docs = append(docs, identityDocumentsOf(r, &problems)...)
		}
	}
	for _, p := range problems {
		*violations = append(*violations, policy.Violation{URN: role.res.URN, Message: p})
	}
	return docs
}

func identityOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// identityIsWebIdentity reports whether a trust statement admits web
// identities: a Federated principal, or sts:AssumeRoleWithWebIdentity.
func identityIsWebIdentity(st Statement) bool {
	if !strings.EqualFold(st.Effect, "Allow") {
		return false
	}
	for k := range st.Principal {
		if strings.EqualFold(k, "Federated") {
			return true
		}
	}
	for _, a := range st.Action {
		if identityGlobMatch(a, "sts:AssumeRoleWithWebIdentity") {
			return true
		}
	}
	return false
}

// identityFederatedHosts returns the issuers a statement trusts, as the
// prefixes of their condition keys ("token.actions.githubusercontent.com").
func identityFederatedHosts(st Statement) []string {
	var out []string
	for k, values := range st.Principal {
		if !strings.EqualFold(k, "Federated") {
			continue
		}
		for _, v := range values {
			if _, host, ok := strings.Cut(v, ":oidc-provider/"); ok {
				v = host
			}
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// identityCheckAudSub checks the audience and subject conditions of one
// web-identity statement for one issuer.
func identityCheckAudSub(label, host string, cond map[string]map[string]any) []string {
	var out []string
	aud := identityConditionOps(cond, host+":aud")
	sub := identityConditionOps(cond, host+":sub")
	for _, op := range sortedKeys(aud) {
		if op != "StringEquals" {
			out = append(out, fmt.Sprintf("%s matches %s:aud with %s: use StringEquals", label, host, op))
		}
	}
	for _, op := range sortedKeys(sub) {
		if op != "StringEquals" && op != "StringLike" {
			out = append(out, fmt.Sprintf("%s matches %s:sub with %s: use StringEquals (or StringLike)", label, host, op))
		}
	}
	switch audValues := aud["StringEquals"]; {
	case len(audValues) == 0:
		out = append(out, fmt.Sprintf("%s has no StringEquals condition on %s:aud: tokens minted for any audience would be accepted", label, host))
	case host == GitHubOIDCHost && (len(audValues) != 1 || audValues[0] != GitHubOIDCAudience):
		out = append(out, fmt.Sprintf("%s requires %s:aud %v: it must be exactly %s", label, host, audValues, GitHubOIDCAudience))
	}
	subValues := append(slices.Clone(sub["StringEquals"]), sub["StringLike"]...)
	if len(subValues) == 0 {
		out = append(out, fmt.Sprintf("%s has no condition on %s:sub: any repository's workflow could assume the role", label, host))
	}
	for _, v := range subValues {
		if strings.TrimSpace(v) == "" {
			out = append(out, fmt.Sprintf("%s requires an empty %s:sub", label, host))
		}
	}
	return out
}

// identityConditionOps returns, per condition operator, the values a
// statement requires of key (condition keys are case-insensitive).
func identityConditionOps(cond map[string]map[string]any, key string) map[string][]string {
	out := map[string][]string{}
	for op, kv := range cond {
		for k, v := range kv {
			if strings.EqualFold(k, key) {
				out[op] = append(out[op], policy.Strings(v)...)
			}
		}
	}
	return out
}

// identitySubjectProblem says what is wrong with role trusting the subject
// v (matched with op) in the stack's environment, or "".
func identitySubjectProblem(role identityGitHubRole, environment string, prod bool, op, v string) string {
	rest, ok := strings.CutPrefix(v, "repo:")
	if ok {
		_, rest, ok = strings.Cut(rest, ":")
	}
	if !ok {
		return fmt.Sprintf("subject %q does not name a repository (repo:OWNER/REPO:...)", v)
	}
	env, isEnv := strings.CutPrefix(rest, "environment:")
	isEnv = isEnv && op == "StringEquals" && !strings.ContainsAny(rest, "*?")
	own := GitHubEnvironment(environment, role.pipeline)
	switch role.kind {
	case githubKindPreview:
		if rest != PreviewSubject || op != "StringEquals" {
			return fmt.Sprintf("the preview role trusts %q: it may be reachable from pull requests only (repo:OWNER/REPO:pull_request)", v)
		}
	case githubKindInfra:
		if !isEnv {
			return fmt.Sprintf("the infra role trusts %q: only jobs in the approval-gated environment (repo:OWNER/REPO:environment:%s) may apply the stack", v, own)
		}
		if env != own {
			return fmt.Sprintf("the infra role trusts the environment %q: only its own pipeline's environment %q may reach it (one job, one role)", env, own)
		}
	default:
		branch := strings.HasPrefix(rest, "ref:refs/heads/")
		switch {
		case isEnv && role.pipeline == "":
			return fmt.Sprintf("the deploy role %s has no %s tag: its environment cannot be checked", role.name, PipelineTagKey)
		case isEnv && env != own:
			return fmt.Sprintf("the deploy role trusts the environment %q: only its own pipeline's environment %q may reach it (one job, one role)", env, own)
		case isEnv:
		case branch && !prod:
		case branch:
			return fmt.Sprintf("the deploy role trusts the branch subject %q in prod: prod deploys come from the approval-gated environment only", v)
		default:
			return fmt.Sprintf("the deploy role trusts %q: deploy roles trust their environment (repo:OWNER/REPO:environment:%s), and in dev also configured branches", v, own)
		}
	}
	return ""
}

// identityStarAllowed reports whether a role of kind may hold action on
// Resource "*".
func identityStarAllowed(kind, action string) bool {
	for _, a := range identityStarActions {
		if strings.EqualFold(a, action) {
			return true
		}
	}
	if kind == githubKindDeploy {
		return false
	}
	if identityIsMetadataRead(action) {
		return true
	}
	if kind == githubKindInfra {
		for _, a := range identityInfraStarActions {
			if strings.EqualFold(a, action) {
				return true
			}
		}
	}
	return false
}

// identityIsMetadataRead reports whether an action (or action pattern) only
// describes, gets or lists metadata: its name starts with Describe, Get or
// List, and it covers none of identityDataReads.
func identityIsMetadataRead(action string) bool {
	_, name, ok := strings.Cut(action, ":")
	if !ok {
		return false
	}
	lower := strings.ToLower(name)
	if !strings.HasPrefix(lower, "describe") && !strings.HasPrefix(lower, "get") && !strings.HasPrefix(lower, "list") {
		return false
	}
	for _, d := range identityDataReads {
		if identityGlobMatch(action, d) {
			return false
		}
	}
	return true
}

// identityGrantsPassRole reports whether an Allow statement grants
// iam:PassRole, directly, through a wildcard, or through NotAction.
func identityGrantsPassRole(st Statement) bool {
	for _, a := range st.Action {
		if identityGlobMatch(a, "iam:PassRole") {
			return true
		}
	}
	if len(st.NotAction) > 0 {
		for _, a := range st.NotAction {
			if identityGlobMatch(a, "iam:PassRole") {
				return false
			}
		}
		return true
	}
	return false
}

// identityHasPassedToService reports whether the condition names the
// services the roles may be passed to, exactly.
func identityHasPassedToService(cond map[string]map[string]any) bool {
	for op, values := range identityConditionOps(cond, "iam:PassedToService") {
		if op != "StringEquals" && op != "StringLike" {
			continue
		}
		if len(values) > 0 && !slices.ContainsFunc(values, func(v string) bool { return strings.ContainsAny(v, "*?") || v == "" }) {
			return true
		}
	}
	return false
}

// identityGlobMatch matches an IAM action pattern ("*" any run, "?" one
// character) against an action, ignoring case as IAM does.
func identityGlobMatch(pattern, value string) bool {
	p, v := strings.ToLower(pattern), strings.ToLower(value)
	pi, vi, star, mark := 0, 0, -1, 0
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			vi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// identityStatementLabel names a statement by Sid, or by position.
func identityStatementLabel(i int, st Statement) string {
	if st.Sid != "" {
		return fmt.Sprintf("statement %q", st.Sid)
	}
	return fmt.Sprintf("statement %d", i+1)
}
