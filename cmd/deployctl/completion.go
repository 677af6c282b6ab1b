package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// completionShells are the shells deployctl completion writes scripts for.
var completionShells = []string{"bash", "zsh", "fish"}

type completionOptions struct {
	Stdout io.Writer

	Shell string
}

func newCmdCompletion(f *factory, runF func(context.Context, *completionOptions) error) *cobra.Command {
	opts := &completionOptions{Stdout: f.Stdout}
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "print the shell completion script for bash, zsh or fish",
		Long: `Prints the script that completes deployctl's commands and flags in the
given shell. To load it:

  bash  source <(deployctl completion bash)      (needs bash-completion 2)
  zsh   deployctl completion zsh > "${fpath[1]}/_deployctl"
  fish  deployctl completion fish > ~/.config/fish/completions/deployctl.fish

` + exitStatusHelp("printed", "stdout could not be written", "no shell or another shell was given"),
		ValidArgs: completionShells,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("give one shell: bash, zsh or fish\nsee '%s --help'", c.CommandPath())
			}
			opts.Shell = args[0]
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return opts.run(c.Root())
		},
	}
	return cmd
}

func (o *completionOptions) validate() error {
	for _, s := range completionShells {
		if o.Shell == s {
			return nil
		}
	}
	return usageErrorf("cannot complete for %q: give bash, zsh or fish", o.Shell)
}

func (o *completionOptions) run(root *cobra.Command) error {
	var err error
	switch o.Shell {
	case "bash":
		err = root.GenBashCompletionV2(o.Stdout, true)
	case "zsh":
		err = root.GenZshCompletion(o.Stdout)
	case "fish":
		err = root.GenFishCompletion(o.Stdout, true)
	}
	if err != nil {
		return fmt.Errorf("write %s completion: %w", o.Shell, err)
	}
	return nil
}
