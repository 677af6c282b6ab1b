package stacks

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/experts/platform/internal/awsauth"
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
	ErrCredentialsExpired = awsauth.ErrCredentialsExpired
	// ErrCredentialsRejected: AWS does not know the credentials at all.
	ErrCredentialsRejected = awsauth.ErrCredentialsRejected
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
type CredentialsError = awsauth.CredentialsError

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
	if ce := awsauth.Classify("get caller identity", err); ce != nil {
		return ce
	}
	return fmt.Errorf("get caller identity (are AWS credentials and a region configured?): %w", err)
}
