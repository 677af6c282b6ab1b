package workflows

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Rule names, as Problem.Rule reports them.
const (
	RuleNoPullRequestTarget = "no-pull-request-target"
	RuleTopPermissions      = "top-level-permissions"
	RuleJobPermissions      = "job-permissions"
	RuleCheckoutCredentials = "checkout-persist-credentials-false"
	RulePinnedActions       = "actions-pinned"
	RuleNoExpressionsInRun  = "no-expressions-in-run"
	RuleUntrustedInputs     = "untrusted-input-only-through-env"
	RuleDeployJob           = "deploy-job-environment-and-concurrency"
	RuleTimeouts            = "timeouts"
	RuleArtifactsAlways     = "artifacts-uploaded-always"
	RuleRoleFromVars        = "role-and-settings-from-variables"
	RuleNoLiterals          = "no-account-or-arn-literals"
	RuleWhoamiAfterAssume   = "whoami-after-assuming-a-role"
	RuleBashPipefail        = "bash-with-pipefail"
	RuleDeployctlBuilt      = "deployctl-built-once-per-job"
)

// Actions the rules know by name.
const (
	ActionCheckout       = "actions/checkout"
	ActionUploadArtifact = "actions/upload-artifact"
	ActionAWSCredentials = "aws-actions/configure-aws-credentials" //nolint:gosec // an action name, not a credential
)

// DeployctlBuild is the one way a job gets deployctl: built once, into the
// runner's temp directory, and run from there.
const (
	DeployctlBuild = `go build -o "$RUNNER_TEMP/deployctl" ./cmd/deployctl`
	DeployctlPath  = `"$RUNNER_TEMP/deployctl"`
)

// DefaultRoleSessionSeconds is how long configure-aws-credentials asks for
// when role-duration-seconds is not set.
const DefaultRoleSessionSeconds = 3600

// Problem is one finding of Check.
type Problem struct {
	Rule    string
	File    string
	Job     string
	Message string
}

func (p Problem) String() string {
	where := p.File
	if p.Job != "" {
		where += ": job " + p.Job
	}
	return fmt.Sprintf("%s: %s [%s]", where, p.Message, p.Rule)
}

type checker struct {
	w        *Workflow
	problems []Problem
}

func (c *checker) add(rule, job, format string, args ...any) {
	c.problems = append(c.problems, Problem{Rule: rule, File: c.w.File, Job: job, Message: fmt.Sprintf(format, args...)})
}

// Check returns every way w breaks the hardening rules, in a stable order.
func Check(w *Workflow) []Problem {
	c := &checker{w: w}
	c.triggers()
	c.topPermissions()
	c.shell()
	for _, id := range w.JobOrder {
		j := w.Jobs[id]
		c.jobPermissions(j)
		c.timeouts(j)
		c.deployJob(j)
		c.untrusted(j)
		c.literals(j)
		c.deployctl(j)
		for i, s := range j.Steps {
			c.step(j, i, s)
		}
	}
	return c.problems
}

// CheckAll checks each workflow and, across them, that one action is
// pinned to one ref everywhere.
func CheckAll(ws []*Workflow) []Problem {
	var out []Problem
	refs := map[string]map[string][]string{} // action → ref → files
	for _, w := range ws {
		out = append(out, Check(w)...)
		for _, id := range w.JobOrder {
			for _, s := range w.Jobs[id].Steps {
				if s.Uses == "" {
					continue
				}
				if refs[s.Action()] == nil {
					refs[s.Action()] = map[string][]string{}
				}
				refs[s.Action()][s.Ref()] = appendUnique(refs[s.Action()][s.Ref()], w.File)
			}
		}
	}
	for _, action := range sortedKeys(refs) {
		if len(refs[action]) < 2 {
			continue
		}
		var parts []string
		for _, ref := range sortedKeys(refs[action]) {
			parts = append(parts, ref+" in "+strings.Join(refs[action][ref], ", "))
		}
		out = append(out, Problem{Rule: RulePinnedActions, File: "(all workflows)",
			Message: fmt.Sprintf("%s is pinned to different refs: %s; pin one everywhere", action, strings.Join(parts, "; "))})
	}
	return out
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func (c *checker) triggers() {
	for _, ev := range []string{"pull_request_target", "workflow_run"} {
		if _, ok := c.w.On[ev]; ok {
			c.add(RuleNoPullRequestTarget, "", "triggered by %s, which runs with the base repository's secrets and write token on code it did not review", ev)
		}
	}
}

func (c *checker) topPermissions() {
	p := c.w.Permissions
	switch {
	case !p.Set:
		c.add(RuleTopPermissions, "", "no top-level permissions: the token gets the repository's default scopes; set permissions: {} or contents: read")
	case p.All != "":
		c.add(RuleTopPermissions, "", "top-level permissions %q: set permissions: {} or contents: read", p.All)
	case len(p.Scopes) == 0:
	case len(p.Scopes) == 1 && p.Scopes["contents"] == "read":
	default:
		c.add(RuleTopPermissions, "", "top-level permissions %v: only {} or contents: read; grant more per job", p.Scopes)
	}
}

func (c *checker) shell() {
	if c.w.DefaultShell == "bash" {
		return
	}
	for _, id := range c.w.JobOrder {
		for _, s := range c.w.Jobs[id].Steps {
			if s.Run != "" && s.Shell != "bash" {
				c.add(RuleBashPipefail, id, "step %q runs under GitHub's default shell (bash -e, no pipefail: a failing command piped into tee passes); set defaults.run.shell: bash", s.Label())
			}
		}
	}
}

func (c *checker) jobPermissions(j *Job) {
	p := j.Permissions
	assumes := len(j.StepsUsing(ActionAWSCredentials)) > 0
	checksOut := len(j.StepsUsing(ActionCheckout)) > 0
	if !p.Set || p.All != "" {
		c.add(RuleJobPermissions, j.ID, "declare the job's permissions as a mapping (the scopes it needs, nothing else)")
		return
	}
	for _, scope := range sortedKeys(p.Scopes) {
		level := p.Scopes[scope]
		if level != "write" {
			continue
		}
		switch scope {
		case "id-token":
			if !assumes {
				c.add(RuleJobPermissions, j.ID, "id-token: write on a job that assumes no role")
			}
		case "pull-requests", "issues":
			if assumes || checksOut {
				c.add(RuleJobPermissions, j.ID, "%s: write on a job that checks out code or assumes a role: comment from a job of its own", scope)
			}
		default:
			c.add(RuleJobPermissions, j.ID, "%s: write is never needed here", scope)
		}
	}
	if assumes && p.Scopes["id-token"] != "write" {
		c.add(RuleJobPermissions, j.ID, "assumes a role without id-token: write (no OIDC token)")
	}
}

func (c *checker) timeouts(j *Job) {
	if j.TimeoutMinutes <= 0 {
		c.add(RuleTimeouts, j.ID, "no timeout-minutes (the default is 6 hours)")
		return
	}
	for _, s := range j.StepsUsing(ActionAWSCredentials) {
		session := DefaultRoleSessionSeconds
		if v := s.With["role-duration-seconds"]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				c.add(RuleTimeouts, j.ID, "role-duration-seconds %q is not a number", v)
				continue
			}
			session = n
		}
		if j.TimeoutMinutes*60 > session {
			c.add(RuleTimeouts, j.ID, "timeout-minutes %d outlasts the role session (%d s): the credentials expire before the job's deadline; raise role-duration-seconds", j.TimeoutMinutes, session)
		}
	}
}

var deployGroup = regexp.MustCompile(`^deploy-[a-z0-9${}. ]+-(api|mcp|frontend|infra)$`)

func (c *checker) deployJob(j *Job) {
	if j.Environment == "" {
		return
	}
	if j.Concurrency == nil {
		c.add(RuleDeployJob, j.ID, "deploy job (environment %s) without concurrency: two runs could deploy at once", j.Environment)
		return
	}
	if !deployGroup.MatchString(j.Concurrency.Group) {
		c.add(RuleDeployJob, j.ID, "concurrency group %q is not deploy-<env>-<service>", j.Concurrency.Group)
	}
	stack, _, _ := strings.Cut(j.Environment, "-")
	if !strings.HasPrefix(j.Concurrency.Group, "deploy-"+stack+"-") {
		c.add(RuleDeployJob, j.ID, "concurrency group %q does not name the environment's stack %q", j.Concurrency.Group, stack)
	}
	if j.Concurrency.CancelInProgress != "false" {
		c.add(RuleDeployJob, j.ID, "concurrency without cancel-in-progress: false: a canceled deploy leaves a half-applied stack")
	}
}

// untrustedExpr matches the contexts an attacker can write: event payloads,
// the head branch name, workflow inputs.
var untrustedExpr = regexp.MustCompile(`\$\{\{[^}]*(github\.event\.|github\.head_ref|inputs\.)[^}]*\}\}`)

func (c *checker) untrusted(j *Job) {
	check := func(where, v string) {
		if m := untrustedExpr.FindString(v); m != "" {
			c.add(RuleUntrustedInputs, j.ID, "%s uses %s: pass it to the step through env: instead", where, m)
		}
	}
	for _, k := range sortedKeys(j.Outputs) {
		check("output "+k, j.Outputs[k])
	}
	if j.Concurrency != nil {
		check("concurrency group", j.Concurrency.Group)
	}
	check("environment", j.Environment)
	for _, s := range j.Steps {
		for _, k := range sortedKeys(s.With) {
			check(fmt.Sprintf("step %q input %s", s.Label(), k), s.With[k])
		}
		check(fmt.Sprintf("step %q working-directory", s.Label()), s.WorkingDirectory)
	}
}

var (
	arnLiteral     = regexp.MustCompile(`arn:aws[a-z-]*:`)
	accountLiteral = regexp.MustCompile(`(^|[^0-9])[0-9]{12}([^0-9]|$)`)
	stateLiteral   = regexp.MustCompile(`(s3|awskms|gs|azblob)://`)
)

func (c *checker) literals(j *Job) {
	check := func(where, v string) {
		for _, re := range []*regexp.Regexp{arnLiteral, accountLiteral, stateLiteral} {
			if m := re.FindString(v); m != "" {
				c.add(RuleNoLiterals, j.ID, "%s holds the literal %q: take roles, accounts, backends and keys from the environment's variables", where, strings.TrimSpace(m))
			}
		}
	}
	for _, k := range sortedKeys(j.Env) {
		check("env "+k, j.Env[k])
	}
	for _, s := range j.Steps {
		for _, k := range sortedKeys(s.With) {
			check(fmt.Sprintf("step %q input %s", s.Label(), k), s.With[k])
		}
		for _, k := range sortedKeys(s.Env) {
			check(fmt.Sprintf("step %q env %s", s.Label(), k), s.Env[k])
		}
		check(fmt.Sprintf("step %q script", s.Label()), s.Run)
	}
}

func (c *checker) deployctl(j *Job) {
	built := false
	for _, s := range j.Steps {
		if strings.Contains(s.Run, "go run ./cmd/deployctl") {
			c.add(RuleDeployctlBuilt, j.ID, "step %q compiles deployctl with go run: build it once per job (%s)", s.Label(), DeployctlBuild)
		}
		if strings.TrimSpace(s.Run) == DeployctlBuild {
			built = true
			continue
		}
		if strings.Contains(s.Run, DeployctlPath) && !built {
			c.add(RuleDeployctlBuilt, j.ID, "step %q runs %s before a step builds it (%s)", s.Label(), DeployctlPath, DeployctlBuild)
		}
	}
}

// varsExpr is the only form a role, region or account may take: one
// variable, named directly or through a matrix value.
var varsExpr = regexp.MustCompile(`^\$\{\{ vars(\.[A-Z][A-Z0-9_]*|\[format\('\{0\}_[A-Z][A-Z0-9_]*', matrix\.[a-z]+\)\]) \}\}$`)

func (c *checker) step(j *Job, i int, s Step) {
	label := s.Label()
	if s.Run != "" && strings.Contains(s.Run, "${{") {
		c.add(RuleNoExpressionsInRun, j.ID, "step %q expands an expression inside run: (script injection); pass it through env:", label)
	}
	if s.Uses != "" {
		c.pinned(j, s)
	}
	switch s.Action() {
	case ActionCheckout:
		if s.With["persist-credentials"] != "false" {
			c.add(RuleCheckoutCredentials, j.ID, "step %q leaves the token in .git/config: set persist-credentials: false", label)
		}
	case ActionUploadArtifact:
		if len(j.StepsUsing(ActionAWSCredentials)) > 0 && !strings.Contains(s.If, "always()") {
			c.add(RuleArtifactsAlways, j.ID, "step %q uploads only on success: add if: always() so a failed deploy keeps its evidence", label)
		}
	case ActionAWSCredentials:
		for _, in := range []string{"role-to-assume", "aws-region", "allowed-account-ids"} {
			v, ok := s.With[in]
			if !ok {
				c.add(RuleRoleFromVars, j.ID, "step %q has no %s", label, in)
				continue
			}
			if !varsExpr.MatchString(v) {
				c.add(RuleRoleFromVars, j.ID, "step %q input %s = %q: take it from one variable (${{ vars.NAME }})", label, in, v)
			}
		}
		for _, in := range []string{"aws-access-key-id", "aws-secret-access-key", "aws-session-token", "role-chaining", "web-identity-token-file"} {
			if _, ok := s.With[in]; ok {
				c.add(RuleRoleFromVars, j.ID, "step %q sets %s: roles are assumed with the job's OIDC token only", label, in)
			}
		}
		next := ""
		if i+1 < len(j.Steps) {
			next = j.Steps[i+1].Run
		}
		if !strings.Contains(next, "deployctl\" whoami --expect-account ") {
			c.add(RuleWhoamiAfterAssume, j.ID, "the step after %q does not check the account (deployctl whoami --expect-account)", label)
		}
	}
}

var (
	fullSHA      = regexp.MustCompile(`^[0-9a-f]{40}$`)
	majorVersion = regexp.MustCompile(`^v[0-9]+$`)
	semverTag    = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)
)

func (c *checker) pinned(j *Job, s Step) {
	ref := s.Ref()
	switch {
	case strings.HasPrefix(s.Uses, "./"):
	case strings.HasPrefix(s.Uses, "docker://"):
		c.add(RulePinnedActions, j.ID, "step %q runs a container action: use a pinned action", s.Label())
	case fullSHA.MatchString(ref):
		if !semverTag.MatchString(s.UsesComment) {
			c.add(RulePinnedActions, j.ID, "step %q pins %s without a comment naming its tag (# vX.Y.Z)", s.Label(), s.Uses)
		}
	case majorVersion.MatchString(ref):
		if !strings.Contains(s.UsesComment, "not verified") {
			c.add(RulePinnedActions, j.ID, "step %q pins only the major version %s: pin the full commit id, or say in a comment that it could not be verified", s.Label(), s.Uses)
		}
	default:
		c.add(RulePinnedActions, j.ID, "step %q uses %s: pin a full commit id (or a major version, with a comment saying why)", s.Label(), s.Uses)
	}
}

// SortProblems orders problems by file, job, rule and message.
func SortProblems(ps []Problem) {
	sort.SliceStable(ps, func(a, b int) bool {
		if ps[a].File != ps[b].File {
			return ps[a].File < ps[b].File
		}
		if ps[a].Job != ps[b].Job {
			return ps[a].Job < ps[b].Job
		}
		if ps[a].Rule != ps[b].Rule {
			return ps[a].Rule < ps[b].Rule
		}
		return ps[a].Message < ps[b].Message
	})
}
