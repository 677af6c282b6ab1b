// Command deployctl is the one CLI that release workflows and engineers run:
// offline previews, smoke checks, migrations, frontend publishes and releases
// of the experts platform. Each subcommand is a thin layer of flags over the
// infra, stacks and smoke packages.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &streams{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}
