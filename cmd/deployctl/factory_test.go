package main

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/deploy"
	"github.com/experts/platform/stacks/publish"
)

const repoRoot = "../.."

// syncBuffer is a bytes.Buffer that concurrent writers may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testCLI is a deployctl whose streams are buffers, whose environment is
// Env and whose outside world fails the test when a command reaches it,
// unless the test replaces that field of F first.
type testCLI struct {
	F      *factory
	Env    map[string]string
	stdout syncBuffer
	stderr syncBuffer
}

func newTestCLI(t *testing.T) *testCLI {
	t.Helper()
	c := &testCLI{Env: map[string]string{}}
	errUnexpected := errors.New("unexpected call in this test")
	c.F = &factory{
		Stdout: &c.stdout,
		Stderr: &c.stderr,
		Getenv: func(k string) string { return c.Env[k] },
		Now:    nil, // commands fall back to time.Now
		ReadOutputs: func(context.Context, string, string) (stacks.Outputs, error) {
			t.Error("ReadOutputs called")
			return nil, errUnexpected
		},
		PreviewLive: func(context.Context, string, string, stacks.LivePreviewOptions) (map[string]int, error) {
			t.Error("PreviewLive called")
			return nil, errUnexpected
		},
		CallerIdentity: func(context.Context) (stacks.CallerIdentityAPI, error) {
			t.Error("CallerIdentity called")
			return nil, errUnexpected
		},
		DeployClients: func(context.Context, string) (deploy.Clients, error) {
			t.Error("DeployClients called")
			return deploy.Clients{}, errUnexpected
		},
		SiteClients: func(context.Context, publish.ClientOptions) (*publish.Clients, error) {
			t.Error("SiteClients called")
			return nil, errUnexpected
		},
		NewDriver: func(context.Context, driverSpec) (*stacks.Driver, error) {
			t.Error("NewDriver called")
			return nil, errUnexpected
		},
		NewEngine: func(string, string) stacks.Engine {
			t.Error("NewEngine called")
			return nil
		},
		ServiceClient: func(context.Context, string) (stacks.ServicesAPI, error) {
			t.Error("ServiceClient called")
			return nil, errUnexpected
		},
		Version: versionInfo{Version: "1.4.2", Commit: "3f2c9e1b7d0a", GoVersion: "go1.26.6"},
	}
	return c
}

// run runs one command line and returns its exit code.
func (c *testCLI) run(ctx context.Context, args ...string) int {
	return run(ctx, c.F, args)
}

func (c *testCLI) Stdout() string { return c.stdout.String() }
func (c *testCLI) Stderr() string { return c.stderr.String() }

// runCLI runs one command line with a fresh testCLI.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	c := newTestCLI(t)
	code = c.run(t.Context(), args...)
	return code, c.Stdout(), c.Stderr()
}
