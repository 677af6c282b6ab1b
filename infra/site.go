package infra

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/experts/platform/infra/policy"
)

// SiteArgs configures the static frontend.
type SiteArgs struct {
	Config *Config
}

// Site is the static frontend: a private S3 bucket that only its
// CloudFront distribution can read, through Origin Access Control. The
// publisher (deployctl publish-frontend) uploads releases into the bucket
// and invalidates the distribution. SiteConfig is its configuration.
type Site struct {
	pulumi.ResourceState

	BucketName      pulumi.StringOutput
	BucketArn       pulumi.StringOutput
	DistributionID  pulumi.StringOutput
	DistributionArn pulumi.StringOutput
	// URL is the public address of the frontend, https://<app host>.
	URL pulumi.StringOutput
}

// Outputs returns the stack outputs the publisher and the workflows read.
func (s *Site) Outputs() pulumi.Map {
	return pulumi.Map{
		OutputSiteBucketName:      s.BucketName,
		OutputSiteDistributionID:  s.DistributionID,
		OutputSiteDistributionArn: s.DistributionArn,
		OutputSiteURL:             s.URL,
	}
}

// Site settings users rely on.
const (
	siteTypeToken = "experts:infra:Site"
	// siteOriginID names the bucket origin inside the distribution.
	siteOriginID = "site-bucket"
	// siteIndex is the single-page app's entry document.
	siteIndex = "index.html"
	// siteHSTSMaxAge is two years, the value HSTS preload lists expect.
	siteHSTSMaxAge = 63072000
	// siteCSP restricts only what the app never needs (plugins, framing,
	// a foreign <base>), so it cannot break scripts, styles or API calls.
	siteCSP = "base-uri 'self'; frame-ancestors 'none'; object-src 'none'"
)

// siteRouterCode is the CloudFront Function that maps viewer paths to
// objects on viewer requests.
//
// The client-side-routing fallback is decided here, by the shape of the
// path, rather than by custom error responses that turn the bucket's
// 403/404 into a 200 index.html: those would also answer a missing
// /assets/app-3f9a1c.js with HTML and status 200, which browsers then fail
// to parse as a script, the cache keeps, and the app cannot tell from a
// network error. With this function a path whose last segment has no
// extension is an app route and gets /index.html; a path with an
// extension is a file and is served as is, so a missing file stays an
// error (403: CloudFront may not list the bucket, so S3 does not say
// whether the key exists), which the app can detect and recover from by
// reloading. A path ending in "/" gets that directory's index.html ("/"
// the app itself). /.well-known/ files are served as they are, and the
// publisher's release manifests (_releases/) are not part of the site.
const siteRouterCode = `// experts site router: maps viewer paths to objects in the site bucket.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.startsWith('/_releases/')) {
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  if (uri.endsWith('/')) {
    request.uri = uri + 'index.html';
  } else if (!uri.startsWith('/.well-known/') && uri.slice(uri.lastIndexOf('/') + 1).indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
`

// NewSite declares the site's bucket, its policy and the distribution in
// front of it.
func NewSite(ctx *pulumi.Context, name string, args *SiteArgs, opts ...pulumi.ResourceOption) (*Site, error) {
	if args == nil || args.Config == nil {
		return nil, errors.New("new site: args.Config is required")
	}
	cfg := args.Config
	site := &Site{}
	if err := ctx.RegisterComponentResource(siteTypeToken, name, site, opts...); err != nil {
		return nil, fmt.Errorf("register site component: %w", err)
	}
	parent := pulumi.Parent(site)

	bucket, access, err := newSiteBucket(ctx, name, cfg, parent)
	if err != nil {
		return nil, err
	}
	dist, err := newSiteDistribution(ctx, name, cfg, bucket, parent)
	if err != nil {
		return nil, err
	}
	// Only this distribution may read, and only objects; nothing may reach
	// the bucket without TLS. The policy waits for the public access block
	// so that the bucket is never briefly open to a public policy.
	bucketPolicy := PolicyJSON(func(v []any) PolicyDocument {
		return siteBucketPolicy(v[0].(string), v[1].(string))
	}, bucket.Arn, dist.Arn)
	if _, err := s3.NewBucketPolicy(ctx, name+"-bucket-policy", &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: bucketPolicy,
	}, parent, pulumi.DependsOn([]pulumi.Resource{access})); err != nil {
		return nil, fmt.Errorf("site bucket policy: %w", err)
	}

	site.BucketName = bucket.Bucket
	site.BucketArn = bucket.Arn
	site.DistributionID = dist.ID().ToStringOutput()
	site.DistributionArn = dist.Arn
	site.URL = pulumi.String("https://" + cfg.Domain.Host(SiteHost)).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(site, site.Outputs()); err != nil {
		return nil, fmt.Errorf("register site outputs: %w", err)
	}
	return site, nil
}

// siteBucketPolicy allows the distribution (through its Origin Access
// Control) to read objects and denies every request without TLS.
func siteBucketPolicy(bucketArn, distributionArn string) PolicyDocument {
	return NewPolicyDocument(
		Statement{
			Sid:       "AllowCloudFrontOriginAccessControlRead",
			Effect:    "Allow",
			Principal: map[string]StringOrList{"Service": {"cloudfront.amazonaws.com"}},
			Action:    StringOrList{"s3:GetObject"},
			Resource:  StringOrList{bucketArn + "/*"},
			Condition: map[string]map[string]any{
				"StringEquals": {"AWS:SourceArn": distributionArn},
			},
		},
		Statement{
			Sid:       "DenyInsecureTransport",
			Effect:    "Deny",
			Principal: map[string]StringOrList{"AWS": {"*"}},
			Action:    StringOrList{"s3:*"},
			Resource:  StringOrList{bucketArn, bucketArn + "/*"},
			Condition: map[string]map[string]any{
				"Bool": {"aws:SecureTransport": "false"},
			},
		},
	)
}

// newSiteBucket declares the private bucket and returns it with its public
// access block.
func newSiteBucket(ctx *pulumi.Context, name string, cfg *Config, parent pulumi.ResourceOption) (*s3.BucketV2, *s3.BucketPublicAccessBlock, error) {
	bucket, err := s3.NewBucketV2(ctx, name+"-bucket", &s3.BucketV2Args{
		Bucket: pulumi.String(cfg.Site.BucketName),
		// The frontend can always be published again; only dev may be
		// destroyed with its objects.
		ForceDestroy: pulumi.Bool(!cfg.IsProd()),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("site bucket: %w", err)
	}
	access, err := s3.NewBucketPublicAccessBlock(ctx, name+"-bucket-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("site bucket public access block: %w", err)
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-bucket-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("site bucket ownership: %w", err)
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-bucket-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				// SSE-S3: CloudFront reads it through OAC without a key policy.
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm: pulumi.String("AES256"),
				},
			},
		},
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("site bucket encryption: %w", err)
	}
	versioning, err := s3.NewBucketVersioningV2(ctx, name+"-bucket-versioning", &s3.BucketVersioningV2Args{
		Bucket: bucket.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{
			Status: pulumi.String("Enabled"),
		},
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("site bucket versioning: %w", err)
	}
	// Files the publisher retires stay recoverable as noncurrent versions
	// for a while, then go.
	noncurrentDays := 7
	if cfg.IsProd() {
		noncurrentDays = 30
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-bucket-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{
			&s3.BucketLifecycleConfigurationV2RuleArgs{
				Id:     pulumi.String("expire-retired-versions"),
				Status: pulumi.String("Enabled"),
				Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
				NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
					NoncurrentDays: pulumi.Int(noncurrentDays),
				},
				Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{
					ExpiredObjectDeleteMarker: pulumi.Bool(true),
				},
				AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
					DaysAfterInitiation: pulumi.Int(1),
				},
			},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{versioning})); err != nil {
		return nil, nil, fmt.Errorf("site bucket lifecycle: %w", err)
	}
	return bucket, access, nil
}

// newSiteDistribution declares the distribution and what it uses: the
// Origin Access Control, the router function, the cache and response
// headers policies.
func newSiteDistribution(ctx *pulumi.Context, name string, cfg *Config, bucket *s3.BucketV2, parent pulumi.ResourceOption) (*cloudfront.Distribution, error) {
	oac, err := cloudfront.NewOriginAccessControl(ctx, name+"-oac", &cloudfront.OriginAccessControlArgs{
		Name:                          pulumi.String(cfg.Name("site")),
		Description:                   pulumi.String("CloudFront reads the " + cfg.Environment + " frontend bucket"),
		OriginAccessControlOriginType: pulumi.String("s3"),
		SigningBehavior:               pulumi.String("always"),
		SigningProtocol:               pulumi.String("sigv4"),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("site origin access control: %w", err)
	}
	router, err := cloudfront.NewFunction(ctx, name+"-router", &cloudfront.FunctionArgs{
		Name:    pulumi.String(cfg.Name("site-router")),
		Comment: pulumi.String("Routes app paths to index.html; files are served as they are"),
		Runtime: pulumi.String("cloudfront-js-2.0"),
		Code:    pulumi.String(siteRouterCode),
		Publish: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("site router function: %w", err)
	}
	// The publisher sets Cache-Control on every object (immutable for
	// fingerprinted assets, no-cache for HTML); the cache follows it. A
	// minimum of 0 lets no-cache HTML be revalidated on every request, and
	// objects without Cache-Control are kept five minutes only.
	cache, err := cloudfront.NewCachePolicy(ctx, name+"-cache", &cloudfront.CachePolicyArgs{
		Name:       pulumi.String(cfg.Name("site")),
		Comment:    pulumi.String("Follows the objects' Cache-Control; compressed variants cached apart"),
		MinTtl:     pulumi.Int(0),
		DefaultTtl: pulumi.Int(300),
		MaxTtl:     pulumi.Int(31536000),
		ParametersInCacheKeyAndForwardedToOrigin: &cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs{
			EnableAcceptEncodingGzip:   pulumi.Bool(true),
			EnableAcceptEncodingBrotli: pulumi.Bool(true),
			CookiesConfig: &cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs{
				CookieBehavior: pulumi.String("none"),
			},
			HeadersConfig: &cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs{
				HeaderBehavior: pulumi.String("none"),
			},
			QueryStringsConfig: &cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs{
				QueryStringBehavior: pulumi.String("none"),
			},
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("site cache policy: %w", err)
	}
	headers, err := cloudfront.NewResponseHeadersPolicy(ctx, name+"-headers", &cloudfront.ResponseHeadersPolicyArgs{
		Name:    pulumi.String(cfg.Name("site")),
		Comment: pulumi.String("Security headers of the frontend"),
		SecurityHeadersConfig: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs{
			StrictTransportSecurity: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs{
				AccessControlMaxAgeSec: pulumi.Int(siteHSTSMaxAge),
				IncludeSubdomains:      pulumi.Bool(true),
				Override:               pulumi.Bool(true),
			},
			ContentTypeOptions: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs{
				Override: pulumi.Bool(true),
			},
			FrameOptions: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs{
				FrameOption: pulumi.String("DENY"),
				Override:    pulumi.Bool(true),
			},
			ReferrerPolicy: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs{
				ReferrerPolicy: pulumi.String("strict-origin-when-cross-origin"),
				Override:       pulumi.Bool(true),
			},
			ContentSecurityPolicy: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs{
				ContentSecurityPolicy: pulumi.String(siteCSP),
				Override:              pulumi.Bool(true),
			},
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("site response headers policy: %w", err)
	}
	dist, err := cloudfront.NewDistribution(ctx, name+"-cdn", &cloudfront.DistributionArgs{
		Comment:           pulumi.String("experts " + cfg.Environment + " frontend"),
		Enabled:           pulumi.Bool(true),
		IsIpv6Enabled:     pulumi.Bool(true),
		HttpVersion:       pulumi.String("http2and3"),
		PriceClass:        pulumi.String(cfg.Site.PriceClass),
		DefaultRootObject: pulumi.String(siteIndex),
		Aliases:           pulumi.StringArray{pulumi.String(cfg.Domain.Host(SiteHost))},
		ViewerCertificate: &cloudfront.DistributionViewerCertificateArgs{
			AcmCertificateArn:      pulumi.String(cfg.Domain.SiteCertificateArn),
			SslSupportMethod:       pulumi.String("sni-only"),
			MinimumProtocolVersion: pulumi.String("TLSv1.2_2021"),
		},
		Origins: cloudfront.DistributionOriginArray{
			&cloudfront.DistributionOriginArgs{
				OriginId:              pulumi.String(siteOriginID),
				DomainName:            bucket.BucketRegionalDomainName,
				OriginAccessControlId: oac.ID(),
			},
		},
		DefaultCacheBehavior: &cloudfront.DistributionDefaultCacheBehaviorArgs{
			TargetOriginId:          pulumi.String(siteOriginID),
			ViewerProtocolPolicy:    pulumi.String("redirect-to-https"),
			AllowedMethods:          pulumi.StringArray{pulumi.String("GET"), pulumi.String("HEAD")},
			CachedMethods:           pulumi.StringArray{pulumi.String("GET"), pulumi.String("HEAD")},
			Compress:                pulumi.Bool(true),
			CachePolicyId:           cache.ID(),
			ResponseHeadersPolicyId: headers.ID(),
			FunctionAssociations: cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArray{
				&cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs{
					EventType:   pulumi.String("viewer-request"),
					FunctionArn: router.Arn,
				},
			},
		},
		Restrictions: &cloudfront.DistributionRestrictionsArgs{
			GeoRestriction: &cloudfront.DistributionRestrictionsGeoRestrictionArgs{
				RestrictionType: pulumi.String("none"),
			},
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("site distribution: %w", err)
	}
	return dist, nil
}

// Type tokens the site rules look at.
const (
	typeBucketV2                = "aws:s3/bucketV2:BucketV2"
	typeBucketPublicAccessBlock = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	typeBucketPolicy            = "aws:s3/bucketPolicy:BucketPolicy"
	typeDistribution            = "aws:cloudfront/distribution:Distribution"
	typeOriginAccessControl     = "aws:cloudfront/originAccessControl:OriginAccessControl"
)

// publicAccessBlockFlags are the four settings of a public access block,
// all of which must be on.
var publicAccessBlockFlags = []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"}

// siteRules are the mandatory rules of this component.
var siteRules = []policy.Rule{
	{
		Name: "buckets-private",
		Description: "Every bucket has its public access block fully on, and no bucket policy lets everyone " +
			"(or any CloudFront distribution) read without naming the one source allowed in aws:SourceArn.",
		Enforcement: policy.Mandatory,
		CheckStack:  checkBucketsPrivate,
	},
	{
		Name:        "cloudfront-s3-origins-use-oac",
		Description: "Every S3 origin of a distribution reads through an Origin Access Control that signs every request with SigV4.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeDistribution, typeOriginAccessControl},
		Check:       checkOriginAccessControl,
	},
	{
		Name:        "cloudfront-viewers-use-https",
		Description: "No cache behavior of a distribution, default or ordered, lets viewers use plain HTTP.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeDistribution},
		Check:       checkViewerProtocol,
	},
}

func checkBucketsPrivate(s *policy.Stack) []policy.Violation {
	var out []policy.Violation
	blocked := map[string]bool{}
	for _, r := range s.OfType(typeBucketPublicAccessBlock) {
		blocked[ruleString(r.Inputs, "bucket")] = true
		for _, flag := range publicAccessBlockFlags {
			if on, _ := r.Inputs[flag].(bool); !on {
				out = append(out, policy.Violation{URN: r.URN,
					Message: fmt.Sprintf("public access block leaves %s off; turn all four settings on", flag)})
			}
		}
	}
	for _, r := range s.OfType(typeBucketV2) {
		name := ruleString(r.Inputs, "bucket")
		if name == "" {
			name = r.Name
		}
		if !blocked[name] {
			out = append(out, policy.Violation{URN: r.URN,
				Message: fmt.Sprintf("bucket %s has no public access block; declare one with all four settings on", name)})
		}
		if acl := ruleString(r.Inputs, "acl"); strings.HasPrefix(acl, "public-") || acl == "authenticated-read" {
			out = append(out, policy.Violation{URN: r.URN, Message: fmt.Sprintf("bucket %s has the %s ACL", name, acl)})
		}
		if text, ok := r.Inputs["policy"].(string); ok && text != "" {
			for _, msg := range publicStatements(text) {
				out = append(out, policy.Violation{URN: r.URN, Message: msg})
			}
		}
	}
	for _, r := range s.OfType(typeBucketPolicy) {
		text, _ := r.Inputs["policy"].(string)
		for _, msg := range publicStatements(text) {
			out = append(out, policy.Violation{URN: r.URN, Message: msg})
		}
	}
	return out
}

// rawStatement is a policy statement as written, whatever the shape of its
// principal ("*", {"AWS": "*"}, {"Service": [...]}) and condition values.
type rawStatement struct {
	Sid          string                                `json:"Sid"`
	Effect       string                                `json:"Effect"`
	Principal    json.RawMessage                       `json:"Principal"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
}

// publicStatements returns a problem for every Allow statement of a bucket
// policy that lets everyone, or a service acting for anyone, in without an
// exact aws:SourceArn condition.
func publicStatements(text string) []string {
	if text == "" || text == policy.UnknownMarker || text == policy.SecretMarker {
		return []string{"bucket policy is not known before deployment, so it cannot be checked; build it from known ARNs"}
	}
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return []string{fmt.Sprintf("bucket policy is not a JSON policy document: %v", err)}
	}
	var statements []rawStatement
	if err := json.Unmarshal(doc.Statement, &statements); err != nil {
		var one rawStatement
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return []string{fmt.Sprintf("bucket policy statements cannot be read: %v", err)}
		}
		statements = []rawStatement{one}
	}
	var out []string
	for i, st := range statements {
		if st.Effect != "Allow" {
			continue
		}
		label := fmt.Sprintf("statement %d", i)
		if st.Sid != "" {
			label = fmt.Sprintf("statement %q", st.Sid)
		}
		if len(st.NotPrincipal) > 0 {
			out = append(out, label+" allows everyone but the NotPrincipal; name the principal instead")
			continue
		}
		who := openPrincipal(st.Principal)
		if who == "" {
			continue
		}
		if !hasExactSourceArn(st.Condition) {
			out = append(out, fmt.Sprintf("%s allows %s without an exact aws:SourceArn condition; limit it to the one distribution", label, who))
		}
	}
	return out
}

// openPrincipal describes a principal that is not one named account or
// role: "everyone" for "*", the service for a service principal (which
// acts for any customer unless the source is named); "" otherwise.
func openPrincipal(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var all string
	if json.Unmarshal(raw, &all) == nil {
		if all == "*" {
			return "everyone"
		}
		return ""
	}
	var byKind map[string]StringOrList
	if err := json.Unmarshal(raw, &byKind); err != nil {
		return "an unreadable principal"
	}
	for _, kind := range []string{"AWS", "CanonicalUser", "Federated"} {
		if slices.Contains(byKind[kind], "*") {
			return "everyone"
		}
	}
	if services := byKind["Service"]; len(services) > 0 {
		return strings.Join(services, ", ")
	}
	return ""
}

// sourceMatchOperators are the condition operators that require the key to
// match a value.
var sourceMatchOperators = []string{"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}

// hasExactSourceArn reports whether a condition names the request's source
// with aws:SourceArn (the key is case-insensitive) and no wildcard.
func hasExactSourceArn(cond map[string]map[string]json.RawMessage) bool {
	for op, keys := range cond {
		if !slices.Contains(sourceMatchOperators, op) {
			continue // negated, IfExists, Null and set operators do not name a source
		}
		for key, raw := range keys {
			if !strings.EqualFold(key, "aws:SourceArn") {
				continue
			}
			var values StringOrList
			if json.Unmarshal(raw, &values) != nil || len(values) == 0 {
				continue
			}
			exact := true
			for _, v := range values {
				if v == "" || strings.ContainsAny(v, "*?") || v == policy.UnknownMarker {
					exact = false
				}
			}
			if exact {
				return true
			}
		}
	}
	return false
}

func checkOriginAccessControl(_ *policy.Stack, r policy.Resource) []string {
	if r.Type == typeOriginAccessControl {
		if ruleString(r.Inputs, "originAccessControlOriginType") != "s3" {
			return nil
		}
		var out []string
		if b := ruleString(r.Inputs, "signingBehavior"); b != "always" {
			out = append(out, fmt.Sprintf("origin access control signs %q; set signingBehavior always", b))
		}
		if p := ruleString(r.Inputs, "signingProtocol"); p != "sigv4" {
			out = append(out, fmt.Sprintf("origin access control signs with %q; set signingProtocol sigv4", p))
		}
		return out
	}
	var out []string
	for i, o := range ruleList(r.Inputs["origins"]) {
		origin, _ := o.(map[string]any)
		id := ruleString(origin, "originId")
		if id == "" {
			id = fmt.Sprintf("#%d", i)
		}
		if !isS3Origin(origin) {
			continue
		}
		if ruleString(origin, "originAccessControlId") == "" {
			out = append(out, fmt.Sprintf("S3 origin %s has no origin access control; set originAccessControlId (and keep the bucket private)", id))
		}
	}
	return out
}

// isS3Origin reports whether an origin is an S3 bucket read through the S3
// API: CloudFront treats every origin without a custom origin config so,
// and an S3 REST endpoint is one whatever the config says.
func isS3Origin(origin map[string]any) bool {
	if _, custom := origin["customOriginConfig"].(map[string]any); !custom {
		if _, vpc := origin["vpcOriginConfig"].(map[string]any); !vpc {
			return true
		}
	}
	domain := ruleString(origin, "domainName")
	return strings.HasSuffix(domain, ".amazonaws.com") && strings.Contains(domain, ".s3.") && !strings.Contains(domain, "s3-website")
}

func checkViewerProtocol(_ *policy.Stack, r policy.Resource) []string {
	var out []string
	check := func(where string, behavior map[string]any) {
		switch p := ruleString(behavior, "viewerProtocolPolicy"); p {
		case "redirect-to-https", "https-only", policy.UnknownMarker:
		default:
			out = append(out, fmt.Sprintf("%s lets viewers use %q; set viewerProtocolPolicy redirect-to-https", where, p))
		}
	}
	def, _ := r.Inputs["defaultCacheBehavior"].(map[string]any)
	check("the default cache behavior", def)
	for i, b := range ruleList(r.Inputs["orderedCacheBehaviors"]) {
		behavior, _ := b.(map[string]any)
		where := fmt.Sprintf("ordered cache behavior #%d", i)
		if p := ruleString(behavior, "pathPattern"); p != "" {
			where = fmt.Sprintf("ordered cache behavior %s", p)
		}
		check(where, behavior)
	}
	return out
}

// ruleString returns the string at key of a plain object, "" if absent or
// not a string.
func ruleString(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// ruleList returns a plain list, nil if v is not one.
func ruleList(v any) []any {
	l, _ := v.([]any)
	return l
}
