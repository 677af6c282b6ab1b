package infra

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/mod/semver"
)

// Project is the Pulumi project name (Pulumi.yaml) and the namespace of
// every project config key.
const Project = "experts"

// Services are the ECS services the program runs, in a fixed order.
var Services = []string{ServiceAPI, ServiceMCP}

// Service names.
const (
	ServiceAPI = "api"
	ServiceMCP = "mcp"
)

// Environments.
const (
	EnvDev  = "dev"
	EnvProd = "prod"
)

// Config keys. ConfigKeys lists every key the program reads; DecodeConfig
// refuses project keys that are not in it (a typo must not be ignored).
const (
	KeyRegion            = "aws:region"
	KeyEnvironment       = Project + ":environment"
	KeyAccountID         = Project + ":accountId"
	KeyGitHub            = Project + ":github"
	KeyDomain            = Project + ":domain"
	KeyNetwork           = Project + ":network"
	KeyServices          = Project + ":services"
	KeyRelease           = Project + ":release"
	KeyBootstrapRelease  = Project + ":bootstrapRelease"
	KeyDeployment        = Project + ":deployment"
	KeySite              = Project + ":site"
	KeyIdentity          = Project + ":identity"
	KeyRegistry          = Project + ":registry"
	KeyLogRetentionDays  = Project + ":logRetentionDays"
	KeyContainerInsights = Project + ":containerInsights"
)

// ConfigKeys are the keys the program reads, in documentation order.
var ConfigKeys = []string{
	KeyRegion, KeyEnvironment, KeyAccountID, KeyGitHub, KeyDomain, KeyNetwork,
	KeyServices, KeyRelease, KeyBootstrapRelease, KeyDeployment, KeySite,
	KeyIdentity, KeyRegistry, KeyLogRetentionDays, KeyContainerInsights,
}

// Config is the whole typed configuration of one stack, decoded and
// validated once, before any resource is declared.
type Config struct {
	Stack             string
	Environment       string
	AccountID         string
	Region            string
	GitHub            GitHub
	Domain            Domain
	Network           NetworkConfig
	Services          map[string]ServiceConfig // keyed by ServiceAPI, ServiceMCP
	Release           map[string]Release       // keyed by ServiceAPI, ServiceMCP
	Site              SiteConfig
	Identity          IdentityConfig
	Registry          RegistryConfig
	LogRetentionDays  int
	ContainerInsights bool

	// ReleaseSource says where Release came from (ReleaseFromDriver,
	// ReleaseFromLive, ReleaseFromBootstrap).
	ReleaseSource string
	// Deployment is the release driver's record of this update, nil when
	// the update was not started by the driver.
	Deployment *Deployment
}

// IsProd reports whether the stack is the production environment, where the
// strictest rules apply.
func (c *Config) IsProd() bool { return c.Environment == EnvProd }

// Name returns a physical resource name for this environment, such as
// "experts-dev-api".
func (c *Config) Name(parts ...string) string {
	return strings.Join(append([]string{Project, c.Environment}, parts...), "-")
}

// GitHub is the repository whose workflows may assume the deploy roles.
type GitHub struct {
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
	// OwnerID and RepoID are the numeric ids GitHub puts into the subject
	// claim of repositories that use the immutable ("id") subject format.
	OwnerID string `json:"ownerId,omitempty"`
	RepoID  string `json:"repoId,omitempty"`
	// SubjectFormat is "name" (repo:OWNER/REPO:...) or "id"
	// (repo:OWNER@OWNER_ID/REPO@REPO_ID:...).
	SubjectFormat string `json:"subjectFormat"`
	// DevBranchPatterns lets workflows on these branches (StringLike
	// patterns such as "feature/*") assume the dev deploy roles without an
	// environment. Refused on prod.
	DevBranchPatterns []string `json:"devBranchPatterns,omitempty"`
}

// SubjectPrefix is the part of the OIDC subject claim that names the
// repository, in the configured format: "repo:OWNER/REPO".
func (g GitHub) SubjectPrefix() string {
	if g.SubjectFormat == SubjectFormatID {
		return fmt.Sprintf("repo:%s@%s/%s@%s", g.Owner, g.OwnerID, g.Repo, g.RepoID)
	}
	return fmt.Sprintf("repo:%s/%s", g.Owner, g.Repo)
}

// Subject formats of GitHub's OIDC subject claim.
const (
	SubjectFormatName = "name"
	SubjectFormatID   = "id"
)

// Domain holds the public names of the environment.
type Domain struct {
	Name               string `json:"name"`
	APIHost            string `json:"apiHost,omitempty"`
	MCPHost            string `json:"mcpHost,omitempty"`
	AppHost            string `json:"appHost,omitempty"`
	CertificateArn     string `json:"certificateArn"`
	SiteCertificateArn string `json:"siteCertificateArn"`
}

// Host returns the public host of a service ("api", "mcp") or of the site
// ("app").
func (d Domain) Host(service string) string {
	switch service {
	case ServiceAPI:
		if d.APIHost != "" {
			return d.APIHost
		}
	case ServiceMCP:
		if d.MCPHost != "" {
			return d.MCPHost
		}
	case SiteHost:
		if d.AppHost != "" {
			return d.AppHost
		}
	}
	return service + "." + d.Name
}

// SiteHost is the first label of the frontend's default host name.
const SiteHost = "app"

// NetworkConfig is either a VPC to create or an existing one.
type NetworkConfig struct {
	CIDR              string   `json:"cidr,omitempty"`
	AvailabilityZones int      `json:"availabilityZones,omitempty"`
	NATGateways       string   `json:"natGateways,omitempty"`
	VpcID             string   `json:"vpcId,omitempty"`
	PublicSubnetIDs   []string `json:"publicSubnetIds,omitempty"`
	PrivateSubnetIDs  []string `json:"privateSubnetIds,omitempty"`
}

// Existing reports whether the stack uses an existing VPC.
func (n NetworkConfig) Existing() bool { return n.VpcID != "" }

// NAT gateway strategies.
const (
	NATSingle   = "single"
	NATOnePerAZ = "onePerAz"
)

// ServiceConfig sizes and tunes one ECS service.
type ServiceConfig struct {
	CPU                           int    `json:"cpu"`
	Memory                        int    `json:"memory"`
	DesiredCount                  int    `json:"desiredCount"`
	MinHealthyPercent             int    `json:"minHealthyPercent"`
	MaxPercent                    int    `json:"maxPercent"`
	HealthCheckGracePeriodSeconds int    `json:"healthCheckGracePeriodSeconds"`
	DeregistrationDelaySeconds    *int   `json:"deregistrationDelaySeconds,omitempty"`
	ContainerPort                 int    `json:"containerPort"`
	HealthCheckPath               string `json:"healthCheckPath"`
	// HealthCheckCommand is the container health check: unset for the
	// default (an HTTP GET of healthCheckPath with curl, wget or python3,
	// so the image needs a shell and one of them), ["NONE"] for none (the
	// load balancer's check alone decides), or an ECS command starting
	// with CMD or CMD-SHELL.
	HealthCheckCommand   []string          `json:"healthCheckCommand,omitempty"`
	StopTimeoutSeconds   int               `json:"stopTimeoutSeconds"`
	EnableExecuteCommand bool              `json:"enableExecuteCommand,omitempty"`
	BuildContext         string            `json:"buildContext,omitempty"`
	Dockerfile           string            `json:"dockerfile,omitempty"`
	Environment          map[string]string `json:"environment,omitempty"`
	// Secrets maps an environment variable to the ARN of the Secrets
	// Manager secret or SSM parameter that ECS injects into it.
	Secrets map[string]string `json:"secrets,omitempty"`
}

// HealthCheckNone is the whole healthCheckCommand that turns the container
// health check off.
const HealthCheckNone = "NONE"

// DefaultDeregistrationDelaySeconds replaces the target group default of
// 300 s, which would dominate every rolling update.
const DefaultDeregistrationDelaySeconds = 30

// DeregistrationDelay returns the configured draining time, or the default.
func (s ServiceConfig) DeregistrationDelay() int {
	if s.DeregistrationDelaySeconds == nil {
		return DefaultDeregistrationDelaySeconds
	}
	return *s.DeregistrationDelaySeconds
}

// SecretNames returns the injected variable names in sorted order.
func (s ServiceConfig) SecretNames() []string { return sortedKeys(s.Secrets) }

// Release is what one service runs: written by the release driver, kept as
// it is by infra-only updates.
type Release struct {
	// Version is the semantic version without a leading "v" ("1.4.2").
	Version string `json:"version"`
	// GitSha is the full commit id the image was built from.
	GitSha string `json:"gitSha"`
	// Ref is the branch ("main") or the release tag ("api-v1.4.2") built.
	Ref string `json:"ref"`
	// ImageDigest ("sha256:…") deploys an image that is already in the
	// service's repository; nothing is built. Empty means build from the
	// service's buildContext.
	ImageDigest string `json:"imageDigest,omitempty"`
	// Migrate is the release whose database migrations run next (services
	// with migrations only). While it is set, the migration task definition
	// runs its image and the service keeps running this release: the
	// release driver sets it, runs the migration task, then promotes it to
	// be the release and clears it.
	Migrate *Release `json:"migrate,omitempty"`
}

// MigrationRelease is the release the migration task definition runs: the
// pending Migrate release, or the release itself.
func (r Release) MigrationRelease() Release {
	if r.Migrate != nil {
		return *r.Migrate
	}
	return r
}

// HasMigrations reports whether a service runs database migrations.
func HasMigrations(service string) bool { return service == ServiceAPI }

// Builds reports whether the release builds its image.
func (r Release) Builds() bool { return r.ImageDigest == "" }

// ReleaseTagVersion returns "X.Y.Z" when Ref is the release tag
// "<service>-vX.Y.Z", and "" when Ref is a branch.
func (r Release) ReleaseTagVersion(service string) string {
	v, ok := strings.CutPrefix(r.Ref, service+"-v")
	if !ok || !isFullSemver(v) {
		return ""
	}
	return v
}

// isFullSemver reports whether v is a complete semantic version such as
// "1.4.2" or "1.5.0-rc.1": semver.IsValid alone also takes "1.4" and "1".
func isFullSemver(v string) bool {
	return fullSemver.MatchString(v) && semver.IsValid("v"+v)
}

var fullSemver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// SiteConfig configures the static frontend.
type SiteConfig struct {
	BucketName   string `json:"bucketName,omitempty"`
	PriceClass   string `json:"priceClass,omitempty"`
	KeepReleases *int   `json:"keepReleases,omitempty"`
}

// IdentityConfig configures the GitHub deploy identity.
type IdentityConfig struct {
	OIDCProviderArn   string `json:"oidcProviderArn,omitempty"`
	MaxSessionSeconds int    `json:"maxSessionSeconds,omitempty"`
	StateBucket       string `json:"stateBucket,omitempty"`
	StateKMSKeyArn    string `json:"stateKmsKeyArn,omitempty"`
}

// DefaultMaxSessionSeconds covers the longest release: image build and
// push, a migration, a rollout with draining, smoke checks, and a rollback
// with its own rollout and checks.
const DefaultMaxSessionSeconds = 7200

// RegistryConfig configures the ECR repositories.
type RegistryConfig struct {
	KeepReleaseImages  int `json:"keepReleaseImages,omitempty"`
	UntaggedExpireDays int `json:"untaggedExpireDays,omitempty"`
	// ReplicateToAccountID (dev) replicates every image to the prod
	// account's repositories, so that prod deploys the very digest dev
	// verified without rebuilding.
	ReplicateToAccountID string `json:"replicateToAccountId,omitempty"`
	// AcceptReplicationFromAccountID (prod) lets that account replicate
	// images into this account's repositories.
	AcceptReplicationFromAccountID string `json:"acceptReplicationFromAccountId,omitempty"`
}

// ConfigError is one invalid or missing config value. Its message names the
// key, the bad value and the fix.
type ConfigError struct {
	Key     string // full key, with a path inside objects: "experts:services.api.cpu"
	Value   string // the offending value as written, "" when missing
	Problem string
	Fix     string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("config ")
	b.WriteString(e.Key)
	if e.Value != "" {
		b.WriteString(" = ")
		b.WriteString(quoteValue(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

func quoteValue(v string) string {
	const limit = 80
	if len(v) > limit {
		v = v[:limit] + "…"
	}
	return strconv.Quote(v)
}

// LoadConfig reads and validates the stack's configuration from the Pulumi
// context: the only place the program reads config. The release is the one
// the driver handed to the update (experts:release), else the stack's live
// release (its own last "release" output, through a StackReference to
// itself), else, on a brand-new stack, the stack file's
// experts:bootstrapRelease. It registers that StackReference: call it once
// per program run.
func LoadConfig(ctx *pulumi.Context) (*Config, error) {
	values := make(map[string]string, len(ConfigKeys))
	for _, key := range ConfigKeys {
		if v, ok := ctx.GetConfig(key); ok {
			values[key] = v
		}
	}
	// The stack's own outputs are read on every update, also when the
	// driver hands the release, so that every update declares the same
	// resources (the reference and its provider).
	text, err := readLiveRelease(ctx)
	if err != nil {
		return nil, err
	}
	live := false
	if _, ok := values[KeyRelease]; !ok && text != "" {
		// Not a release: keep what runs now.
		values[KeyRelease], live = text, true
	}
	cfg, err := DecodeConfig(ctx.Stack(), values)
	if err != nil {
		return nil, err
	}
	if live {
		cfg.ReleaseSource = ReleaseFromLive
	}
	return cfg, nil
}

// DecodeConfig decodes and validates a stack's configuration from the
// engine's representation: full keys ("experts:services") mapped to their
// values, objects as JSON text. Every problem is reported, joined; each is
// a *ConfigError.
func DecodeConfig(stack string, values map[string]string) (*Config, error) {
	d := &decoder{values: values}
	for key := range values {
		if strings.HasPrefix(key, Project+":") && !slices.Contains(ConfigKeys, key) {
			d.fail(key, "", "unknown key (a typo?); known keys are "+strings.Join(ConfigKeys, ", "),
				"remove it, or rename it to one of the known keys")
		}
	}
	c := &Config{Stack: stack}
	c.Region = d.requireString(KeyRegion, "pulumi config set aws:region eu-west-1")
	c.Environment = d.requireString(KeyEnvironment, "pulumi config set "+KeyEnvironment+" dev (or prod)")
	c.AccountID = d.requireString(KeyAccountID, "pulumi config set "+KeyAccountID+" 123456789012")
	d.requireObject(KeyGitHub, &c.GitHub)
	d.requireObject(KeyDomain, &c.Domain)
	d.requireObject(KeyNetwork, &c.Network)
	var services map[string]ServiceConfig
	d.requireObject(KeyServices, &services)
	c.Services = services
	c.ReleaseSource = ReleaseFromDriver
	releaseKey := KeyRelease
	if _, ok := values[KeyRelease]; !ok {
		// No release handed to this update: a brand-new stack's first
		// update runs the bootstrap release of its stack file.
		releaseKey, c.ReleaseSource = KeyBootstrapRelease, ReleaseFromBootstrap
	}
	var releases map[string]Release
	d.requireObjectFix(releaseKey, &releases,
		"add "+KeyBootstrapRelease+" to the stack file for the first update of a new stack (see docs/deployments.md); "+
			KeyRelease+" is set only by deployctl release")
	c.Release = releases
	if _, ok := values[KeyDeployment]; ok {
		c.Deployment = &Deployment{}
		d.optionalObject(KeyDeployment, c.Deployment)
	}
	d.optionalObject(KeySite, &c.Site)
	d.optionalObject(KeyIdentity, &c.Identity)
	d.optionalObject(KeyRegistry, &c.Registry)
	c.LogRetentionDays = d.requireInt(KeyLogRetentionDays)
	c.ContainerInsights = d.optionalBool(KeyContainerInsights)
	if len(d.errs) > 0 {
		// Validating half-decoded values would only add noise.
		return nil, d.err()
	}
	applyDefaults(c)
	validate(d, c)
	if len(d.errs) > 0 {
		return nil, d.err()
	}
	return c, nil
}

func applyDefaults(c *Config) {
	if c.Identity.MaxSessionSeconds == 0 {
		c.Identity.MaxSessionSeconds = DefaultMaxSessionSeconds
	}
	if c.Registry.KeepReleaseImages == 0 {
		c.Registry.KeepReleaseImages = 30
	}
	if c.Registry.UntaggedExpireDays == 0 {
		c.Registry.UntaggedExpireDays = 7
	}
	if c.Site.BucketName == "" {
		c.Site.BucketName = fmt.Sprintf("fe-%s-%s-%s", Project, c.Environment, c.AccountID)
	}
	if c.Site.PriceClass == "" {
		c.Site.PriceClass = "PriceClass_100"
	}
	if c.Site.KeepReleases == nil {
		one := 1
		c.Site.KeepReleases = &one
	}
}

// decoder accumulates problems so that one run reports all of them.
type decoder struct {
	values map[string]string
	errs   []error
}

func (d *decoder) fail(key, value, problem, fix string) {
	d.errs = append(d.errs, &ConfigError{Key: key, Value: value, Problem: problem, Fix: fix})
}

func (d *decoder) err() error {
	sort.SliceStable(d.errs, func(i, j int) bool {
		var a, b *ConfigError
		errors.As(d.errs[i], &a)
		errors.As(d.errs[j], &b)
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Error() < b.Error()
	})
	return errors.Join(d.errs...)
}

func (d *decoder) requireString(key, fix string) string {
	v, ok := d.values[key]
	if !ok || strings.TrimSpace(v) == "" {
		d.fail(key, "", "required and not set", fix)
		return ""
	}
	return v
}

func (d *decoder) requireInt(key string) int {
	v, ok := d.values[key]
	if !ok {
		d.fail(key, "", "required and not set", "pulumi config set "+key+" <number>")
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		d.fail(key, v, "not an integer", "pulumi config set "+key+" <number>")
	}
	return n
}

func (d *decoder) optionalBool(key string) bool {
	v, ok := d.values[key]
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		d.fail(key, v, "not a boolean", "set it to true or false")
	}
	return b
}

func (d *decoder) requireObject(key string, out any) {
	d.requireObjectFix(key, out, "add the "+key+" object to the stack's Pulumi.<stack>.yaml (see Pulumi.yaml for its fields)")
}

func (d *decoder) requireObjectFix(key string, out any, fix string) {
	if _, ok := d.values[key]; !ok {
		d.fail(key, "", "required and not set", fix)
		return
	}
	d.optionalObject(key, out)
}

func (d *decoder) optionalObject(key string, out any) {
	v, ok := d.values[key]
	if !ok {
		return
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		d.fail(key, v, "not a valid object: "+describeJSONError(err), "see Pulumi.yaml for the fields of "+key)
		return
	}
	if dec.More() {
		d.fail(key, v, "trailing data after the object", "set exactly one object")
	}
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("field %q holds a %s, want %s", typeErr.Field, typeErr.Value, typeErr.Type)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

var (
	accountIDPattern   = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern      = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	githubOwnerPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)
	githubRepoPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	numericIDPattern   = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
	branchPattern      = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)
	branchGlobPattern  = regexp.MustCompile(`^[A-Za-z0-9._/-]+\*?$`)
	hostPattern        = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	gitShaPattern      = regexp.MustCompile(`^[0-9a-f]{40}$`)
	digestPattern      = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	vpcIDPattern       = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetIDPattern    = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	bucketPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	envVarPattern      = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
	uuidPattern        = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
)

// ReservedEnvironment are the variables the program sets on every
// container; config may not override them.
var ReservedEnvironment = []string{"VERSION", "GIT_SHA", "ECS_DEPLOYMENT_VERSION"}

// logRetentionValues are the retention periods CloudWatch Logs accepts.
var logRetentionValues = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// fargateMemory lists, per CPU units, the memory sizes (MiB) Fargate accepts.
var fargateMemory = map[int][]int{
	256:   {512, 1024, 2048},
	512:   steps(1024, 4096, 1024),
	1024:  steps(2048, 8192, 1024),
	2048:  steps(4096, 16384, 1024),
	4096:  steps(8192, 30720, 1024),
	8192:  steps(16384, 61440, 4096),
	16384: steps(32768, 122880, 8192),
}

func steps(from, to, step int) []int {
	var out []int
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

func validate(d *decoder, c *Config) {
	if !regionPattern.MatchString(c.Region) {
		d.fail(KeyRegion, c.Region, "not an AWS region name", "pulumi config set aws:region eu-west-1")
	}
	if c.Environment != EnvDev && c.Environment != EnvProd {
		d.fail(KeyEnvironment, c.Environment, `must be "dev" or "prod"`, "pulumi config set "+KeyEnvironment+" dev")
	}
	if !accountIDPattern.MatchString(c.AccountID) {
		d.fail(KeyAccountID, c.AccountID, "must be exactly 12 digits (quote it in YAML so leading zeros survive)",
			"pulumi config set "+KeyAccountID+" 123456789012")
	}
	validateGitHub(d, c)
	validateDomain(d, c)
	validateNetwork(d, c.Network)
	validateServices(d, c)
	validateReleases(d, c)
	validateSite(d, c.Site)
	validateIdentity(d, c)
	validateRegistry(d, c)
	if !slices.Contains(logRetentionValues, c.LogRetentionDays) {
		d.fail(KeyLogRetentionDays, strconv.Itoa(c.LogRetentionDays), "not a retention CloudWatch Logs accepts",
			"use one of "+joinInts(logRetentionValues))
	}
}

func validateGitHub(d *decoder, c *Config) {
	g := c.GitHub
	key := KeyGitHub
	if !githubOwnerPattern.MatchString(g.Owner) {
		d.fail(key+".owner", g.Owner, "not a GitHub user or organization name (letters, digits, single hyphens, 1-39 characters)",
			"set the owner exactly as in github.com/OWNER/REPO")
	}
	if !githubRepoPattern.MatchString(g.Repo) || g.Repo == "." || g.Repo == ".." {
		d.fail(key+".repo", g.Repo, "not a GitHub repository name (letters, digits, '.', '_', '-', 1-100 characters)",
			"set the repository exactly as in github.com/OWNER/REPO")
	}
	switch g.SubjectFormat {
	case SubjectFormatName:
	case SubjectFormatID:
		if !numericIDPattern.MatchString(g.OwnerID) {
			d.fail(key+".ownerId", g.OwnerID, `required by subjectFormat "id": the owner's numeric id`,
				"read it from https://api.github.com/users/OWNER (field id)")
		}
		if !numericIDPattern.MatchString(g.RepoID) {
			d.fail(key+".repoId", g.RepoID, `required by subjectFormat "id": the repository's numeric id`,
				"read it from https://api.github.com/repos/OWNER/REPO (field id)")
		}
	default:
		d.fail(key+".subjectFormat", g.SubjectFormat,
			`must be "name" (repo:OWNER/REPO:…) or "id" (repo:OWNER@ID/REPO@ID:…, repositories created after 2026-07-15 or opted in)`,
			"set it to the format your repository's OIDC tokens use")
	}
	if len(g.DevBranchPatterns) > 0 && c.Environment == EnvProd {
		d.fail(key+".devBranchPatterns", strings.Join(g.DevBranchPatterns, ","),
			"refused on prod: prod roles trust only the approval-gated environment", "remove devBranchPatterns from the prod stack")
	}
	for i, p := range g.DevBranchPatterns {
		if !branchGlobPattern.MatchString(p) || strings.Count(p, "*") > 1 || p == "*" || strings.HasPrefix(p, "*") {
			d.fail(fmt.Sprintf("%s.devBranchPatterns[%d]", key, i), p,
				"must be a branch name, optionally ending in one '*' after a fixed prefix (\"feature/*\")",
				"use an exact branch or a narrow prefix pattern")
		}
	}
}

func validateDomain(d *decoder, c *Config) {
	dm := c.Domain
	key := KeyDomain
	if !hostPattern.MatchString(dm.Name) {
		d.fail(key+".name", dm.Name, "not a DNS name", "set the environment's domain, such as dev.experts.example.com")
	}
	for field, host := range map[string]string{"apiHost": dm.APIHost, "mcpHost": dm.MCPHost, "appHost": dm.AppHost} {
		if host != "" && !hostPattern.MatchString(host) {
			d.fail(key+"."+field, host, "not a DNS name", "remove it to use the default under domain.name")
		}
	}
	certPattern := regexp.MustCompile(`^arn:aws:acm:([a-z0-9-]+):([0-9]{12}):certificate/` + uuidPattern + `$`)
	checkCert := func(field, arn, region, fix string) {
		if arn == "" {
			d.fail(key+"."+field, "", "required when a domain is set", fix)
			return
		}
		m := certPattern.FindStringSubmatch(arn)
		switch {
		case m == nil:
			d.fail(key+"."+field, arn, "not an ACM certificate ARN", fix)
		case m[1] != region:
			d.fail(key+"."+field, arn, "certificate is in "+m[1]+", must be in "+region, fix)
		case m[2] != c.AccountID:
			d.fail(key+"."+field, arn, "certificate belongs to account "+m[2]+", not "+c.AccountID, fix)
		}
	}
	checkCert("certificateArn", dm.CertificateArn, c.Region,
		"request a certificate for *."+dm.Name+" in "+c.Region+" and set its ARN")
	checkCert("siteCertificateArn", dm.SiteCertificateArn, "us-east-1",
		"CloudFront takes certificates from us-east-1 only: request one there and set its ARN")
}

func validateNetwork(d *decoder, n NetworkConfig) {
	key := KeyNetwork
	if n.Existing() {
		if n.CIDR != "" || n.AvailabilityZones != 0 || n.NATGateways != "" {
			d.fail(key, n.VpcID, "vpcId uses an existing VPC: cidr, availabilityZones and natGateways would be ignored",
				"set either vpcId with its subnets, or cidr/availabilityZones/natGateways")
		}
		if !vpcIDPattern.MatchString(n.VpcID) {
			d.fail(key+".vpcId", n.VpcID, "not a VPC id", "set it like vpc-0123456789abcdef0")
		}
		for field, ids := range map[string][]string{"publicSubnetIds": n.PublicSubnetIDs, "privateSubnetIds": n.PrivateSubnetIDs} {
			if len(ids) < 2 {
				d.fail(key+"."+field, strings.Join(ids, ","), "needs subnets in at least two availability zones",
					"list at least two subnet ids")
			}
			for _, id := range ids {
				if !subnetIDPattern.MatchString(id) {
					d.fail(key+"."+field, id, "not a subnet id", "set ids like subnet-0123456789abcdef0")
				}
			}
		}
		return
	}
	prefix, err := netip.ParsePrefix(n.CIDR)
	switch {
	case err != nil:
		d.fail(key+".cidr", n.CIDR, "not a CIDR block", "set a private block such as 10.20.0.0/16")
	case !prefix.Addr().Is4() || !prefix.Addr().IsPrivate() || prefix.Bits() < 16 || prefix.Bits() > 20 || prefix.Masked() != prefix:
		d.fail(key+".cidr", n.CIDR, "must be a private IPv4 block from /16 to /20", "set a block such as 10.20.0.0/16")
	}
	if n.AvailabilityZones < 2 || n.AvailabilityZones > 3 {
		d.fail(key+".availabilityZones", strconv.Itoa(n.AvailabilityZones), "must be 2 or 3", "set 2 for dev, 3 for prod")
	}
	if n.NATGateways != NATSingle && n.NATGateways != NATOnePerAZ {
		d.fail(key+".natGateways", n.NATGateways, `must be "single" or "onePerAz"`, "single for dev, onePerAz for prod")
	}
}

func validateServices(d *decoder, c *Config) {
	for name := range c.Services {
		if !slices.Contains(Services, name) {
			d.fail(KeyServices+"."+name, "", "unknown service", "the services are "+strings.Join(Services, ", "))
		}
	}
	for _, name := range Services {
		s, ok := c.Services[name]
		key := KeyServices + "." + name
		if !ok {
			d.fail(key, "", "required and not set", "add the "+name+" service to "+KeyServices)
			continue
		}
		mem, ok := fargateMemory[s.CPU]
		switch {
		case !ok:
			d.fail(key+".cpu", strconv.Itoa(s.CPU), "not a Fargate CPU size", "use one of 256, 512, 1024, 2048, 4096, 8192, 16384")
		case !slices.Contains(mem, s.Memory):
			d.fail(key+".memory", strconv.Itoa(s.Memory), fmt.Sprintf("Fargate does not accept this memory with cpu %d", s.CPU),
				"use one of "+joinInts(mem))
		}
		minDesired := 1
		if c.IsProd() {
			minDesired = 2
		}
		if s.DesiredCount < minDesired || s.DesiredCount > 100 {
			d.fail(key+".desiredCount", strconv.Itoa(s.DesiredCount),
				fmt.Sprintf("must be %d to 100 in %s (prod runs at least two tasks so one can fail)", minDesired, c.Environment),
				fmt.Sprintf("set at least %d", minDesired))
		}
		if s.MinHealthyPercent < 0 || s.MinHealthyPercent > 100 {
			d.fail(key+".minHealthyPercent", strconv.Itoa(s.MinHealthyPercent), "must be 0 to 100", "use 100 for prod, 50 for dev")
		} else if c.IsProd() && s.MinHealthyPercent < 100 {
			d.fail(key+".minHealthyPercent", strconv.Itoa(s.MinHealthyPercent), "prod rollouts must keep full capacity", "set 100")
		}
		if s.MinHealthyPercent > s.MaxPercent {
			d.fail(key+".minHealthyPercent", strconv.Itoa(s.MinHealthyPercent),
				fmt.Sprintf("greater than maxPercent %d", s.MaxPercent), "lower minHealthyPercent or raise maxPercent")
		} else if s.MaxPercent < 100 || s.MaxPercent > 200 {
			d.fail(key+".maxPercent", strconv.Itoa(s.MaxPercent), "must be 100 to 200", "use 200")
		} else if s.MinHealthyPercent == 100 && s.MaxPercent == 100 {
			d.fail(key+".maxPercent", "100", "with minHealthyPercent 100 a rolling update can never start a new task",
				"raise maxPercent to 200")
		}
		if s.HealthCheckGracePeriodSeconds < 1 || s.HealthCheckGracePeriodSeconds > 600 {
			d.fail(key+".healthCheckGracePeriodSeconds", strconv.Itoa(s.HealthCheckGracePeriodSeconds),
				"must be 1 to 600 (0 lets the load balancer kill tasks that are still starting)", "set the start-up time plus a margin, such as 60")
		}
		if dr := s.DeregistrationDelay(); dr < 0 || dr > 3600 {
			d.fail(key+".deregistrationDelaySeconds", strconv.Itoa(dr), "must be 0 to 3600", "leave it unset for the 30 s default")
		}
		if s.ContainerPort < 1 || s.ContainerPort > 65535 {
			d.fail(key+".containerPort", strconv.Itoa(s.ContainerPort), "not a TCP port", "set the port the container listens on")
		}
		if c := s.HealthCheckCommand; len(c) > 0 && (len(c) != 1 || c[0] != HealthCheckNone) &&
			(len(c) < 2 || (c[0] != "CMD" && c[0] != "CMD-SHELL")) {
			d.fail(key+".healthCheckCommand", strings.Join(c, " "), "is neither [\"NONE\"] nor an ECS command [\"CMD\", ...] or [\"CMD-SHELL\", \"...\"]",
				"remove it for the default check, or set it like [\"CMD\", \"/app/healthcheck\"]")
		}
		if !strings.HasPrefix(s.HealthCheckPath, "/") {
			d.fail(key+".healthCheckPath", s.HealthCheckPath, "must be an absolute path", "set /healthz")
		}
		if s.StopTimeoutSeconds < 2 || s.StopTimeoutSeconds > 120 {
			d.fail(key+".stopTimeoutSeconds", strconv.Itoa(s.StopTimeoutSeconds), "Fargate accepts 2 to 120", "set 30")
		}
		for _, k := range sortedKeys(s.Environment) {
			if !envVarPattern.MatchString(k) {
				d.fail(key+".environment."+k, s.Environment[k], "not an environment variable name", "use UPPER_SNAKE_CASE")
			}
			if slices.Contains(ReservedEnvironment, k) {
				d.fail(key+".environment."+k, s.Environment[k], "set by the release itself", "remove it")
			}
			if _, dup := s.Secrets[k]; dup {
				d.fail(key+".environment."+k, s.Environment[k], "also listed under secrets", "keep it in one place")
			}
		}
		for _, k := range sortedKeys(s.Secrets) {
			if !envVarPattern.MatchString(k) || slices.Contains(ReservedEnvironment, k) {
				d.fail(key+".secrets."+k, s.Secrets[k], "not a usable environment variable name", "use UPPER_SNAKE_CASE")
			}
			if !isSecretArn(s.Secrets[k], c.Region, c.AccountID) {
				d.fail(key+".secrets."+k, s.Secrets[k],
					"must be the ARN of a Secrets Manager secret or SSM parameter in "+c.Region+", account "+c.AccountID,
					"copy the full ARN from the console or the CLI")
			}
		}
		if name == ServiceAPI {
			if _, ok := s.Secrets["DATABASE_URL"]; !ok {
				d.fail(key+".secrets.DATABASE_URL", "", "the api and its migrations need the database URL",
					"store it in Secrets Manager and set its ARN here")
			}
		}
	}
}

var (
	secretsManagerArn = regexp.MustCompile(`^arn:aws:secretsmanager:([a-z0-9-]+):([0-9]{12}):secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`)
	ssmParameterArn   = regexp.MustCompile(`^arn:aws:ssm:([a-z0-9-]+):([0-9]{12}):parameter/[A-Za-z0-9/_.-]+$`)
)

func isSecretArn(arn, region, account string) bool {
	for _, p := range []*regexp.Regexp{secretsManagerArn, ssmParameterArn} {
		if m := p.FindStringSubmatch(arn); m != nil {
			return m[1] == region && m[2] == account
		}
	}
	return false
}

func validateReleases(d *decoder, c *Config) {
	releaseKey := KeyRelease
	if c.ReleaseSource == ReleaseFromBootstrap {
		releaseKey = KeyBootstrapRelease
	}
	for name := range c.Release {
		if !slices.Contains(Services, name) {
			d.fail(releaseKey+"."+name, "", "unknown service", "the services are "+strings.Join(Services, ", "))
		}
	}
	validateDeployment(d, c.Deployment)
	for _, name := range Services {
		r, ok := c.Release[name]
		key := releaseKey + "." + name
		if !ok {
			d.fail(key, "", "required and not set", "set it (see docs/deployments.md, Release configuration); for a new stack copy the dev stack's")
			continue
		}
		validateRelease(d, c, key, name, r)
		if r.Migrate == nil {
			continue
		}
		switch {
		case !HasMigrations(name):
			d.fail(key+".migrate", r.Migrate.Version, "the "+name+" service runs no migrations", "remove migrate")
		case r.Migrate.Migrate != nil:
			d.fail(key+".migrate.migrate", r.Migrate.Migrate.Version, "a pending migration cannot hold another", "remove the inner migrate")
		default:
			validateRelease(d, c, key+".migrate", name, *r.Migrate)
		}
	}
}

// validateRelease checks one release of service name, at config path key.
func validateRelease(d *decoder, c *Config, key, name string, r Release) {
	if !isFullSemver(r.Version) {
		d.fail(key+".version", r.Version, "not a full semantic version X.Y.Z (without a leading v)", "set it like 1.4.2")
	}
	if !gitShaPattern.MatchString(r.GitSha) {
		d.fail(key+".gitSha", r.GitSha, "must be the full 40-character lowercase commit id", "use git rev-parse HEAD")
	}
	if !branchPattern.MatchString(r.Ref) || strings.Contains(r.Ref, "..") || strings.HasPrefix(r.Ref, "refs/") {
		d.fail(key+".ref", r.Ref, "must be a branch name (main) or a release tag ("+name+"-vX.Y.Z)", "set the branch or tag that was built")
	} else if tagged := r.ReleaseTagVersion(name); tagged != "" && tagged != r.Version {
		d.fail(key+".ref", r.Ref, "release tag names version "+tagged+" but version is "+r.Version, "make them agree")
	}
	if r.ImageDigest != "" && !digestPattern.MatchString(r.ImageDigest) {
		d.fail(key+".imageDigest", r.ImageDigest, "not an image digest", "set it like sha256:<64 lowercase hex digits>")
	}
	if r.Builds() {
		if c.IsProd() {
			d.fail(key+".imageDigest", "", "prod never builds: it deploys the digest dev verified", "set the digest of the dev release")
		}
		if s, ok := c.Services[name]; ok && (s.BuildContext == "" || s.Dockerfile == "") {
			d.fail(KeyServices+"."+name+".buildContext", s.BuildContext, "the release builds its image but no build context and Dockerfile are set",
				"set buildContext and dockerfile, or give the release an imageDigest")
		}
	}
}

func validateSite(d *decoder, s SiteConfig) {
	key := KeySite
	if !bucketPattern.MatchString(s.BucketName) || strings.Contains(s.BucketName, "..") {
		d.fail(key+".bucketName", s.BucketName, "not an S3 bucket name (3-63 lowercase letters, digits, '.', '-')", "fix or remove it")
	}
	if !slices.Contains([]string{"PriceClass_100", "PriceClass_200", "PriceClass_All"}, s.PriceClass) {
		d.fail(key+".priceClass", s.PriceClass, "not a CloudFront price class", "use PriceClass_100, PriceClass_200 or PriceClass_All")
	}
	if k := *s.KeepReleases; k < 0 || k > 10 {
		d.fail(key+".keepReleases", strconv.Itoa(k), "must be 0 to 10", "keep 1 so users on the previous page can still load its assets")
	}
}

func validateIdentity(d *decoder, c *Config) {
	id := c.Identity
	key := KeyIdentity
	if id.OIDCProviderArn != "" {
		want := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com", c.AccountID)
		if id.OIDCProviderArn != want {
			d.fail(key+".oidcProviderArn", id.OIDCProviderArn, "must be this account's GitHub OIDC provider, "+want,
				"copy the ARN from IAM > Identity providers, or remove it to create the provider")
		}
	}
	if id.MaxSessionSeconds < 3600 || id.MaxSessionSeconds > 43200 {
		d.fail(key+".maxSessionSeconds", strconv.Itoa(id.MaxSessionSeconds), "IAM accepts 3600 to 43200",
			"leave it unset for 7200, enough for a release and its rollback")
	}
	if id.StateBucket != "" && !bucketPattern.MatchString(id.StateBucket) {
		d.fail(key+".stateBucket", id.StateBucket, "not an S3 bucket name", "set the bucket of the Pulumi backend (s3://BUCKET)")
	}
	if id.StateKMSKeyArn != "" {
		p := regexp.MustCompile(`^arn:aws:kms:([a-z0-9-]+):` + regexp.QuoteMeta(c.AccountID) + `:key/` + uuidPattern + `$`)
		if !p.MatchString(id.StateKMSKeyArn) {
			d.fail(key+".stateKmsKeyArn", id.StateKMSKeyArn, "not a KMS key ARN in account "+c.AccountID, "set the key ARN (not an alias)")
		}
		if id.StateBucket == "" {
			d.fail(key+".stateKmsKeyArn", id.StateKMSKeyArn, "set without stateBucket", "set stateBucket too, or remove the key")
		}
	}
}

func validateRegistry(d *decoder, c *Config) {
	r := c.Registry
	key := KeyRegistry
	if r.KeepReleaseImages < 1 || r.KeepReleaseImages > 1000 {
		d.fail(key+".keepReleaseImages", strconv.Itoa(r.KeepReleaseImages), "must be 1 to 1000", "keep enough releases to roll back, such as 30")
	}
	if r.UntaggedExpireDays < 1 || r.UntaggedExpireDays > 365 {
		d.fail(key+".untaggedExpireDays", strconv.Itoa(r.UntaggedExpireDays), "must be 1 to 365", "use 7")
	}
	for field, acct := range map[string]string{"replicateToAccountId": r.ReplicateToAccountID, "acceptReplicationFromAccountId": r.AcceptReplicationFromAccountID} {
		if acct == "" {
			continue
		}
		if !accountIDPattern.MatchString(acct) || acct == c.AccountID {
			d.fail(key+"."+field, acct, "must be another account's 12-digit id", "set the other environment's account")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}
