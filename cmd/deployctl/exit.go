package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Exit codes of every command; --help of each command says which ones it
// uses and when.
const (
	exitOK          = 0   // the command did what it was asked
	exitFailed      = 1   // the operation ran and failed: a check, policy, migration, publish or AWS call
	exitUsage       = 2   // bad flags or configuration found before anything ran
	exitInterrupted = 130 // SIGINT (Ctrl-C) or SIGTERM ended the command
)

// exitStatusHelp is the closing paragraph of a command's --help: ok, failed
// and usage say what 0, 1 and 2 mean for that command.
func exitStatusHelp(ok, failed, usage string) string {
	return fmt.Sprintf("Exit status: 0 %s, 1 %s, 2 %s, %d interrupted (SIGINT or SIGTERM).", ok, failed, usage, exitInterrupted)
}

// exitError carries the exit code a command decided on. Every other error
// is a failure (exit 1).
type exitError struct {
	code int
	err  error
	// silent errors have been reported already (the root command's
	// usage): run prints nothing more.
	silent bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports bad flags or bad configuration (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// usageError marks err as a usage or configuration problem (exit 2).
func usageError(err error) error {
	return &exitError{code: exitUsage, err: err}
}

// failedf reports that what the command checked did not pass (exit 1).
func failedf(format string, args ...any) error {
	return &exitError{code: exitFailed, err: fmt.Errorf(format, args...)}
}

// interruptedError is the cause of the root context's cancellation when a
// signal ended the command.
type interruptedError struct{ sig os.Signal }

func (e *interruptedError) Error() string {
	name := "SIGINT"
	if e.sig == syscall.SIGTERM {
		name = "SIGTERM"
	}
	return "interrupted (" + name + ")"
}

// cancelOnSignal cancels the root context with an *interruptedError when
// the first signal arrives on sigs; stop then restores the default
// behavior so that a second Ctrl-C ends the process at once.
func cancelOnSignal(sigs <-chan os.Signal, cancel context.CancelCauseFunc, stop func()) {
	sig, ok := <-sigs
	if !ok {
		return
	}
	cancel(&interruptedError{sig: sig})
	stop()
}

// exitCode is the one place where an error becomes an exit code. ctx is
// the root context: when a signal canceled it, the command was
// interrupted, whatever error the cancellation caused.
func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var interrupted *interruptedError
	if errors.As(context.Cause(ctx), &interrupted) {
		return exitInterrupted
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailed
}

// errorMessage is what run prints for err: the interruption itself when a
// signal ended the command (not the "context canceled" it caused).
func errorMessage(ctx context.Context, err error) string {
	var interrupted *interruptedError
	if errors.As(context.Cause(ctx), &interrupted) {
		return interrupted.Error()
	}
	return err.Error()
}
