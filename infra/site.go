package infra

import (
	"errors"
	"fmt"

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
