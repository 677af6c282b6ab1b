package stacks

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// CallerIdentityAPI is the part of the STS client that Whoami needs.
type CallerIdentityAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Caller is who the current AWS credentials are.
type Caller struct {
	Account string `json:"account"`
	Arn     string `json:"arn"`
	UserID  string `json:"userId"`
}

// Errors of Whoami, for errors.Is.
var (
	// ErrAccountMismatch: the credentials belong to another account than
	// the one expected.
	ErrAccountMismatch = errors.New("credentials are for another account")
	// ErrCredentialsExpired: AWS refused the credentials because their
	// session ended.
	ErrCredentialsExpired = errors.New("aws credentials expired")
	// ErrCredentialsRejected: AWS does not know the credentials at all.
	ErrCredentialsRejected = errors.New("aws credentials rejected")
)

// AccountMismatchError says which account the credentials are for, which
// one was expected, and what to check.
type AccountMismatchError struct {
	Caller   Caller
	Expected string
}

func (e *AccountMismatchError) Error() string {
	return fmt.Sprintf("credentials are for account %s (%s), not the expected account %s: "+
		"check the role-to-assume given to configure-aws-credentials (one of this environment's role outputs, such as %s) "+
		"and the job's environment, or, locally, AWS_PROFILE",
		e.Caller.Account, e.Caller.Arn, e.Expected, OutputInfraRoleArn)
}

// Is makes errors.Is(err, ErrAccountMismatch) true.
func (e *AccountMismatchError) Is(target error) bool { return target == ErrAccountMismatch }

// CredentialsError reports that AWS refused the credentials, and says what
// to check.
type CredentialsError struct {
	Code    string // the AWS error code, such as ExpiredToken
	Expired bool
	Err     error
}

func (e *CredentialsError) Error() string {
	if e.Expired {
		return fmt.Sprintf("AWS credentials expired (%s): the role session ended before this step; "+
			"request new credentials (re-run configure-aws-credentials in this job, or aws sso login locally) and check that "+
			"role-duration-seconds covers the whole job (at most the role's MaxSessionDuration)", e.Code)
	}
	return fmt.Sprintf("AWS rejected the credentials (%s): check that configure-aws-credentials ran in this job with "+
		"id-token: write, or, locally, AWS_PROFILE and the AWS_ACCESS_KEY_ID/AWS_SESSION_TOKEN variables", e.Code)
}

// Unwrap lets errors.Is match ErrCredentialsExpired or
// ErrCredentialsRejected, and the SDK's error.
func (e *CredentialsError) Unwrap() []error {
	if e.Expired {
		return []error{ErrCredentialsExpired, e.Err}
	}
	return []error{ErrCredentialsRejected, e.Err}
}

var whoamiAccountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// CheckAccountID refuses an expected account id that is not 12 digits.
func CheckAccountID(id string) error {
	if !whoamiAccountPattern.MatchString(id) {
		return fmt.Errorf("account id %q is not 12 digits", id)
	}
	return nil
}

// Whoami asks STS who the current credentials are. With expectAccount set
// it also requires them to be for that account: on a mismatch it returns
// the caller together with an *AccountMismatchError.
func Whoami(ctx context.Context, api CallerIdentityAPI, expectAccount string) (Caller, error) {
	if expectAccount != "" {
		if err := CheckAccountID(expectAccount); err != nil {
			return Caller{}, fmt.Errorf("expected %w", err)
		}
	}
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Caller{}, callerIdentityError(err)
	}
	c := Caller{Account: aws.ToString(out.Account), Arn: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId)}
	if c.Account == "" {
		return c, errors.New("get caller identity: STS answered without an account")
	}
	if expectAccount != "" && c.Account != expectAccount {
		return c, &AccountMismatchError{Caller: c, Expected: expectAccount}
	}
	return c, nil
}

// callerIdentityError classifies a failed GetCallerIdentity.
func callerIdentityError(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := apiErr.ErrorCode(); code {
		case "ExpiredToken", "ExpiredTokenException":
			return &CredentialsError{Code: code, Expired: true, Err: err}
		case "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidToken":
			return &CredentialsError{Code: code, Err: err}
		}
	}
	return fmt.Errorf("get caller identity (are AWS credentials and a region configured?): %w", err)
}
