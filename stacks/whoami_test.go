package stacks

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// whoamiFakeSTS answers GetCallerIdentity with Out or Err and counts the calls.
type whoamiFakeSTS struct {
	Out   *sts.GetCallerIdentityOutput
	Err   error
	Calls int
}

func (f *whoamiFakeSTS) GetCallerIdentity(ctx context.Context, _ *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	f.Calls++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return f.Out, f.Err
}

const (
	whoamiDevAccount = "210987654321"
	whoamiDevRoleArn = "arn:aws:sts::210987654321:assumed-role/experts-dev-api-deploy/GitHubActions"
)

func whoamiIdentity(account, arn string) *sts.GetCallerIdentityOutput {
	return &sts.GetCallerIdentityOutput{Account: aws.String(account), Arn: aws.String(arn), UserId: aws.String("AROAEXAMPLE:GitHubActions")}
}

// stsError is an STS error as the SDK returns it.
func whoamiSTSError(code, message string) error {
	return &smithy.OperationError{ServiceID: "STS", OperationName: "GetCallerIdentity",
		Err: &smithy.GenericAPIError{Code: code, Message: message, Fault: smithy.FaultClient}}
}

func TestWhoamiReturnsTheCallerWhenTheAccountMatches(t *testing.T) {
	api := &whoamiFakeSTS{Out: whoamiIdentity(whoamiDevAccount, whoamiDevRoleArn)}
	got, err := Whoami(context.Background(), api, whoamiDevAccount)
	if err != nil {
		t.Fatal(err)
	}
	want := Caller{Account: whoamiDevAccount, Arn: whoamiDevRoleArn, UserID: "AROAEXAMPLE:GitHubActions"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("caller (-want +got):\n%s", diff)
	}
}

func TestWhoamiWithoutExpectationOnlyReports(t *testing.T) {
	got, err := Whoami(context.Background(), &whoamiFakeSTS{Out: whoamiIdentity("123456789012", "arn:aws:iam::123456789012:user/alice")}, "")
	if err != nil || got.Account != "123456789012" {
		t.Fatalf("Whoami = %+v, %v", got, err)
	}
}

func TestWhoamiFailsOnAnotherAccount(t *testing.T) {
	prodArn := "arn:aws:sts::123456789012:assumed-role/experts-prod-api-deploy/GitHubActions"
	got, err := Whoami(context.Background(), &whoamiFakeSTS{Out: whoamiIdentity("123456789012", prodArn)}, whoamiDevAccount)
	if !errors.Is(err, ErrAccountMismatch) {
		t.Fatalf("error = %v, want ErrAccountMismatch", err)
	}
	var mismatch *AccountMismatchError
	if !errors.As(err, &mismatch) || mismatch.Expected != whoamiDevAccount || mismatch.Caller.Account != "123456789012" {
		t.Errorf("error = %#v", err)
	}
	if got.Arn != prodArn {
		t.Errorf("the caller is returned with the mismatch so that it can be shown; got %+v", got)
	}
	for _, want := range []string{"account 123456789012", prodArn, "not the expected account " + whoamiDevAccount, "role-to-assume", "AWS_PROFILE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
}

func TestWhoamiClassifiesRefusedCredentials(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		sentinel error
		want     []string
	}{
		{"says expired credentials are expired", whoamiSTSError("ExpiredToken", "The security token included in the request is expired"),
			ErrCredentialsExpired, []string{"expired (ExpiredToken)", "role-duration-seconds", "MaxSessionDuration", "configure-aws-credentials"}},
		{"says so for the JSON protocol's code too", whoamiSTSError("ExpiredTokenException", "expired"),
			ErrCredentialsExpired, []string{"expired (ExpiredTokenException)"}},
		{"says unknown credentials are rejected", whoamiSTSError("InvalidClientTokenId", "The security token included in the request is invalid"),
			ErrCredentialsRejected, []string{"rejected the credentials (InvalidClientTokenId)", "id-token: write", "AWS_PROFILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Whoami(context.Background(), &whoamiFakeSTS{Err: tt.err}, whoamiDevAccount)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error = %v, want %v", err, tt.sentinel)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Error("the SDK's error is not kept")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message lacks %q: %v", want, err)
				}
			}
		})
	}
}

func TestWhoamiWrapsOtherFailures(t *testing.T) {
	cause := errors.New("dial tcp: lookup sts.eu-west-1.amazonaws.com: no such host")
	_, err := Whoami(context.Background(), &whoamiFakeSTS{Err: cause}, whoamiDevAccount)
	if !errors.Is(err, cause) || errors.Is(err, ErrCredentialsExpired) || errors.Is(err, ErrAccountMismatch) {
		t.Fatalf("error = %v", err)
	}
	if !strings.Contains(err.Error(), "get caller identity") {
		t.Errorf("message does not say what failed: %v", err)
	}
}

func TestWhoamiStopsWhenTheContextIsCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Whoami(ctx, &whoamiFakeSTS{Out: whoamiIdentity(whoamiDevAccount, whoamiDevRoleArn)}, whoamiDevAccount)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestWhoamiRefusesABadExpectedAccountWithoutCalling(t *testing.T) {
	for _, bad := range []string{"21098765432", "2109876543210", "21098765432a", " 210987654321"} {
		api := &whoamiFakeSTS{Out: whoamiIdentity(whoamiDevAccount, whoamiDevRoleArn)}
		_, err := Whoami(context.Background(), api, bad)
		if err == nil || !strings.Contains(err.Error(), "not 12 digits") {
			t.Errorf("Whoami(%q) error = %v, want a refusal", bad, err)
		}
		if api.Calls != 0 {
			t.Errorf("Whoami(%q) called STS", bad)
		}
	}
}

func TestWhoamiFailsWhenSTSNamesNoAccount(t *testing.T) {
	_, err := Whoami(context.Background(), &whoamiFakeSTS{Out: &sts.GetCallerIdentityOutput{}}, "")
	if err == nil {
		t.Fatal("want an error")
	}
}
