package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0 // the command did what it was asked
	exitFailed  = 1 // a check, policy, migration or release failed
	exitUsage   = 2 // bad flags or bad configuration: nothing was attempted
	programName = "deployctl"
)

// streams is what a command may touch of the outside world besides AWS:
// results go to stdout, diagnostics and progress to stderr.
type streams struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// logger returns the structured progress logger (stderr).
func (s *streams) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// command is one deployctl subcommand. Commands register themselves from
// init functions in their own files so that each lives beside its flags.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, s *streams, args []string) error
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("deployctl: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// exitError carries the exit code a command decided on. Every other error
// is a failure (exit 1).
type exitError struct {
	code int
	err  error
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

// exitCode is the one place where an error becomes an exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailed
}

func run(ctx context.Context, args []string, s *streams) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(s.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(s.stderr, "%s: unknown command %q\n\n", programName, args[0])
		printUsage(s.stderr)
		return exitUsage
	}
	err := cmd.run(ctx, s, args[1:])
	code := exitCode(err)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(s.stderr, "%s %s: %v\n", programName, cmd.name, err)
	}
	return code
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", programName)
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-18s %s\n", name, commands[name].summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for the flags of one command.\n", programName)
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage (synopsis, then flags) to stderr.
func newFlagSet(s *streams, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.stderr)
	fs.Usage = func() {
		fmt.Fprintf(s.stderr, "Usage: %s %s\n\nFlags:\n", programName, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and turns a parse failure into a usage error.
// Positional arguments are refused: every input has a named flag.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q (every input is a flag; see --help)", strings.Join(fs.Args(), " "))
	}
	return nil
}
