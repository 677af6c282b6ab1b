package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// automationFailure is an Automation API error with a message that says
// what happened and what to do; Unwrap keeps the original for errors.Is.
type automationFailure struct {
	msg string
	err error
}

func (e *automationFailure) Error() string { return e.msg }
func (e *automationFailure) Unwrap() error { return e.err }

// automationError classifies an error of the Automation API (returned by
// stacks.ReadOutputs, stacks.PreviewLive and the other stacks operations
// on stack in the project directory dir) before it reaches the user:
// problems of the configuration become usage errors (exit 2), the others
// failures (exit 1), each with a message that says what to do. Other
// errors are returned as they are.
func automationError(err error, stack, dir string) error {
	if err == nil {
		return nil
	}
	fail := func(usage bool, format string, args ...any) error {
		e := &automationFailure{msg: fmt.Sprintf(format, args...), err: err}
		if usage {
			return usageError(e)
		}
		return e
	}
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fail(true, "the Pulumi CLI is not installed (no pulumi on PATH): install it "+
			"(https://www.pulumi.com/docs/iac/download-install/) and run again")
	case auto.IsSelectStack404Error(err):
		return fail(true, "stack %q does not exist in the backend of the project in %s: check --stack, "+
			"and that this shell is logged in to the stack's backend (pulumi login, PULUMI_BACKEND_URL)", stack, dir)
	case auto.IsCreateStack409Error(err):
		return fail(true, "stack %q already exists: select it instead of creating it", stack)
	case auto.IsConcurrentUpdateError(err):
		return fail(false, "stack %s is locked by another update: wait for it to finish and run again "+
			"(if that update crashed, unlock with pulumi cancel --stack %s)", stack, stack)
	case auto.IsCompilationError(err):
		return fail(false, "the Pulumi program does not compile: fix the build errors below and run again%s", pulumiStderr(err))
	case auto.IsRuntimeError(err):
		return fail(false, "the Pulumi program failed while running on stack %s: fix the error below and run again%s", stack, pulumiStderr(err))
	case auto.IsUnexpectedEngineError(err):
		return fail(false, "the Pulumi engine crashed on stack %s (a bug of the Pulumi CLI): run again, "+
			"and report it with the output below if it happens again%s", stack, pulumiStderr(err))
	}
	return err
}

// pulumiStderr returns the last lines the Pulumi CLI wrote to stderr, as
// the Automation API's error text holds them, on lines of their own.
func pulumiStderr(err error) string {
	text := err.Error()
	i := strings.LastIndex(text, "\nstderr: ")
	if i < 0 {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(text[i+len("\nstderr: "):], "\n") {
		if l = strings.TrimRight(l, " \t\r"); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	if len(lines) == 0 {
		return ""
	}
	return ":\n  " + strings.Join(lines, "\n  ")
}

// stackNamePattern is one part of a Pulumi stack name: the stack, or the
// organization and project of a fully qualified org/project/stack.
var stackNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// requireStack refuses an empty or malformed --stack.
func requireStack(name string) error {
	if name == "" {
		return usageErrorf("--stack is required (for example --stack dev)")
	}
	return checkStackName("--stack", name)
}

// checkStackName refuses a --stack value that Pulumi would refuse (or
// that would name a file outside the project directory).
func checkStackName(flag, name string) error {
	parts := strings.Split(name, "/")
	ok := len(parts) <= 3
	for _, p := range parts {
		ok = ok && stackNamePattern.MatchString(p) && p != "." && p != ".."
	}
	if !ok {
		return usageErrorf("%s %q is not a stack name: use letters, digits, '-', '_' and '.', "+
			"optionally as org/project/stack (for example --stack dev)", flag, name)
	}
	return nil
}

// checkProjectDir refuses a --dir that is not a Pulumi project directory.
func checkProjectDir(flag, dir string) error {
	info, err := os.Stat(dir)
	switch {
	case err != nil && errors.Is(err, os.ErrNotExist):
		return usageErrorf("%s %s does not exist: give the directory that holds Pulumi.yaml", flag, dir)
	case err != nil:
		return usageErrorf("%s %s: %w", flag, dir, err)
	case !info.IsDir():
		return usageErrorf("%s %s is not a directory: give the directory that holds Pulumi.yaml", flag, dir)
	}
	for _, name := range []string{"Pulumi.yaml", "Pulumi.yml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return nil
		}
	}
	return usageErrorf("%s %s holds no Pulumi.yaml: give the project directory (the repository root)", flag, dir)
}
