// Command deployctl is the one CLI that release workflows and engineers run:
// offline previews, smoke checks, migrations, frontend publishes and releases
// of the experts platform. Each command is a thin layer of flags over the
// infra, stacks and smoke packages.
//
// # Adding a command
//
// A command is one file, cmd/deployctl/<name>.go, plus one line in
// newCmdRoot. The file holds:
//
//   - an options struct with the command's flags and its dependencies,
//     copied from the factory (factory.go) when the command is built:
//     streams (Stdout, Stderr), Getenv, Now and the constructors of AWS
//     clients and Pulumi workspaces. A dependency the factory lacks gets a
//     new factory field, filled in by newFactory.
//   - newCmdName(f *factory, runF func(context.Context, *nameOptions) error)
//     *cobra.Command, which binds the flags to the options with
//     cmd.Flags().XxxVar, sets Args: noArgs and a RunE that calls
//     opts.validate() and then runF when it is not nil (tests use it to
//     see the parsed options), else opts.run(ctx).
//   - validate, which checks the flags without touching the outside world
//     and returns usageErrorf(...) for each problem (exit 2), and run,
//     which does the work. A failed check is failedf(...) (exit 1); any
//     other error exits 1 too. An error of the Automation API goes through
//     automationError (automation.go), which makes the configuration
//     problems (unknown stack, no Pulumi CLI, missing project directory)
//     exit 2 with a message that says what to do.
//   - Long help that ends with exitStatusHelp(...), so that --help states
//     the exit codes that exitCode (exit.go) decides.
//
// Tests build their own factory (newTestFactory in factory_test.go) and call
// run with it; no test replaces a package variable, so tests run in
// parallel. TestMarkdownQuotesOnlyRealFlags checks every "deployctl <command>
// --flag" quoted in README.md and docs/ against this command tree.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const programName = "deployctl"

// newCmdRoot returns the command tree of deployctl.
func newCmdRoot(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   programName + " <command> [flags]",
		Short: "Preview, check, migrate, publish and release the experts platform",
		Long: `deployctl previews, checks, migrates, publishes and releases the experts
platform. Every input is a --flag; results go to stdout (--json for
machines), diagnostics and progress to stderr.

` + exitStatusHelp("success", "the operation failed", "usage or configuration error (nothing was done)"),
		// Errors are printed once, by run, without the usage.
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
			}
			return usageErrorf("%s\nsee '%s --help'", msg, programName)
		},
		RunE: func(c *cobra.Command, _ []string) error {
			// No command: the usage is the answer, on stderr, and exit 2.
			c.SetOut(f.Stderr)
			if err := c.Usage(); err != nil {
				return err
			}
			return &exitError{code: exitUsage, err: errors.New("no command given"), silent: true}
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.SetOut(f.Stdout)
	root.SetErr(f.Stderr)
	root.SetFlagErrorFunc(flagError)
	root.CompletionOptions.DisableDefaultCmd = true // newCmdCompletion states its exit codes

	root.AddCommand(
		newCmdPreview(f, nil),
		newCmdWhoami(f, nil),
		newCmdSmoke(f, nil),
		newCmdMigrate(f, nil),
		newCmdPublishFrontend(f, nil),
		newCmdRelease(f, nil),
		newCmdRollback(f, nil),
		newCmdUp(f, nil),
		newCmdHistory(f, nil),
		newCmdStatus(f, nil),
		newCmdCompletion(f, nil),
		newCmdVersion(f, nil),
	)
	return root
}

// flagError turns a flag parse error into a short usage error that points
// at the command's --help instead of printing all of it.
func flagError(c *cobra.Command, err error) error {
	if errors.Is(err, pflag.ErrHelp) {
		return err
	}
	return usageErrorf("%w\nsee '%s --help'", err, c.CommandPath())
}

// noArgs refuses positional arguments: every input has a named flag.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q (every input is a flag)\nsee '%s --help'", strings.Join(args, " "), c.CommandPath())
	}
	return nil
}

// run executes one command line and returns its exit code; errors are
// printed here, once, prefixed with the command's path.
func run(ctx context.Context, f *factory, args []string) int {
	root := newCmdRoot(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) || !ee.silent {
		path := programName
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(f.Stderr, "%s: %s\n", path, errorMessage(ctx, err))
	}
	return exitCode(ctx, err)
}
