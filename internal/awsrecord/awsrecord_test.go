package awsrecord_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/internal/awsrecord"
)

func TestRecorderKeepsServiceOperationAndInput(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"events":[],"nextForwardToken":"f/1"}`))
	}))
	defer srv.Close()
	rec := &awsrecord.Recorder{}
	client := cloudwatchlogs.NewFromConfig(aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		APIOptions:   []func(*middleware.Stack) error{rec.Options},
	})
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/experts/dev/api"), LogStreamName: aws.String("migrate/migrate/1")}
	if _, err := client.GetLogEvents(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	calls := rec.Calls()
	if len(calls) != 1 {
		t.Fatalf("recorded %d calls, want 1", len(calls))
	}
	got := []string{calls[0].Service, calls[0].Operation, calls[0].Region}
	if diff := cmp.Diff([]string{"CloudWatch Logs", "GetLogEvents", "eu-west-1"}, got); diff != "" {
		t.Errorf("call (-want +got):\n%s", diff)
	}
	if calls[0].Input != in {
		t.Errorf("input %v, want the call's own input", calls[0].Input)
	}
}
