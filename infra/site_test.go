package infra

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/experts/platform/infra/mockaws"
	"github.com/experts/platform/infra/policy"
)

// Type tokens of the site's resources that only the tests look up.
const (
	tokenBucketOwnershipControls = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	tokenBucketEncryption        = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tokenBucketVersioning        = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	tokenBucketLifecycle         = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	tokenCloudFrontFunction      = "aws:cloudfront/function:Function"
	tokenCachePolicy             = "aws:cloudfront/cachePolicy:CachePolicy"
	tokenResponseHeadersPolicy   = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
)

// siteRun is a run of the site component alone, with its outputs resolved.
type siteRun struct {
	*stackRun
	outputs map[string]string
}

func runSite(t *testing.T, stack string) *siteRun {
	t.Helper()
	run, outputs, err := tryRunComponent(t, stack, nil, func(ctx *pulumi.Context, cfg *Config) (pulumi.Map, error) {
		site, err := NewSite(ctx, "site", &SiteArgs{Config: cfg})
		if err != nil {
			return nil, err
		}
		return site.Outputs(), nil
	})
	if err != nil {
		t.Fatalf("run site of stack %s: %v", stack, err)
	}
	return &siteRun{stackRun: run, outputs: stringOutputs(t, outputs)}
}

// sitePlainAt walks a plain value along keys (object fields) and indexes (list
// positions).
func sitePlainAt(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: want an object for %q, have %T", path, p, v)
			}
			v = m[p]
		case int:
			l, ok := v.([]any)
			if !ok || p >= len(l) {
				t.Fatalf("at %v: want a list with index %d, have %v", path, p, v)
			}
			v = l[p]
		}
	}
	return v
}

func TestSiteBucketIsPrivateEncryptedAndVersioned(t *testing.T) {
	tests := []struct {
		stack          string
		bucket         string
		forceDestroy   bool
		noncurrentDays float64
	}{
		{"dev", "fe-experts-dev-210987654321", true, 7},
		{"prod", "fe-experts-prod-123456789012", false, 30},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			run := runSite(t, tt.stack)
			bucket := run.one(t, typeBucketV2, "site-bucket")
			want := map[string]any{"bucket": tt.bucket, "forceDestroy": tt.forceDestroy}
			if diff := cmp.Diff(want, bucket.Inputs); diff != "" {
				t.Errorf("bucket inputs (-want +got):\n%s", diff)
			}
			access := run.one(t, typeBucketPublicAccessBlock, "site-bucket-public-access")
			wantAccess := map[string]any{
				"bucket": tt.bucket, "blockPublicAcls": true, "blockPublicPolicy": true,
				"ignorePublicAcls": true, "restrictPublicBuckets": true,
			}
			if diff := cmp.Diff(wantAccess, access.Inputs); diff != "" {
				t.Errorf("public access block (-want +got):\n%s", diff)
			}
			ownership := run.one(t, tokenBucketOwnershipControls, "site-bucket-ownership")
			if got := sitePlainAt(t, ownership.Inputs, "rule", "objectOwnership"); got != "BucketOwnerEnforced" {
				t.Errorf("object ownership = %v, want BucketOwnerEnforced (ACLs off)", got)
			}
			sse := run.one(t, tokenBucketEncryption, "site-bucket-encryption")
			if got := sitePlainAt(t, sse.Inputs, "rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm"); got != "AES256" {
				t.Errorf("default encryption = %v, want AES256", got)
			}
			versioning := run.one(t, tokenBucketVersioning, "site-bucket-versioning")
			if got := sitePlainAt(t, versioning.Inputs, "versioningConfiguration", "status"); got != "Enabled" {
				t.Errorf("versioning = %v, want Enabled", got)
			}
			lifecycle := run.one(t, tokenBucketLifecycle, "site-bucket-lifecycle")
			rule := sitePlainAt(t, lifecycle.Inputs, "rules", 0)
			if got := sitePlainAt(t, rule, "noncurrentVersionExpiration", "noncurrentDays"); got != tt.noncurrentDays {
				t.Errorf("noncurrent versions expire after %v days, want %v", got, tt.noncurrentDays)
			}
			if got := sitePlainAt(t, rule, "status"); got != "Enabled" {
				t.Errorf("lifecycle rule status = %v, want Enabled", got)
			}
			for _, r := range []string{typeBucketPublicAccessBlock, tokenBucketOwnershipControls, tokenBucketEncryption, tokenBucketVersioning, tokenBucketLifecycle, typeBucketPolicy} {
				for _, res := range run.ofType(r) {
					want := tt.bucket
					if strings.HasPrefix(res.Name, "site-logs-") {
						want = tt.bucket + "-logs"
					}
					if res.Inputs["bucket"] != want {
						t.Errorf("%s applies to bucket %v, want %s", res.Name, res.Inputs["bucket"], tt.bucket)
					}
				}
			}
		})
	}
}

func TestSiteBucketPolicyAdmitsOnlyThisDistributionOverTLS(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			run := runSite(t, stack)
			text, ok := run.one(t, typeBucketPolicy, "site-bucket-policy").Inputs["policy"].(string)
			if !ok {
				t.Fatal("bucket policy is not a known string")
			}
			golden(t, "site-bucket-policy-"+stack, text)

			doc, err := ParsePolicyDocument(text)
			if err != nil {
				t.Fatal(err)
			}
			distArn := run.outputs["siteDistributionArn"]
			if distArn == "" {
				t.Fatal("siteDistributionArn did not resolve")
			}
			bucketArn := "arn:aws:s3:::" + run.one(t, typeBucketV2, "site-bucket").Inputs["bucket"].(string)
			type grant struct{ Effect, Action, Resource, SourceArn string }
			var got []grant
			for _, st := range doc.Statement {
				if st.Principal["Service"] == nil {
					continue
				}
				src, _ := st.Condition["StringEquals"]["AWS:SourceArn"].(string)
				for _, a := range st.Action {
					for _, r := range st.Resource {
						got = append(got, grant{st.Effect, a, r, src})
					}
				}
			}
			// CloudFront reads objects and lists the bucket (so that a
			// missing key is S3's 404, not 403), for this distribution only,
			// and never reads the publisher's manifests.
			want := []grant{
				{"Allow", "s3:GetObject", bucketArn + "/*", distArn},
				{"Allow", "s3:ListBucket", bucketArn, distArn},
				{"Deny", "s3:GetObject", bucketArn + "/_releases/*", ""},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CloudFront's grants (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSiteDistributionServesTheBucketThroughOAC(t *testing.T) {
	tests := []struct {
		stack, host, cert, priceClass, bucket string
	}{
		{"dev", "app.dev.experts.example.com", "arn:aws:acm:us-east-1:210987654321:certificate/0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d",
			"PriceClass_100", "fe-experts-dev-210987654321"},
		{"prod", "app.experts.example.com", "arn:aws:acm:us-east-1:123456789012:certificate/1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
			"PriceClass_All", "fe-experts-prod-123456789012"},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			run := runSite(t, tt.stack)
			dist := run.one(t, typeDistribution, "site-cdn")
			in := dist.Inputs

			settings := map[string]any{}
			for _, k := range []string{"aliases", "viewerCertificate", "priceClass", "httpVersion", "defaultRootObject", "enabled", "isIpv6Enabled", "customErrorResponses"} {
				settings[k] = in[k]
			}
			wantSettings := map[string]any{
				"aliases": []any{tt.host},
				"viewerCertificate": map[string]any{
					"acmCertificateArn": tt.cert, "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2021",
				},
				"priceClass":        tt.priceClass,
				"httpVersion":       "http2and3",
				"defaultRootObject": "index.html",
				"enabled":           true,
				"isIpv6Enabled":     true,
				// A missing file gets a small page and stays a 404: no error
				// page may turn a missing asset into a 200.
				"customErrorResponses": []any{map[string]any{
					"errorCode": float64(404), "responseCode": float64(404),
					"responsePagePath": "/_errors/404.html", "errorCachingMinTtl": float64(10),
				}},
			}
			if diff := cmp.Diff(wantSettings, settings); diff != "" {
				t.Errorf("distribution settings (-want +got):\n%s", diff)
			}

			origins, _ := in["origins"].([]any)
			if len(origins) != 1 {
				t.Fatalf("want one origin, got %v", origins)
			}
			origin, _ := origins[0].(map[string]any)
			if got, want := origin["domainName"], tt.bucket+".s3.eu-west-1.amazonaws.com"; got != want {
				t.Errorf("origin domain = %v, want the bucket's regional endpoint %s", got, want)
			}
			// Mock ids start with the logical name of the resource.
			if got, _ := origin["originAccessControlId"].(string); !strings.HasPrefix(got, "site-oac-") {
				t.Errorf("origin access control id = %q, want the site's OAC", got)
			}
			if _, ok := origin["s3OriginConfig"]; ok {
				t.Errorf("origin also has an s3OriginConfig (legacy origin access identity): %v", origin["s3OriginConfig"])
			}
			oac := run.one(t, typeOriginAccessControl, "site-oac")
			wantOAC := map[string]any{"originAccessControlOriginType": "s3", "signingBehavior": "always", "signingProtocol": "sigv4"}
			for k, v := range wantOAC {
				if oac.Inputs[k] != v {
					t.Errorf("OAC %s = %v, want %v", k, oac.Inputs[k], v)
				}
			}

			def, _ := in["defaultCacheBehavior"].(map[string]any)
			router := run.one(t, tokenCloudFrontFunction, "site-router")
			routerArn := "arn:aws:cloudfront::" + run.cfg.AccountID + ":function/" + router.Inputs["name"].(string)
			wantDefault := map[string]any{
				"targetOriginId":       origin["originId"],
				"viewerProtocolPolicy": "redirect-to-https",
				"allowedMethods":       []any{"GET", "HEAD"},
				"cachedMethods":        []any{"GET", "HEAD"},
				"compress":             true,
				"functionAssociations": []any{map[string]any{"eventType": "viewer-request", "functionArn": routerArn}},
			}
			gotDefault := map[string]any{}
			for k := range wantDefault {
				gotDefault[k] = def[k]
			}
			if diff := cmp.Diff(wantDefault, gotDefault); diff != "" {
				t.Errorf("default cache behavior (-want +got):\n%s", diff)
			}
			if got, _ := def["cachePolicyId"].(string); !strings.HasPrefix(got, "site-cache-") {
				t.Errorf("cache policy id = %q, want the site's cache policy", got)
			}
			if got, _ := def["responseHeadersPolicyId"].(string); !strings.HasPrefix(got, "site-headers-") {
				t.Errorf("response headers policy id = %q, want the site's headers policy", got)
			}
			for _, b := range asList(in["orderedCacheBehaviors"]) {
				t.Errorf("unexpected ordered cache behavior %v", b)
			}
		})
	}
}

func TestSiteCacheFollowsObjectHeadersAndCompresses(t *testing.T) {
	run := runSite(t, "dev")
	cache := run.one(t, tokenCachePolicy, "site-cache").Inputs
	want := map[string]any{
		"minTtl": 0.0, "defaultTtl": 300.0, "maxTtl": 31536000.0,
		"parametersInCacheKeyAndForwardedToOrigin": map[string]any{
			"enableAcceptEncodingGzip":   true,
			"enableAcceptEncodingBrotli": true,
			"cookiesConfig":              map[string]any{"cookieBehavior": "none"},
			"headersConfig":              map[string]any{"headerBehavior": "none"},
			"queryStringsConfig":         map[string]any{"queryStringBehavior": "none"},
		},
	}
	got := map[string]any{}
	for k := range want {
		got[k] = cache[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cache policy (-want +got):\n%s", diff)
	}
}

func TestSiteSendsSecurityHeaders(t *testing.T) {
	run := runSite(t, "prod")
	headers := run.one(t, tokenResponseHeadersPolicy, "site-headers").Inputs
	want := map[string]any{
		"strictTransportSecurity": map[string]any{"accessControlMaxAgeSec": 63072000.0, "includeSubdomains": true, "override": true},
		"contentTypeOptions":      map[string]any{"override": true},
		"frameOptions":            map[string]any{"frameOption": "DENY", "override": true},
		"referrerPolicy":          map[string]any{"referrerPolicy": "strict-origin-when-cross-origin", "override": true},
		"contentSecurityPolicy": map[string]any{
			"contentSecurityPolicy": "base-uri 'self'; frame-ancestors 'none'; object-src 'none'", "override": true,
		},
	}
	if diff := cmp.Diff(want, headers["securityHeadersConfig"]); diff != "" {
		t.Errorf("security headers (-want +got):\n%s", diff)
	}
}

func TestSiteRouterFunctionIsPublished(t *testing.T) {
	run := runSite(t, "dev")
	router := run.one(t, tokenCloudFrontFunction, "site-router").Inputs
	want := map[string]any{"name": siteRouterName(runSite(t, "dev").cfg, siteRouterCode), "runtime": "cloudfront-js-2.0", "publish": true, "code": siteRouterCode}
	got := map[string]any{}
	for k := range want {
		got[k] = router[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("router function (-want +got):\n%s", diff)
	}
	if !strings.Contains(siteRouterCode, "function handler(event)") {
		t.Error("router code has no handler(event)")
	}
}

// TestSiteRouterRoutesAppPathsOnly runs the router's JavaScript under node,
// the closest runtime at hand to CloudFront's.
func TestSiteRouterRoutesAppPathsOnly(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: the router's JavaScript runs under Node.js; run bash .ci/test, which installs it")
	}
	tests := []struct{ uri, want string }{
		{"/", "/index.html"},
		{"/index.html", "/index.html"},
		{"/experts/42", "/index.html"},
		{"/experts/42/", "/index.html"},
		{"/experts/jane.doe", "/index.html"},
		{"/settings", "/index.html"},
		{"/v1.2/notes", "/index.html"},
		{"/docs/", "/index.html"},
		{"/.hidden", "/index.html"},
		{"/about/index.html", "/about/index.html"},
		{"/assets/missing.js", "/assets/missing.js"},
		{"/assets/index-BwJsDzqP.JS", "/assets/index-BwJsDzqP.JS"},
		{"/assets/app-3f9a1c.js", "/assets/app-3f9a1c.js"},
		{"/assets/index-DiwrgTda.css.map", "/assets/index-DiwrgTda.css.map"},
		{"/models/robot.glb", "/models/robot.glb"},
		{"/site.webmanifest", "/site.webmanifest"},
		{"/_errors/404.html", "/_errors/404.html"},
		{"/assets/chunk-gone-0000.js", "/assets/chunk-gone-0000.js"},
		{"/favicon.ico", "/favicon.ico"},
		{"/.well-known/apple-app-site-association", "/.well-known/apple-app-site-association"},
		{"/_releases/20260101T000000Z.json", "404"},
		{"/_releases/", "404"},
	}
	uris := make([]string, len(tests))
	for i, tt := range tests {
		uris[i] = tt.uri
	}
	input, err := json.Marshal(uris)
	if err != nil {
		t.Fatal(err)
	}
	script := siteRouterCode + `
var uris = ` + string(input) + `;
console.log(JSON.stringify(uris.map(function (uri) {
  var out = handler({ request: { uri: uri, method: 'GET', querystring: {}, headers: {}, cookies: {} } });
  return out.statusCode ? String(out.statusCode) : out.uri;
})));
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	for i, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			if i >= len(got) || got[i] != tt.want {
				t.Errorf("router(%q) = %v, want %q", tt.uri, got, tt.want)
			}
		})
	}
}

func TestSiteOutputs(t *testing.T) {
	run := runSite(t, "dev")
	id := run.outputs["siteDistributionId"]
	want := map[string]string{
		"siteBucketName":      "fe-experts-dev-210987654321",
		"siteDistributionId":  id,
		"siteDistributionArn": "arn:aws:cloudfront::210987654321:distribution/" + id,
		"siteUrl":             "https://app.dev.experts.example.com",
	}
	if id == "" {
		t.Error("siteDistributionId is empty")
	}
	if diff := cmp.Diff(want, run.outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}

func TestSiteChildrenAreParentedAndNamedAfterTheComponent(t *testing.T) {
	run := runSite(t, "dev")
	component := run.one(t, siteTypeToken, "site")
	var children []string
	for _, r := range run.resources {
		if r.URN == component.URN {
			continue
		}
		children = append(children, r.Name)
		if r.Parent != component.URN {
			t.Errorf("%s %s has parent %q, want the site component", r.Type, r.Name, r.Parent)
		}
		if !strings.HasPrefix(r.Name, "site-") {
			t.Errorf("%s is not named after the component", r.Name)
		}
	}
	sort.Strings(children)
	want := []string{
		"site-bucket", "site-bucket-encryption", "site-bucket-lifecycle", "site-bucket-logging", "site-bucket-ownership",
		"site-bucket-policy", "site-bucket-public-access", "site-bucket-versioning",
		"site-cache", "site-cdn", "site-error-page", "site-headers",
		"site-logs", "site-logs-encryption", "site-logs-lifecycle", "site-logs-ownership", "site-logs-policy", "site-logs-public-access",
		"site-oac", "site-router",
	}
	if diff := cmp.Diff(want, children); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
}

func TestNewSiteRequiresConfig(t *testing.T) {
	_, err := tryRunStack(t, "dev", nil, func(ctx *pulumi.Context, _ *Config) error {
		_, err := NewSite(ctx, "site", &SiteArgs{})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "args.Config is required") {
		t.Fatalf("error = %v, want a refusal naming args.Config", err)
	}
}

func TestSiteRulesPassOnTheSite(t *testing.T) {
	if err := policy.Validate(siteRules); err != nil {
		t.Fatal(err)
	}
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			run := runSite(t, stack)
			if got := run.violations(siteRules); len(got) > 0 {
				t.Errorf("violations:\n%v", got)
			}
		})
	}
}

// siteResourceOf returns the first resource of type typ.
func siteResourceOf(t *testing.T, rs []policy.Resource, typ string) *policy.Resource {
	t.Helper()
	for i := range rs {
		if rs[i].Type == typ {
			return &rs[i]
		}
	}
	t.Fatalf("no %s", typ)
	return nil
}

// siteMustJSON marshals a policy document built as plain values.
func siteMustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSiteRulesFireOnBadResources(t *testing.T) {
	base := runSite(t, "dev")
	bucketArn := "arn:aws:s3:::" + base.cfg.Site.BucketName
	distArn := base.outputs["siteDistributionArn"]
	setPolicy := func(statements ...map[string]any) func(t *testing.T, rs []policy.Resource) {
		return func(t *testing.T, rs []policy.Resource) {
			p := siteResourceOf(t, rs, typeBucketPolicy)
			p.Inputs["policy"] = siteMustJSON(t, map[string]any{"Version": PolicyVersion, "Statement": statements})
		}
	}
	read := func(principal any, condition map[string]any) map[string]any {
		st := map[string]any{"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": bucketArn + "/*"}
		if condition != nil {
			st["Condition"] = condition
		}
		return st
	}
	distribution := func(t *testing.T, rs []policy.Resource) map[string]any {
		return siteResourceOf(t, rs, typeDistribution).Inputs
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, rs []policy.Resource)
		want   []string
	}{
		{
			name: "fires when the public access block leaves public policies allowed",
			damage: func(t *testing.T, rs []policy.Resource) {
				siteResourceOf(t, rs, typeBucketPublicAccessBlock).Inputs["blockPublicPolicy"] = false
			},
			want: []string{"buckets-private"},
		},
		{
			name: "fires when a bucket has no public access block",
			damage: func(t *testing.T, rs []policy.Resource) {
				siteResourceOf(t, rs, typeBucketPublicAccessBlock).Inputs["bucket"] = "some-other-bucket"
			},
			want: []string{"buckets-private"},
		},
		{
			name: "fires when a bucket has a public-read ACL",
			damage: func(t *testing.T, rs []policy.Resource) {
				siteResourceOf(t, rs, typeBucketV2).Inputs["acl"] = "public-read"
			},
			want: []string{"buckets-private"},
		},
		{
			name:   "fires when the bucket policy lets everyone read",
			damage: setPolicy(read("*", nil)),
			want:   []string{"buckets-private"},
		},
		{
			name: "fires when everyone may read over TLS only",
			damage: setPolicy(read(map[string]any{"AWS": []string{"*"}},
				map[string]any{"Bool": map[string]any{"aws:SecureTransport": "true"}})),
			want: []string{"buckets-private"},
		},
		{
			name:   "fires when any CloudFront distribution may read",
			damage: setPolicy(read(map[string]any{"Service": "cloudfront.amazonaws.com"}, nil)),
			want:   []string{"buckets-private"},
		},
		{
			name: "fires when the source is a wildcard distribution",
			damage: setPolicy(read(map[string]any{"Service": "cloudfront.amazonaws.com"},
				map[string]any{"ArnLike": map[string]any{"AWS:SourceArn": "arn:aws:cloudfront::*:distribution/*"}})),
			want: []string{"buckets-private"},
		},
		{
			name: "fires when the source is only excluded",
			damage: setPolicy(read(map[string]any{"Service": "cloudfront.amazonaws.com"},
				map[string]any{"StringNotEquals": map[string]any{"AWS:SourceArn": distArn}})),
			want: []string{"buckets-private"},
		},
		{
			name: "fires when the condition only requires a source to exist",
			damage: setPolicy(read(map[string]any{"Service": "cloudfront.amazonaws.com"},
				map[string]any{"Null": map[string]any{"AWS:SourceArn": "false"}})),
			want: []string{"buckets-private"},
		},
		{
			name: "fires when a source that may be absent is named",
			damage: setPolicy(read(map[string]any{"Service": "cloudfront.amazonaws.com"},
				map[string]any{"StringEqualsIfExists": map[string]any{"AWS:SourceArn": distArn}})),
			want: []string{"buckets-private"},
		},
		{
			name: "fires when a NotPrincipal statement allows",
			damage: setPolicy(map[string]any{"Effect": "Allow", "NotPrincipal": map[string]any{"AWS": "arn:aws:iam::210987654321:root"},
				"Action": "s3:GetObject", "Resource": bucketArn + "/*"}),
			want: []string{"buckets-private"},
		},
		{
			name: "fires when the bucket policy is not known",
			damage: func(t *testing.T, rs []policy.Resource) {
				siteResourceOf(t, rs, typeBucketPolicy).Inputs["policy"] = mockaws.UnknownMarker
			},
			want: []string{"buckets-private"},
		},
		{
			name: "passes when everyone is admitted only from this distribution",
			damage: setPolicy(read(map[string]any{"AWS": "*"},
				map[string]any{"StringEquals": map[string]any{"aws:sourcearn": distArn}})),
		},
		{
			name:   "passes a policy that only denies everyone",
			damage: setPolicy(map[string]any{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": bucketArn}),
		},
		{
			name: "fires when the S3 origin has no origin access control",
			damage: func(t *testing.T, rs []policy.Resource) {
				delete(sitePlainAt(t, distribution(t, rs), "origins", 0).(map[string]any), "originAccessControlId")
			},
			want: []string{"cloudfront-s3-origins-use-oac"},
		},
		{
			name: "fires when the S3 origin uses a legacy origin access identity",
			damage: func(t *testing.T, rs []policy.Resource) {
				origin := sitePlainAt(t, distribution(t, rs), "origins", 0).(map[string]any)
				delete(origin, "originAccessControlId")
				origin["s3OriginConfig"] = map[string]any{"originAccessIdentity": "origin-access-identity/cloudfront/E2QWRUHAPOMQZL"}
			},
			want: []string{"cloudfront-s3-origins-use-oac"},
		},
		{
			name: "fires when an S3 endpoint is reached as a custom origin",
			damage: func(t *testing.T, rs []policy.Resource) {
				origin := sitePlainAt(t, distribution(t, rs), "origins", 0).(map[string]any)
				delete(origin, "originAccessControlId")
				origin["customOriginConfig"] = map[string]any{"originProtocolPolicy": "https-only"}
			},
			want: []string{"cloudfront-s3-origins-use-oac"},
		},
		{
			name: "fires when the origin access control does not sign",
			damage: func(t *testing.T, rs []policy.Resource) {
				siteResourceOf(t, rs, typeOriginAccessControl).Inputs["signingBehavior"] = "never"
			},
			want: []string{"cloudfront-s3-origins-use-oac"},
		},
		{
			name: "passes a load balancer origin without origin access control",
			damage: func(t *testing.T, rs []policy.Resource) {
				d := distribution(t, rs)
				d["origins"] = append(asList(d["origins"]), map[string]any{
					"originId": "api", "domainName": "experts-dev-api-123.eu-west-1.elb.amazonaws.com",
					"customOriginConfig": map[string]any{"originProtocolPolicy": "https-only"},
				})
			},
		},
		{
			name: "fires when the default behavior allows plain HTTP",
			damage: func(t *testing.T, rs []policy.Resource) {
				sitePlainAt(t, distribution(t, rs), "defaultCacheBehavior").(map[string]any)["viewerProtocolPolicy"] = "allow-all"
			},
			want: []string{"cloudfront-viewers-use-https"},
		},
		{
			name: "fires when an ordered behavior allows plain HTTP",
			damage: func(t *testing.T, rs []policy.Resource) {
				distribution(t, rs)["orderedCacheBehaviors"] = []any{
					map[string]any{"pathPattern": "/assets/*", "targetOriginId": siteOriginID, "viewerProtocolPolicy": "https-only"},
					map[string]any{"pathPattern": "/legacy/*", "targetOriginId": siteOriginID, "viewerProtocolPolicy": "allow-all"},
				}
			},
			want: []string{"cloudfront-viewers-use-https"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := cloneResources(t, base.resources)
			tt.damage(t, rs)
			vs := policy.Evaluate(siteRules, &policy.Stack{Name: "dev", Environment: EnvDev, Resources: rs})
			var got []string
			for _, v := range vs {
				if v.Enforcement != policy.Mandatory {
					t.Errorf("%s is %s, want mandatory", v.Policy, v.Enforcement)
				}
				if !slices.Contains(got, v.Policy) {
					got = append(got, v.Policy)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violated rules (-want +got):\n%s\nviolations: %v", diff, vs)
			}
		})
	}
}

// asList returns a plain list, nil if v is not one.
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestSiteKeepsAccessLogsInARetainedLogBucket(t *testing.T) {
	for _, tt := range []struct {
		stack string
		days  float64
	}{{"dev", 30}, {"prod", 365}} {
		t.Run(tt.stack, func(t *testing.T) {
			run := runSite(t, tt.stack)
			site := run.one(t, typeBucketV2, "site-bucket").Inputs["bucket"].(string)
			logs := run.one(t, typeBucketV2, "site-logs").Inputs["bucket"].(string)
			if logs != site+"-logs" {
				t.Errorf("log bucket %s, want %s-logs", logs, site)
			}
			logging := run.one(t, "aws:s3/bucketLoggingV2:BucketLoggingV2", "site-bucket-logging").Inputs
			if logging["bucket"] != site || logging["targetBucket"] != logs || logging["targetPrefix"] != "s3/" {
				t.Errorf("bucket access logging = %v, want %s logged into %s under s3/", logging, site, logs)
			}
			dist := run.one(t, typeDistribution, "site-cdn").Inputs
			wantLogging := map[string]any{"bucket": logs + ".s3.amazonaws.com", "prefix": "cloudfront/", "includeCookies": false}
			if diff := cmp.Diff(wantLogging, dist["loggingConfig"]); diff != "" {
				t.Errorf("distribution logging (-want +got):\n%s", diff)
			}
			rule := sitePlainAt(t, run.one(t, tokenBucketLifecycle, "site-logs-lifecycle").Inputs, "rules", 0)
			if got := sitePlainAt(t, rule, "expiration", "days"); got != tt.days {
				t.Errorf("logs expire after %v days, want %v", got, tt.days)
			}
			if got := sitePlainAt(t, run.one(t, tokenBucketOwnershipControls, "site-logs-ownership").Inputs, "rule", "objectOwnership"); got != "BucketOwnerPreferred" {
				t.Errorf("log bucket ownership = %v, want BucketOwnerPreferred (CloudFront standard logging writes with ACLs)", got)
			}
			doc, err := ParsePolicyDocument(run.one(t, typeBucketPolicy, "site-logs-policy").Inputs["policy"].(string))
			if err != nil {
				t.Fatal(err)
			}
			allow := doc.Statement[0]
			if allow.Principal["Service"][0] != "logging.s3.amazonaws.com" || allow.Condition["ArnEquals"]["aws:SourceArn"] != "arn:aws:s3:::"+site {
				t.Errorf("log bucket admits %v under %v, want S3 logging for %s only", allow.Principal, allow.Condition, site)
			}
		})
	}
}

func TestSiteServesASmallPageForMissingFiles(t *testing.T) {
	run := runSite(t, "dev")
	page := run.one(t, "aws:s3/bucketObjectv2:BucketObjectv2", "site-error-page").Inputs
	want := map[string]any{"key": "_errors/404.html", "contentType": "text/html; charset=utf-8", "cacheControl": "no-cache"}
	got := map[string]any{"key": page["key"], "contentType": page["contentType"], "cacheControl": page["cacheControl"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error page object (-want +got):\n%s", diff)
	}
	if body, _ := page["content"].(string); !strings.Contains(body, "Not found") || len(body) > 1024 {
		t.Errorf("error page body %q, want a small page saying not found", body)
	}
}

// TestSiteRouterNameChangesWithItsCode: CloudFront function names are
// unique in the account and a replacement is created before the old
// function is deleted, so a new router must never reuse the old name.
func TestSiteRouterNameChangesWithItsCode(t *testing.T) {
	cfg := runSite(t, "dev").cfg
	before := siteRouterName(cfg, siteRouterCode)
	after := siteRouterName(cfg, siteRouterCode+"// changed\n")
	if before == after {
		t.Errorf("router name %s stayed the same when its code changed", before)
	}
	if !strings.HasPrefix(before, "experts-dev-site-router-") || len(before) > 64 {
		t.Errorf("router name %q, want experts-dev-site-router-<hash> within CloudFront's 64 characters", before)
	}
}
