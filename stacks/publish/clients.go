package publish

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// DefaultMaxAttempts is how many times a request is tried when neither
// AWS_MAX_ATTEMPTS nor the shared config sets max_attempts.
const DefaultMaxAttempts = 8

// ClientOptions tune the AWS clients.
type ClientOptions struct {
	// PathStyle addresses buckets as https://host/bucket/key, which local
	// and other S3-compatible servers need. aws-sdk-go-v2 has no standard
	// setting for it; deployctl reads AWS_S3_USE_PATH_STYLE. (The SDK
	// already uses path style on its own when the endpoint is an IP address.)
	PathStyle bool
	// MaxBackoff caps the retry delay (0: the SDK's 20 s).
	MaxBackoff time.Duration
	// Connections is how many idle connections to a host are kept for
	// reuse; set it to the upload concurrency (0: the SDK's 10), so that
	// concurrent uploads do not open a new connection each.
	Connections int
}

// Clients are the AWS clients a Publisher needs.
type Clients struct {
	S3         *s3.Client
	CloudFront *cloudfront.Client
}

// LoadClients builds the clients from the SDK's default configuration
// chain (environment, shared config, SSO, web identity...). Endpoints come
// from its standard settings: AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL_CLOUDFRONT, AWS_ENDPOINT_URL or the shared config.
// Requests are retried on throttling, 5xx and transient network errors by
// the SDK's standard retryer with exponential backoff and jitter.
func LoadClients(ctx context.Context, opts ClientOptions) (*Clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return NewClients(cfg, opts), nil
}

// NewClients builds the clients from cfg, replacing its retryer with the
// standard one (cfg.RetryMaxAttempts, or DefaultMaxAttempts, attempts).
func NewClients(cfg aws.Config, opts ClientOptions) *Clients {
	attempts := cfg.RetryMaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			if opts.MaxBackoff > 0 {
				o.MaxBackoff = opts.MaxBackoff
				o.Backoff = retry.NewExponentialJitterBackoff(opts.MaxBackoff)
			}
		})
	}
	cfg.RetryMaxAttempts = 0 // the retryer above carries it
	// Keep the SDK's client (and its CA bundle, proxy and timeouts); only
	// widen its idle pool.
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok && opts.Connections > 0 {
		cfg.HTTPClient = bc.WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, opts.Connections)
			tr.MaxIdleConns = max(tr.MaxIdleConns, 2*opts.Connections)
		})
	}
	return &Clients{
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = opts.PathStyle
		}),
		CloudFront: cloudfront.NewFromConfig(cfg),
	}
}
