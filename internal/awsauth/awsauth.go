// Package awsauth recognizes the AWS errors that mean the caller's
// credentials no longer work, and says what to check. Every package that
// calls AWS classifies its errors here, so that an expired session reads
// the same from whoami, a migration or a release.
package awsauth

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// Errors a *CredentialsError matches with errors.Is.
var (
	// ErrCredentialsExpired: AWS refused the session token as expired.
	ErrCredentialsExpired = errors.New("AWS credentials expired")
	// ErrCredentialsRejected: AWS does not know the credentials at all.
	ErrCredentialsRejected = errors.New("AWS credentials rejected")
)

// CredentialsError reports that AWS refused a call because of the
// credentials, and says what to check.
type CredentialsError struct {
	Op   string // what was being done, such as "describe tasks"
	Code string // the AWS error code, such as ExpiredToken
	Err  error  // the SDK's error
}

// Expired tells whether the session ended (ExpiredToken); otherwise AWS
// rejected the credentials.
func (e *CredentialsError) Expired() bool {
	return e.Code == "ExpiredToken" || e.Code == "ExpiredTokenException"
}

func (e *CredentialsError) Error() string {
	if e.Expired() {
		return fmt.Sprintf("%s: AWS credentials expired (%s): the role session ended before the command did; "+
			"check the role's session duration (role-duration-seconds of configure-aws-credentials, "+
			"at most the role's MaxSessionDuration) against the command's deadline", e.Op, e.Code)
	}
	return fmt.Sprintf("%s: AWS rejected the credentials (%s): check that configure-aws-credentials ran in this job with "+
		"id-token: write, or, locally, AWS_PROFILE and the AWS_ACCESS_KEY_ID/AWS_SESSION_TOKEN variables", e.Op, e.Code)
}

// Unwrap lets errors.Is match ErrCredentialsExpired or
// ErrCredentialsRejected, and errors.As the SDK's error.
func (e *CredentialsError) Unwrap() []error {
	if e.Expired() {
		return []error{ErrCredentialsExpired, e.Err}
	}
	return []error{ErrCredentialsRejected, e.Err}
}

// Classify returns a *CredentialsError for err, an error of the AWS call
// op, when AWS refused the call because of the credentials, and nil for
// every other error.
func Classify(op string, err error) *CredentialsError {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return nil
	}
	switch code := apiErr.ErrorCode(); code {
	case "ExpiredToken", "ExpiredTokenException",
		"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidToken":
		return &CredentialsError{Op: op, Code: code, Err: err}
	}
	return nil
}
