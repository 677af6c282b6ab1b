package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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

// siteFileExtensions are the extensions that make a path a file rather
// than an app route: what a built frontend ships. "/assets/app-3f9a1c.js" is
// a file, "/experts/jane.doe" and "/v1.2/notes" are routes.
var siteFileExtensions = []string{
	"apng", "avif", "bmp", "br", "cjs", "css", "csv", "eot", "flac", "gif", "glb", "gltf", "gz",
	"htm", "html", "ico", "jpeg", "jpg", "js", "json", "jsonld", "jxl", "m4a", "map", "md", "mjs",
	"mp3", "mp4", "ogg", "opus", "otf", "pdf", "png", "svg", "ttf", "txt", "vtt", "wasm", "wav",
	"webm", "webmanifest", "webp", "woff", "woff2", "xml", "zip",
}

// siteErrorPage is the page CloudFront answers a missing file with, kept in
// the bucket under a prefix the publisher reserves (it never lists or
// deletes it).
const (
	siteErrorPageKey  = "_errors/404.html"
	siteErrorPageBody = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Not found</h1><p>This file does not exist. <a href="/">Go to the home page</a>.</p></body></html>
`
)

// siteRouterCode is the CloudFront Function that maps viewer paths to
// objects on viewer requests.
//
// The client-side-routing fallback is decided here, by the shape of the
// path, rather than by custom error responses that turn the bucket's
// 403/404 into a 200 index.html: those would also answer a missing
// /assets/app-3f9a1c.js with HTML and status 200, which browsers then fail
// to parse as a script, the cache keeps, and the app cannot tell from a
// network error. With this function a path whose last segment ends in a
// known file extension (siteFileExtensions) is a file and is served as is;
// every other path, with or without a trailing "/", is an app route and gets
// /index.html. A missing file is a 404 (CloudFront may list the bucket, so
// S3 says the key does not exist) with a small page and the status kept,
// which the app can detect and recover from by reloading. /.well-known/
// files are served as they are, and the publisher's release manifests
// (_releases/) are not part of the site.
var siteRouterCode = `// experts site router: maps viewer paths to objects in the site bucket.
var FILE_EXTENSIONS = {` + siteExtensionsJS() + `};

function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.startsWith('/_releases/')) {
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  if (uri.startsWith('/.well-known/')) {
    return request;
  }
  var last = uri.slice(uri.lastIndexOf('/') + 1);
  var dot = last.lastIndexOf('.');
  if (dot <= 0 || FILE_EXTENSIONS[last.slice(dot + 1).toLowerCase()] !== true) {
    request.uri = '/index.html';
  }
  return request;
}
`

func siteExtensionsJS() string {
	parts := make([]string, len(siteFileExtensions))
	for i, ext := range siteFileExtensions {
		parts[i] = fmt.Sprintf("'%s': true", ext)
	}
	return strings.Join(parts, ", ")
}

// siteRouterName names the router function after its code: CloudFront
// function names are unique in the account, and a change that replaces the
// function creates the new one before deleting the old, so the new one needs
// a name of its own. The code is what may change; the name changes with it.
func siteRouterName(cfg *Config, code string) string {
	sum := sha256.Sum256([]byte("cloudfront-js-2.0\x00" + code))
	return cfg.Name("site-router") + "-" + hex.EncodeToString(sum[:4])
}

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

	logs, err := newSiteLogBucket(ctx, name, cfg, parent)
	if err != nil {
		return nil, err
	}
	bucket, access, err := newSiteBucket(ctx, name, cfg, logs, parent)
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketObjectv2(ctx, name+"-error-page", &s3.BucketObjectv2Args{
		Bucket:       bucket.ID(),
		Key:          pulumi.String(siteErrorPageKey),
		Content:      pulumi.String(siteErrorPageBody),
		ContentType:  pulumi.String("text/html; charset=utf-8"),
		CacheControl: pulumi.String("no-cache"),
	}, parent); err != nil {
		return nil, fmt.Errorf("site error page: %w", err)
	}
	dist, err := newSiteDistribution(ctx, name, cfg, bucket, logs, parent)
	if err != nil {
		return nil, err
	}
	// Only this distribution may read and list (so that a missing key is a
	// 404, not a 403), never the publisher's manifests; nothing may reach
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
// Control) to read objects and list the bucket, so that S3 answers a
// missing key with 404 rather than 403; denies CloudFront the publisher's
// release manifests; and denies every request without TLS.
func siteBucketPolicy(bucketArn, distributionArn string) PolicyDocument {
	onlyThisDistribution := map[string]map[string]any{
		"StringEquals": {"AWS:SourceArn": distributionArn},
	}
	cloudFront := map[string]StringOrList{"Service": {"cloudfront.amazonaws.com"}}
	return NewPolicyDocument(
		Statement{
			Sid:       "AllowCloudFrontOriginAccessControlRead",
			Effect:    "Allow",
			Principal: cloudFront,
			Action:    StringOrList{"s3:GetObject"},
			Resource:  StringOrList{bucketArn + "/*"},
			Condition: onlyThisDistribution,
		},
		Statement{
			Sid:       "AllowCloudFrontOriginAccessControlList",
			Effect:    "Allow",
			Principal: cloudFront,
			Action:    StringOrList{"s3:ListBucket"},
			Resource:  StringOrList{bucketArn},
			Condition: onlyThisDistribution,
		},
		Statement{
			Sid:       "DenyCloudFrontReleaseManifests",
			Effect:    "Deny",
			Principal: cloudFront,
			Action:    StringOrList{"s3:GetObject"},
			Resource:  StringOrList{bucketArn + "/_releases/*"},
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
func newSiteBucket(ctx *pulumi.Context, name string, cfg *Config, logs *s3.BucketV2, parent pulumi.ResourceOption) (*s3.BucketV2, *s3.BucketPublicAccessBlock, error) {
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
	if _, err := s3.NewBucketLoggingV2(ctx, name+"-bucket-logging", &s3.BucketLoggingV2Args{
		Bucket:       bucket.ID(),
		TargetBucket: logs.ID(),
		TargetPrefix: pulumi.String(siteLogPrefixS3),
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("site bucket access logging: %w", err)
	}
	return bucket, access, nil
}

// Where the access logs go in the log bucket.
const (
	siteLogPrefixS3         = "s3/"
	siteLogPrefixCloudFront = "cloudfront/"
)

// siteLogRetentionDays is how long access logs are kept.
func siteLogRetentionDays(cfg *Config) int {
	if cfg.IsProd() {
		return 365
	}
	return 30
}

// newSiteLogBucket declares the private bucket that receives the access
// logs of the distribution (CloudFront standard logging, which writes with
// an ACL grant to its log-delivery account, so ACLs stay enabled for the
// bucket owner's objects) and of the site bucket (S3 server access logging,
// admitted by a bucket policy for that one source bucket). Logs expire
// after siteLogRetentionDays.
func newSiteLogBucket(ctx *pulumi.Context, name string, cfg *Config, parent pulumi.ResourceOption) (*s3.BucketV2, error) {
	bucketName := cfg.Site.BucketName + "-logs"
	if len(bucketName) > 63 {
		return nil, fmt.Errorf("site log bucket %s is longer than 63 characters: shorten site bucketName", bucketName)
	}
	logs, err := s3.NewBucketV2(ctx, name+"-logs", &s3.BucketV2Args{
		Bucket:       pulumi.String(bucketName),
		ForceDestroy: pulumi.Bool(!cfg.IsProd()),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("site log bucket: %w", err)
	}
	access, err := s3.NewBucketPublicAccessBlock(ctx, name+"-logs-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                logs.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("site log bucket public access block: %w", err)
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-logs-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: logs.ID(),
		// CloudFront standard logging needs ACLs; the owner still owns
		// every object written with bucket-owner-full-control.
		Rule: &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerPreferred")},
	}, parent); err != nil {
		return nil, fmt.Errorf("site log bucket ownership: %w", err)
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-logs-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: logs.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				// SSE-S3: both log writers support it without a key policy.
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm: pulumi.String("AES256"),
				},
			},
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("site log bucket encryption: %w", err)
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-logs-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: logs.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{
			&s3.BucketLifecycleConfigurationV2RuleArgs{
				Id:     pulumi.String("expire-access-logs"),
				Status: pulumi.String("Enabled"),
				Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
				Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{
					Days: pulumi.Int(siteLogRetentionDays(cfg)),
				},
				AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
					DaysAfterInitiation: pulumi.Int(1),
				},
			},
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("site log bucket lifecycle: %w", err)
	}
	policy := PolicyJSON(func(v []any) PolicyDocument {
		return siteLogBucketPolicy(v[0].(string), v[1].(string), cfg.AccountID)
	}, logs.Arn, pulumi.Sprintf("arn:aws:s3:::%s", cfg.Site.BucketName))
	if _, err := s3.NewBucketPolicy(ctx, name+"-logs-policy", &s3.BucketPolicyArgs{
		Bucket: logs.ID(),
		Policy: policy,
	}, parent, pulumi.DependsOn([]pulumi.Resource{access})); err != nil {
		return nil, fmt.Errorf("site log bucket policy: %w", err)
	}
	return logs, nil
}

// siteLogBucketPolicy lets S3 server access logging write the site
// bucket's logs (that source bucket, in this account, only) and denies
// every request without TLS.
func siteLogBucketPolicy(logsArn, siteBucketArn, accountID string) PolicyDocument {
	return NewPolicyDocument(
		Statement{
			Sid:       "AllowS3ServerAccessLogs",
			Effect:    "Allow",
			Principal: map[string]StringOrList{"Service": {"logging.s3.amazonaws.com"}},
			Action:    StringOrList{"s3:PutObject"},
			Resource:  StringOrList{logsArn + "/" + siteLogPrefixS3 + "*"},
			Condition: map[string]map[string]any{
				"ArnEquals":    {"aws:SourceArn": siteBucketArn},
				"StringEquals": {"aws:SourceAccount": accountID},
			},
		},
		Statement{
			Sid:       "DenyInsecureTransport",
			Effect:    "Deny",
			Principal: map[string]StringOrList{"AWS": {"*"}},
			Action:    StringOrList{"s3:*"},
			Resource:  StringOrList{logsArn, logsArn + "/*"},
			Condition: map[string]map[string]any{
				"Bool": {"aws:SecureTransport": "false"},
			},
		},
	)
}

// newSiteDistribution declares the distribution and what it uses: the
// Origin Access Control, the router function, the cache and response
// headers policies.
func newSiteDistribution(ctx *pulumi.Context, name string, cfg *Config, bucket, logs *s3.BucketV2, parent pulumi.ResourceOption) (*cloudfront.Distribution, error) {
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
		Name:    pulumi.String(siteRouterName(cfg, siteRouterCode)),
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
		// A missing file (S3's 404, now that CloudFront may list the
		// bucket) gets a small page and keeps its status; errors are cached
		// briefly so that a file published a moment later shows up.
		CustomErrorResponses: cloudfront.DistributionCustomErrorResponseArray{
			&cloudfront.DistributionCustomErrorResponseArgs{
				ErrorCode:          pulumi.Int(404),
				ResponseCode:       pulumi.Int(404),
				ResponsePagePath:   pulumi.String("/" + siteErrorPageKey),
				ErrorCachingMinTtl: pulumi.Int(10),
			},
		},
		LoggingConfig: &cloudfront.DistributionLoggingConfigArgs{
			Bucket:         logs.BucketDomainName,
			Prefix:         pulumi.String(siteLogPrefixCloudFront),
			IncludeCookies: pulumi.Bool(false),
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
