package infra

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeConfigAcceptsTheRepositoryStacks(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			cfg, err := DecodeConfig(stack, loadValues(t, stack))
			if err != nil {
				t.Fatalf("DecodeConfig: %v", err)
			}
			if cfg.Environment != stack {
				t.Errorf("environment = %q, want %q", cfg.Environment, stack)
			}
			if got := cfg.Site.BucketName; got != "fe-experts-"+stack+"-"+cfg.AccountID {
				t.Errorf("default bucket name = %q", got)
			}
			if cfg.IsProd() && cfg.Release[ServiceAPI].Builds() {
				t.Error("prod release builds an image")
			}
		})
	}
}

// TestDecodeConfigRejects changes one value of a valid stack at a time and
// checks that the error names the key, shows the value and says the fix.
func TestDecodeConfigRejects(t *testing.T) {
	set := func(key, path string, value any) func(*testing.T, map[string]string) {
		return func(t *testing.T, v map[string]string) { setJSON(t, v, key, path, value) }
	}
	setRaw := func(key, value string) func(*testing.T, map[string]string) {
		return func(_ *testing.T, v map[string]string) { v[key] = value }
	}
	unset := func(key string) func(*testing.T, map[string]string) {
		return func(_ *testing.T, v map[string]string) { delete(v, key) }
	}
	tests := []struct {
		name    string
		stack   string
		mutate  func(*testing.T, map[string]string)
		wantKey string
		want    string
	}{
		{"fails when the account id is not 12 digits", "dev", setRaw(KeyAccountID, "12345"), KeyAccountID, "exactly 12 digits"},
		{"fails when the account id is missing", "dev", unset(KeyAccountID), KeyAccountID, "required and not set"},
		{"fails when the region is missing", "dev", unset(KeyRegion), KeyRegion, "required and not set"},
		{"fails when the region is not a region", "dev", setRaw(KeyRegion, "mars-1"), KeyRegion, "not an AWS region"},
		{"fails when the environment is unknown", "dev", setRaw(KeyEnvironment, "staging"), KeyEnvironment, `"dev" or "prod"`},
		{"fails on an unknown project key", "dev", setRaw(Project+":acountId", "1"), Project + ":acountId", "unknown key"},
		{"fails on an unknown field inside an object", "dev", set(KeyGitHub, "reop", "x"), KeyGitHub, `unknown field "reop"`},
		{"fails when a field has the wrong type", "dev", set(KeyServices, "api.cpu", "lots"), KeyServices, `field "cpu" holds a string, want int`},
		{"fails when the owner has characters GitHub would not emit", "dev", set(KeyGitHub, "owner", "experts app"), KeyGitHub + ".owner", "not a GitHub user"},
		{"fails when the repository is empty", "dev", set(KeyGitHub, "repo", ""), KeyGitHub + ".repo", "not a GitHub repository"},
		{"fails when the repository contains a wildcard", "dev", set(KeyGitHub, "repo", "*"), KeyGitHub + ".repo", "not a GitHub repository"},
		{"fails when the subject format is unknown", "dev", set(KeyGitHub, "subjectFormat", "both"), KeyGitHub + ".subjectFormat", `"name"`},
		{"fails when the id format lacks the ids", "dev", set(KeyGitHub, "subjectFormat", "id"), KeyGitHub + ".ownerId", "numeric id"},
		{"fails when prod asks for branch patterns", "prod", set(KeyGitHub, "devBranchPatterns", []string{"main"}), KeyGitHub + ".devBranchPatterns", "refused on prod"},
		{"fails when a dev branch pattern is a bare wildcard", "dev", set(KeyGitHub, "devBranchPatterns", []string{"*"}), KeyGitHub + ".devBranchPatterns[0]", "fixed prefix"},
		{"fails when the domain is not a DNS name", "dev", set(KeyDomain, "name", "not a domain"), KeyDomain + ".name", "not a DNS name"},
		{"fails when the certificate is missing", "dev", set(KeyDomain, "certificateArn", nil), KeyDomain + ".certificateArn", "required when a domain is set"},
		{"fails when the site certificate is not in us-east-1", "dev", set(KeyDomain, "siteCertificateArn", "arn:aws:acm:eu-west-1:210987654321:certificate/0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"), KeyDomain + ".siteCertificateArn", "must be in us-east-1"},
		{"fails when the certificate is another account's", "dev", set(KeyDomain, "certificateArn", "arn:aws:acm:eu-west-1:123456789012:certificate/6f1d2c3b-9a0e-4b7f-8c21-5d4e3f2a1b0c"), KeyDomain + ".certificateArn", "belongs to account"},
		{"fails when the VPC block is public", "dev", set(KeyNetwork, "cidr", "8.8.0.0/16"), KeyNetwork + ".cidr", "private IPv4"},
		{"fails when one availability zone is asked", "dev", set(KeyNetwork, "availabilityZones", 1), KeyNetwork + ".availabilityZones", "2 or 3"},
		{"fails when the NAT strategy is unknown", "dev", set(KeyNetwork, "natGateways", "none"), KeyNetwork + ".natGateways", "single"},
		{"fails when Fargate does not offer the cpu", "dev", set(KeyServices, "api.cpu", 300), KeyServices + ".api.cpu", "not a Fargate CPU size"},
		{"fails when Fargate does not offer the cpu and memory pair", "dev", set(KeyServices, "api.memory", 512), KeyServices + ".api.memory", "does not accept this memory with cpu 512"},
		{"fails when min healthy exceeds max", "dev", set(KeyServices, "api.maxPercent", 40), KeyServices + ".api.minHealthyPercent", "greater than maxPercent 40"},
		{"fails when prod runs one task", "prod", set(KeyServices, "api.desiredCount", 1), KeyServices + ".api.desiredCount", "must be 2 to 100"},
		{"fails when prod rolls below capacity", "prod", set(KeyServices, "mcp.minHealthyPercent", 50), KeyServices + ".mcp.minHealthyPercent", "full capacity"},
		{"fails when the grace period is zero", "dev", set(KeyServices, "api.healthCheckGracePeriodSeconds", 0), KeyServices + ".api.healthCheckGracePeriodSeconds", "must be 1 to 600"},
		{"fails when the stop timeout exceeds Fargate's", "dev", set(KeyServices, "api.stopTimeoutSeconds", 300), KeyServices + ".api.stopTimeoutSeconds", "2 to 120"},
		{"fails when config overrides a release variable", "dev", set(KeyServices, "api.environment.VERSION", "1"), KeyServices + ".api.environment.VERSION", "set by the release"},
		{"fails when a secret is another account's", "dev", set(KeyServices, "api.secrets.DATABASE_URL", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-Ab12Cd"), KeyServices + ".api.secrets.DATABASE_URL", "must be the ARN"},
		{"fails when the api has no database URL", "dev", set(KeyServices, "api.secrets", map[string]string{}), KeyServices + ".api.secrets.DATABASE_URL", "need the database URL"},
		{"fails when a service is missing", "dev", set(KeyServices, "mcp", nil), KeyServices + ".mcp", "required and not set"},
		{"fails when a service is unknown", "dev", set(KeyServices, "worker", map[string]any{}), KeyServices + ".worker", "unknown service"},
		{"fails when the version is not semver", "dev", set(KeyRelease, "api.version", "v1.2.0"), KeyRelease + ".api.version", "not a full semantic version"},
		{"fails when the version is shorthand", "dev", set(KeyRelease, "api.version", "1.4"), KeyRelease + ".api.version", "not a full semantic version"},
		{"fails when the sha is abbreviated", "dev", set(KeyRelease, "api.gitSha", "4b825dc"), KeyRelease + ".api.gitSha", "40-character"},
		{"fails when the tag disagrees with the version", "dev", set(KeyRelease, "api.ref", "api-v2.0.0"), KeyRelease + ".api.ref", "names version 2.0.0"},
		{"fails when the digest is malformed", "prod", set(KeyRelease, "api.imageDigest", "sha256:abc"), KeyRelease + ".api.imageDigest", "not an image digest"},
		{"fails when prod would build", "prod", set(KeyRelease, "mcp.imageDigest", nil), KeyRelease + ".mcp.imageDigest", "prod never builds"},
		{"fails when a pending migration is not semver", "dev", set(KeyRelease, "api.migrate", map[string]any{"version": "2", "gitSha": strings.Repeat("a", 40), "ref": "main"}), KeyRelease + ".api.migrate.version", "not a full semantic version"},
		{"fails when a service without migrations has a pending one", "dev", set(KeyRelease, "mcp.migrate", map[string]any{"version": "2.0.0", "gitSha": strings.Repeat("a", 40), "ref": "main"}), KeyRelease + ".mcp.migrate", "runs no migrations"},
		{"fails when prod would build a pending migration", "prod", set(KeyRelease, "api.migrate", map[string]any{"version": "2.0.0", "gitSha": strings.Repeat("a", 40), "ref": "main"}), KeyRelease + ".api.migrate.imageDigest", "prod never builds"},
		{"fails when a build has no context", "dev", set(KeyServices, "api.buildContext", nil), KeyServices + ".api.buildContext", "no build context"},
		{"fails when the bucket name is invalid", "dev", set(KeySite, "bucketName", "Bad_Bucket"), KeySite + ".bucketName", "not an S3 bucket name"},
		{"fails when the OIDC provider is another account's", "dev", set(KeyIdentity, "oidcProviderArn", "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"), KeyIdentity + ".oidcProviderArn", "this account's"},
		{"fails when the session is longer than IAM allows", "dev", set(KeyIdentity, "maxSessionSeconds", 86400), KeyIdentity + ".maxSessionSeconds", "3600 to 43200"},
		{"fails when replication targets the same account", "dev", set(KeyRegistry, "replicateToAccountId", "210987654321"), KeyRegistry + ".replicateToAccountId", "another account"},
		{"fails when the log retention is not one CloudWatch offers", "dev", setRaw(KeyLogRetentionDays, "10"), KeyLogRetentionDays, "not a retention"},
		{"fails when container insights is not a boolean", "dev", setRaw(KeyContainerInsights, "yes"), KeyContainerInsights, "not a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := loadValues(t, tt.stack)
			tt.mutate(t, values)
			_, err := DecodeConfig(tt.stack, values)
			if err == nil {
				t.Fatal("DecodeConfig accepted the bad value")
			}
			var cerr *ConfigError
			if !errors.As(err, &cerr) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "config "+tt.wantKey) {
				t.Errorf("error does not name key %s:\n%s", tt.wantKey, msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error does not say %q:\n%s", tt.want, msg)
			}
			if !strings.Contains(msg, "fix: ") {
				t.Errorf("error does not say how to fix it:\n%s", msg)
			}
		})
	}
}

func TestDecodeConfigReportsEveryProblemAtOnce(t *testing.T) {
	values := loadValues(t, "dev")
	values[KeyAccountID] = "x"
	setJSON(t, values, KeyServices, "api.cpu", 3)
	_, err := DecodeConfig("dev", values)
	if err == nil {
		t.Fatal("DecodeConfig accepted two bad values")
	}
	for _, key := range []string{KeyAccountID, KeyServices + ".api.cpu"} {
		if !strings.Contains(err.Error(), "config "+key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}

func TestProgramFailsWithTheConfigErrorBeforeDeclaringAnything(t *testing.T) {
	run, err := tryRunStack(t, "dev", func(v map[string]string) { v[KeyAccountID] = "1" }, nil)
	var cerr *ConfigError
	if !errors.As(err, &cerr) || cerr.Key != KeyAccountID {
		t.Fatalf("error = %v, want a ConfigError for %s", err, KeyAccountID)
	}
	if len(run.resources) != 0 {
		t.Errorf("the program declared %d resources with a bad config", len(run.resources))
	}
}

func TestReleaseTagVersion(t *testing.T) {
	tests := []struct {
		ref, service, want string
	}{
		{"api-v1.4.2", ServiceAPI, "1.4.2"},
		{"main", ServiceAPI, ""},
		{"mcp-v1.4.2", ServiceAPI, ""},
		{"api-vlatest", ServiceAPI, ""},
		{"api-v1.4", ServiceAPI, ""},
		{"api-v1.5.0-rc.1", ServiceAPI, "1.5.0-rc.1"},
	}
	for _, tt := range tests {
		if got := (Release{Ref: tt.ref}).ReleaseTagVersion(tt.service); got != tt.want {
			t.Errorf("ReleaseTagVersion(%q, %q) = %q, want %q", tt.ref, tt.service, got, tt.want)
		}
	}
}

// FuzzDecodeConfig feeds arbitrary text to every key: the decoder must
// return a config or errors, never panic, and every error must be a
// ConfigError that names a key.
func FuzzDecodeConfig(f *testing.F) {
	f.Add(KeyServices, `{"api":{"cpu":256}}`)
	f.Add(KeyGitHub, `{"owner":"a","repo":"b","subjectFormat":"id","ownerId":"1","repoId":"2"}`)
	f.Add(KeyNetwork, `{"vpcId":"vpc-01234567","publicSubnetIds":["subnet-01234567"]}`)
	f.Add(KeyRelease, `{"api":{"version":"1.0.0-rc.1+b","gitSha":"","ref":"api-v1.0.0"}}`)
	f.Add(KeySite, `{"keepReleases":-1}`)
	f.Add(KeyLogRetentionDays, "nan")
	f.Add(KeyDomain, `[]`)
	base := map[string]string{}
	f.Fuzz(func(t *testing.T, key, value string) {
		if len(base) == 0 {
			for k, v := range loadValues(t, "dev") {
				base[k] = v
			}
		}
		values := make(map[string]string, len(base)+1)
		for k, v := range base {
			values[k] = v
		}
		values[key] = value
		cfg, err := DecodeConfig("dev", values)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config without an error")
			}
			return
		}
		for _, e := range unjoin(err) {
			var cerr *ConfigError
			if !errors.As(e, &cerr) || cerr.Key == "" {
				t.Fatalf("error %q is not a ConfigError naming a key", e)
			}
		}
	})
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
