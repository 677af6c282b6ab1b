package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go cancelOnSignal(sigs, cancel, func() { signal.Reset(os.Interrupt, syscall.SIGTERM) })

	f := newFactory(os.Stdout, os.Stderr, os.Getenv, currentVersion())
	code := run(ctx, f, os.Args[1:])
	cancel(nil)
	os.Exit(code)
}
