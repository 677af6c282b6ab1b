// Package awsrecord records the AWS calls an aws-sdk-go-v2 client makes:
// service, operation, region and the input, taken from the client's own
// middleware stack. Tests add Recorder.Options to a client's APIOptions
// (aws.Config.APIOptions) and read the calls back, for example to replay
// them against a role's policies in the IAM simulation (internal/iamsim).
package awsrecord

import (
	"context"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Call is one operation a client called.
type Call struct {
	// Service is the SDK's service id ("S3", "CloudFront", "ECS").
	Service string
	// Operation is the API operation ("PutObject").
	Operation string
	Region    string
	// Input is the operation's input struct (*s3.PutObjectInput...).
	Input any
}

// Recorder keeps the calls of every client it was added to. It is safe
// for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	calls []Call
}

// Options is the APIOptions entry that records each call once, before it
// is signed and sent (retries are not recorded again).
func (r *Recorder) Options(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("awsrecord",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			r.calls = append(r.calls, Call{
				Service:   awsmiddleware.GetServiceID(ctx),
				Operation: awsmiddleware.GetOperationName(ctx),
				Region:    awsmiddleware.GetRegion(ctx),
				Input:     in.Parameters,
			})
			r.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// Calls returns the calls recorded so far, in the order they were made.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}
