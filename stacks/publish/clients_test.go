package publish_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/experts/platform/stacks/publish"
)

func TestNewClients(t *testing.T) {
	tests := []struct {
		name          string
		cfg           aws.Config
		opts          publish.ClientOptions
		wantAttempts  int
		wantPathStyle bool
		wantIdle      int
	}{
		{
			name:         "retries up to the default attempts with the SDK's idle pool",
			cfg:          aws.Config{Region: "us-east-1"},
			wantAttempts: publish.DefaultMaxAttempts,
			wantIdle:     awshttp.DefaultHTTPTransportMaxIdleConnsPerHost,
		},
		{
			name:         "honors the configured max attempts",
			cfg:          aws.Config{Region: "us-east-1", RetryMaxAttempts: 3},
			wantAttempts: 3,
			wantIdle:     awshttp.DefaultHTTPTransportMaxIdleConnsPerHost,
		},
		{
			name:          "keeps an idle connection per concurrent upload and addresses buckets by path",
			cfg:           aws.Config{Region: "us-east-1"},
			opts:          publish.ClientOptions{PathStyle: true, Connections: 32},
			wantAttempts:  publish.DefaultMaxAttempts,
			wantPathStyle: true,
			wantIdle:      32,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := publish.NewClients(tt.cfg, tt.opts)
			o := c.S3.Options()
			if got := o.Retryer.MaxAttempts(); got != tt.wantAttempts {
				t.Errorf("S3 max attempts = %d, want %d", got, tt.wantAttempts)
			}
			if got := c.CloudFront.Options().Retryer.MaxAttempts(); got != tt.wantAttempts {
				t.Errorf("CloudFront max attempts = %d, want %d", got, tt.wantAttempts)
			}
			if o.UsePathStyle != tt.wantPathStyle {
				t.Errorf("path style = %v, want %v", o.UsePathStyle, tt.wantPathStyle)
			}
			bc, ok := o.HTTPClient.(*awshttp.BuildableClient)
			if !ok {
				t.Fatalf("S3 HTTP client is %T, want the SDK's buildable client", o.HTTPClient)
			}
			if got := bc.GetTransport().MaxIdleConnsPerHost; got != tt.wantIdle {
				t.Errorf("idle connections per host = %d, want %d", got, tt.wantIdle)
			}
		})
	}
}
