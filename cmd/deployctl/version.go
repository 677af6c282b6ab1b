package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/experts/platform/internal/cliout"
)

// Set at build time with
//
//	go build -ldflags "-X main.version=1.4.2 -X main.commit=$(git rev-parse HEAD)" ./cmd/deployctl
//
// Left empty, they come from the module and VCS information that the Go
// toolchain embeds (runtime/debug.ReadBuildInfo).
var (
	version string
	commit  string
)

// versionInfo is what deployctl version prints.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"` // built from a work tree with uncommitted changes
	GoVersion string `json:"goVersion"`
}

// currentVersion is the version of this binary.
func currentVersion() versionInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return buildVersion(version, commit, info)
}

// buildVersion prefers the linker-set version and commit and falls back to
// the embedded build information.
func buildVersion(version, commit string, info *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if info != nil {
		if info.GoVersion != "" {
			v.GoVersion = info.GoVersion
		}
		if v.Version == "" && info.Main.Version != "" {
			v.Version = info.Main.Version
		}
		if v.Commit == "" {
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					v.Commit = s.Value
				case "vcs.modified":
					v.Modified = s.Value == "true"
				}
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

type versionOptions struct {
	Stdout  io.Writer
	Version versionInfo

	JSON bool
}

func newCmdVersion(f *factory, runF func(context.Context, *versionOptions) error) *cobra.Command {
	opts := &versionOptions{Stdout: f.Stdout, Version: f.Version}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the version, commit and Go version of deployctl",
		Long: `Prints the version and commit deployctl was built from (set with -ldflags
-X main.version=... -X main.commit=..., or else read from the build
information that the Go toolchain embeds) and the Go version.

` + exitStatusHelp("printed", "stdout could not be written", "usage error"),
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return opts.run()
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the version as one JSON document on stdout")
	return cmd
}

func (o *versionOptions) run() error {
	v := o.Version
	if o.JSON {
		return cliout.WriteJSON(o.Stdout, v)
	}
	commit := v.Commit
	if v.Modified {
		commit += " (modified)"
	}
	if _, err := fmt.Fprintf(o.Stdout, "deployctl %s\ncommit %s\n%s\n", v.Version, commit, v.GoVersion); err != nil {
		return fmt.Errorf("write version: %w", err)
	}
	return nil
}
