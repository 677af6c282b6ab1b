package workflows

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// good is a small workflow that passes every rule; each broken case below
// changes one thing in it.
const good = `name: sample
on:
  push:
    branches: [main]
    paths: [app/api/**]
permissions: {}
defaults:
  run:
    shell: bash
jobs:
  test:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - run: bash .ci/test
  release-dev:
    needs: test
    runs-on: ubuntu-latest
    timeout-minutes: 100
    environment: dev-api
    concurrency:
      group: deploy-dev-api
      cancel-in-progress: false
    permissions:
      contents: read
      id-token: write
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - name: Build deployctl
        run: go build -o "$RUNNER_TEMP/deployctl" ./cmd/deployctl
      - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3
        with:
          role-to-assume: ${{ vars.AWS_ROLE_ARN }}
          aws-region: ${{ vars.AWS_REGION }}
          allowed-account-ids: ${{ vars.AWS_ACCOUNT_ID }}
          role-duration-seconds: 7200
      - name: Check the account
        env:
          AWS_ACCOUNT_ID: ${{ vars.AWS_ACCOUNT_ID }}
        run: '"$RUNNER_TEMP/deployctl" whoami --expect-account "$AWS_ACCOUNT_ID"'
      - name: Release
        env:
          REF: ${{ github.ref_name }}
        run: '"$RUNNER_TEMP/deployctl" release api --stack dev --ref "$REF"'
      - if: always()
        uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        with:
          name: release
          path: ${{ runner.temp }}/artifacts
`

func TestCheckAcceptsTheSample(t *testing.T) {
	w, err := Parse("sample.yml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if ps := Check(w); len(ps) > 0 {
		t.Fatalf("the sample breaks rules:\n%s", formatProblems(ps))
	}
}

// TestCheckRefusesEachBrokenWorkflow breaks the sample one way per case and
// expects exactly the named rule to fire.
func TestCheckRefusesEachBrokenWorkflow(t *testing.T) {
	tests := []struct {
		name      string
		old, new  string
		wantRules []string
	}{
		{
			name: "refuses pull_request_target",
			old:  "on:\n  push:", new: "on:\n  pull_request_target:\n  push:",
			wantRules: []string{RuleNoPullRequestTarget},
		},
		{
			name: "refuses a workflow without top-level permissions",
			old:  "permissions: {}\n", new: "",
			wantRules: []string{RuleTopPermissions},
		},
		{
			name: "refuses write-all at the top",
			old:  "permissions: {}\n", new: "permissions: write-all\n",
			wantRules: []string{RuleTopPermissions},
		},
		{
			name: "refuses id-token at the top",
			old:  "permissions: {}\n", new: "permissions:\n  id-token: write\n",
			wantRules: []string{RuleTopPermissions},
		},
		{
			name:      "refuses id-token: write on a job that assumes no role",
			old:       "    permissions:\n      contents: read\n    steps:\n      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n        with:\n          persist-credentials: false\n      - run: bash .ci/test",
			new:       "    permissions:\n      contents: read\n      id-token: write\n    steps:\n      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n        with:\n          persist-credentials: false\n      - run: bash .ci/test",
			wantRules: []string{RuleJobPermissions},
		},
		{
			name: "refuses a role assumed without id-token: write",
			old:  "      contents: read\n      id-token: write\n", new: "      contents: read\n",
			wantRules: []string{RuleJobPermissions},
		},
		{
			name: "refuses pull-requests: write beside a role",
			old:  "      id-token: write\n", new: "      id-token: write\n      pull-requests: write\n",
			wantRules: []string{RuleJobPermissions},
		},
		{
			name:      "refuses contents: write",
			old:       "    permissions:\n      contents: read\n    steps:\n      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n        with:\n          persist-credentials: false\n      - run: bash .ci/test",
			new:       "    permissions:\n      contents: write\n    steps:\n      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n        with:\n          persist-credentials: false\n      - run: bash .ci/test",
			wantRules: []string{RuleJobPermissions},
		},
		{
			name: "refuses a checkout that keeps its credentials",
			old:  "        with:\n          persist-credentials: false\n      - name: Build", new: "      - name: Build",
			wantRules: []string{RuleCheckoutCredentials},
		},
		{
			name: "refuses an action pinned to a tag",
			old:  "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0", new: "actions/upload-artifact@v7.0.0",
			wantRules: []string{RulePinnedActions},
		},
		{
			name: "refuses a full commit id without the tag it stands for",
			old:  "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0", new: "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
			wantRules: []string{RulePinnedActions},
		},
		{
			name: "refuses a major version that does not say it was not verified",
			old:  "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0", new: "actions/upload-artifact@v7 # v7",
			wantRules: []string{RulePinnedActions},
		},
		{
			name: "accepts a major version whose comment says it was not verified",
			old:  "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0", new: "actions/upload-artifact@v7 # commit not verified",
		},
		{
			name: "refuses an expression inside run",
			old:  `run: '"$RUNNER_TEMP/deployctl" release api --stack dev --ref "$REF"'`, new: `run: '"$RUNNER_TEMP/deployctl" release api --stack dev --ref "${{ github.head_ref }}"'`,
			wantRules: []string{RuleNoExpressionsInRun},
		},
		{
			name: "refuses even a harmless expression inside run",
			old:  `run: '"$RUNNER_TEMP/deployctl" release api --stack dev --ref "$REF"'`, new: `run: '"$RUNNER_TEMP/deployctl" release api --stack dev --ref "${{ github.ref_name }}"'`,
			wantRules: []string{RuleNoExpressionsInRun},
		},
		{
			name: "refuses an event payload passed to an action input",
			old:  "          name: release\n", new: "          name: ${{ github.event.head_commit.message }}\n",
			wantRules: []string{RuleUntrustedInputs},
		},
		{
			name: "accepts an event payload passed through env",
			old:  "          REF: ${{ github.ref_name }}", new: "          REF: ${{ github.event.pull_request.head.ref }}",
		},
		{
			name: "refuses a deploy job without concurrency",
			old:  "    concurrency:\n      group: deploy-dev-api\n      cancel-in-progress: false\n", new: "",
			wantRules: []string{RuleDeployJob},
		},
		{
			name: "refuses a deploy job whose runs cancel each other",
			old:  "      cancel-in-progress: false\n", new: "      cancel-in-progress: true\n",
			wantRules: []string{RuleDeployJob},
		},
		{
			name: "refuses a concurrency group of another stack",
			old:  "      group: deploy-dev-api\n", new: "      group: deploy-prod-api\n",
			wantRules: []string{RuleDeployJob},
		},
		{
			name: "refuses a concurrency group of the wrong form",
			old:  "      group: deploy-dev-api\n", new: "      group: dev\n",
			wantRules: []string{RuleDeployJob, RuleDeployJob},
		},
		{
			name: "refuses a job without a timeout",
			old:  "    timeout-minutes: 30\n", new: "",
			wantRules: []string{RuleTimeouts},
		},
		{
			name: "refuses a timeout longer than the role session",
			old:  "          role-duration-seconds: 7200\n", new: "",
			wantRules: []string{RuleTimeouts},
		},
		{
			name: "refuses artifacts uploaded only on success",
			old:  "      - if: always()\n        uses: actions/upload-artifact", new: "      - uses: actions/upload-artifact",
			wantRules: []string{RuleArtifactsAlways},
		},
		{
			name: "refuses a literal role ARN",
			old:  "role-to-assume: ${{ vars.AWS_ROLE_ARN }}", new: "role-to-assume: arn:aws:iam::210987654321:role/experts-dev-api-deploy",
			wantRules: []string{RuleNoLiterals, RuleNoLiterals, RuleRoleFromVars},
		},
		{
			name: "refuses a role taken from a secret",
			old:  "role-to-assume: ${{ vars.AWS_ROLE_ARN }}", new: "role-to-assume: ${{ secrets.AWS_ROLE_ARN }}",
			wantRules: []string{RuleRoleFromVars},
		},
		{
			name: "refuses an assume step without the account check",
			old:  "          allowed-account-ids: ${{ vars.AWS_ACCOUNT_ID }}\n", new: "",
			wantRules: []string{RuleRoleFromVars},
		},
		{
			name: "refuses static keys",
			old:  "          role-duration-seconds: 7200\n", new: "          role-duration-seconds: 7200\n          aws-access-key-id: ${{ secrets.KEY }}\n",
			wantRules: []string{RuleRoleFromVars},
		},
		{
			name: "refuses a literal account id in a script",
			old:  `--expect-account "$AWS_ACCOUNT_ID"`, new: `--expect-account 210987654321`,
			wantRules: []string{RuleNoLiterals},
		},
		{
			name: "refuses a literal state backend",
			old:  "          REF: ${{ github.ref_name }}", new: "          REF: ${{ github.ref_name }}\n          PULUMI_BACKEND_URL: s3://experts-state",
			wantRules: []string{RuleNoLiterals},
		},
		{
			name: "refuses an assumed role whose account is not checked next",
			old:  "      - name: Check the account\n        env:\n          AWS_ACCOUNT_ID: ${{ vars.AWS_ACCOUNT_ID }}\n        run: '\"$RUNNER_TEMP/deployctl\" whoami --expect-account \"$AWS_ACCOUNT_ID\"'\n", new: "",
			wantRules: []string{RuleWhoamiAfterAssume},
		},
		{
			name: "refuses the default shell without pipefail",
			old:  "defaults:\n  run:\n    shell: bash\n", new: "",
			wantRules: []string{RuleBashPipefail, RuleBashPipefail, RuleBashPipefail, RuleBashPipefail},
		},
		{
			name: "refuses deployctl through go run",
			old:  `run: '"$RUNNER_TEMP/deployctl" release api --stack dev --ref "$REF"'`, new: `run: 'go run ./cmd/deployctl release api --stack dev --ref "$REF"'`,
			wantRules: []string{RuleDeployctlBuilt},
		},
		{
			name: "refuses deployctl run before it is built",
			old:  "      - name: Build deployctl\n        run: go build -o \"$RUNNER_TEMP/deployctl\" ./cmd/deployctl\n", new: "",
			wantRules: []string{RuleDeployctlBuilt, RuleDeployctlBuilt},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("the sample does not contain %q", tt.old)
			}
			src := strings.Replace(good, tt.old, tt.new, 1)
			w, err := Parse("sample.yml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			ps := Check(w)
			var got []string
			for _, p := range ps {
				got = append(got, p.Rule)
			}
			if diff := cmp.Diff(tt.wantRules, got); diff != "" {
				t.Errorf("rules (-want +got):\n%s\nproblems:\n%s", diff, formatProblems(ps))
			}
		})
	}
}

func TestCheckAllRefusesOneActionPinnedTwoWays(t *testing.T) {
	a, err := Parse("a.yml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b.yml", []byte(strings.ReplaceAll(good,
		"actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
		"actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0")))
	if err != nil {
		t.Fatal(err)
	}
	ps := CheckAll([]*Workflow{a, b})
	want := []Problem{{Rule: RulePinnedActions, File: "(all workflows)", Message: "actions/checkout is pinned to different refs: " +
		"08c6903cd8c0fde910a37f88322edcfb5dd907a8 in b.yml; 3d3c42e5aac5ba805825da76410c181273ba90b1 in a.yml; pin one everywhere"}}
	if diff := cmp.Diff(want, ps); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestParseRefusesMalformedValues(t *testing.T) {
	tests := []struct {
		name, old, new, wantErr string
	}{
		{"refuses a timeout that is not a number", "timeout-minutes: 30", "timeout-minutes: half an hour", "jobs.test.timeout-minutes"},
		{"refuses steps that are not a list", "    steps:\n      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n        with:\n          persist-credentials: false\n      - run: bash .ci/test", "    steps: bash .ci/test", "jobs.test.steps"},
		{"refuses env that is not a mapping", "        env:\n          REF: ${{ github.ref_name }}", "        env: [REF]", "env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("the sample does not contain %q", tt.old)
			}
			_, err := Parse("sample.yml", []byte(strings.Replace(good, tt.old, tt.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestParseExpandsMatrices(t *testing.T) {
	tests := []struct {
		name, matrix string
		want         []map[string]string
	}{
		{"expands a list", "        stack: [dev, prod]\n", []map[string]string{{"stack": "dev"}, {"stack": "prod"}}},
		{"expands two lists", "        stack: [dev, prod]\n        service: [api]\n",
			[]map[string]string{{"stack": "dev", "service": "api"}, {"stack": "prod", "service": "api"}}},
		{"takes include entries", "        include:\n          - stack: dev\n            vars: DEV\n",
			[]map[string]string{{"stack": "dev", "vars": "DEV"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "on: push\njobs:\n  j:\n    strategy:\n      matrix:\n" + tt.matrix
			w, err := Parse("m.yml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, w.Jobs["j"].Matrix); diff != "" {
				t.Errorf("matrix (-want +got):\n%s", diff)
			}
		})
	}
}

func formatProblems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}
