package awsauth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	apiErr := func(code string) error {
		return &smithy.OperationError{ServiceID: "ECS", OperationName: "DescribeTasks",
			Err: &smithy.GenericAPIError{Code: code, Message: "refused"}}
	}
	tests := []struct {
		name     string
		err      error
		wantNil  bool
		wantIs   error
		wantText []string
	}{
		{name: "says an expired token is expired and what to check", err: apiErr("ExpiredToken"), wantIs: ErrCredentialsExpired,
			wantText: []string{"describe tasks: AWS credentials expired (ExpiredToken)", "configure-aws-credentials", "role-duration-seconds", "MaxSessionDuration", "session duration"}},
		{name: "says the same of the JSON protocol's code", err: fmt.Errorf("wrapped: %w", apiErr("ExpiredTokenException")), wantIs: ErrCredentialsExpired,
			wantText: []string{"AWS credentials expired (ExpiredTokenException)"}},
		{name: "says unknown credentials were rejected", err: apiErr("InvalidClientTokenId"), wantIs: ErrCredentialsRejected,
			wantText: []string{"AWS rejected the credentials (InvalidClientTokenId)", "id-token: write", "AWS_PROFILE"}},
		{name: "leaves other AWS errors alone", err: apiErr("AccessDeniedException"), wantNil: true},
		{name: "leaves errors that are not AWS errors alone", err: errors.New("dial tcp: connection refused"), wantNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Classify("describe tasks", tt.err)
			if tt.wantNil {
				if got != nil {
					t.Fatalf("Classify() = %v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatal("Classify() = nil")
			}
			if !errors.Is(got, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", got, tt.wantIs)
			}
			var sdk smithy.APIError
			if !errors.As(got, &sdk) {
				t.Errorf("%v does not keep the SDK error", got)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("%q does not say %q", got, w)
				}
			}
		})
	}
}
