package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func TestTopLevelUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no command is a usage error", nil, 2, "", "Usage:\n  deployctl <command> [flags]"},
		{"--help lists every command and exits 0", []string{"--help"}, 0, "publish-frontend", ""},
		{"help lists every command and exits 0", []string{"help"}, 0, "Available Commands:", ""},
		{"an unknown command is a usage error", []string{"deploy"}, 2, "", "deployctl: unknown command \"deploy\"\nsee 'deployctl --help'\n"},
		{"a misspelled command gets a suggestion", []string{"previwe"}, 2, "", `unknown command "previwe" (did you mean preview?)`},
		{"a positional argument is refused", []string{"whoami", "prod"}, 2, "", "deployctl whoami: unexpected argument \"prod\" (every input is a flag)\nsee 'deployctl whoami --help'\n"},
		{"an unknown flag is a short usage error", []string{"whoami", "--stack", "dev"}, 2, "", "deployctl whoami: unknown flag: --stack\nsee 'deployctl whoami --help'\n"},
		{"a flag without its value is a usage error", []string{"smoke", "--attempts"}, 2, "", "deployctl smoke: flag needs an argument: --attempts\nsee 'deployctl smoke --help'\n"},
		{"a malformed value is a usage error", []string{"smoke", "--attempts", "many"}, 2, "", `invalid argument "many" for "--attempts" flag`},
		{"a single-dash long flag is refused", []string{"whoami", "-json"}, 2, "", "see 'deployctl whoami --help'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantStdout, stdout)
			}
			if tt.wantStdout == "" && stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
			if tt.wantCode == exitUsage && strings.Count(stderr, "Flags:") > 0 && len(tt.args) > 0 {
				t.Errorf("a usage error prints the whole usage:\n%s", stderr)
			}
		})
	}
}

func TestRootHelpListsEveryCommand(t *testing.T) {
	t.Parallel()
	_, stdout, _ := runCLI(t, "--help")
	for _, c := range newCmdRoot(newTestCLI(t).F).Commands() {
		if !strings.Contains(stdout, "  "+c.Name()+" ") {
			t.Errorf("--help does not list %s:\n%s", c.Name(), stdout)
		}
	}
}

// visibleCommands returns every runnable, visible command under c.
func visibleCommands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" {
			continue
		}
		if sub.Runnable() {
			out = append(out, sub)
		}
		out = append(out, visibleCommands(sub)...)
	}
	return out
}

func TestEveryCommandHelpNamesEveryFlagAndTheExitCodes(t *testing.T) {
	t.Parallel()
	for _, cmd := range visibleCommands(newCmdRoot(newTestCLI(t).F)) {
		path := strings.Fields(cmd.CommandPath())[1:]
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			t.Parallel()
			code, help, stderr := runCLI(t, append(path, "--help")...)
			if code != exitOK || stderr != "" {
				t.Fatalf("--help: exit %d, stderr %q", code, stderr)
			}
			cmd.Flags().VisitAll(func(fl *pflag.Flag) {
				if !strings.Contains(help, "--"+fl.Name) {
					t.Errorf("--help does not name --%s:\n%s", fl.Name, help)
				}
			})
			if !strings.Contains(help, "Exit status: 0 ") {
				t.Errorf("--help does not state the exit status:\n%s", help)
			}
			if !strings.Contains(help, fmt.Sprintf("%d interrupted", exitInterrupted)) {
				t.Errorf("--help does not state the exit status of an interruption:\n%s", help)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	interrupted, cancel := context.WithCancelCause(context.Background())
	cancel(&interruptedError{sig: syscall.SIGTERM})
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"success is 0", context.Background(), nil, exitOK},
		{"a usage error is 2", context.Background(), usageErrorf("bad flag"), exitUsage},
		{"a wrapped usage error is 2", context.Background(), fmt.Errorf("wrapped: %w", usageErrorf("bad flag")), exitUsage},
		{"a failed check is 1", context.Background(), failedf("check failed"), exitFailed},
		{"any other error is 1", context.Background(), errors.New("aws unreachable"), exitFailed},
		{"an error after a signal is 130", interrupted, context.Canceled, exitInterrupted},
		{"a usage error after a signal is 130", interrupted, usageErrorf("bad flag"), exitInterrupted},
		{"a cancellation without a signal is 1", canceled, context.Canceled, exitFailed},
		{"success after a signal is 0", interrupted, nil, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := exitCode(tt.ctx, tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestCancelOnSignal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sig  os.Signal
		want string
	}{{os.Interrupt, "interrupted (SIGINT)"}, {syscall.SIGTERM, "interrupted (SIGTERM)"}} {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancelCause(context.Background())
			sigs := make(chan os.Signal, 1)
			stopped := make(chan struct{})
			go cancelOnSignal(sigs, cancel, func() { close(stopped) })
			sigs <- tt.sig
			<-stopped
			<-ctx.Done()
			if got := errorMessage(ctx, context.Canceled); got != tt.want {
				t.Errorf("message = %q, want %q", got, tt.want)
			}
			if code := exitCode(ctx, context.Canceled); code != exitInterrupted {
				t.Errorf("exit code = %d, want %d", code, exitInterrupted)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	t.Run("prints the version, commit and Go version", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runCLI(t, "version")
		if code != exitOK || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if diff := cmp.Diff("deployctl 1.4.2\ncommit 3f2c9e1b7d0a\ngo1.26.6\n", stdout); diff != "" {
			t.Errorf("stdout (-want +got):\n%s", diff)
		}
	})
	t.Run("prints JSON with --json", func(t *testing.T) {
		t.Parallel()
		code, stdout, _ := runCLI(t, "version", "--json")
		want := "{\n  \"version\": \"1.4.2\",\n  \"commit\": \"3f2c9e1b7d0a\",\n  \"goVersion\": \"go1.26.6\"\n}\n"
		if diff := cmp.Diff(want, stdout); code != exitOK || diff != "" {
			t.Errorf("exit %d, stdout (-want +got):\n%s", code, diff)
		}
	})
	info := &debug.BuildInfo{
		GoVersion: "go1.26.6",
		Main:      debug.Module{Path: "github.com/experts/platform", Version: "v1.4.2"},
		Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}},
	}
	tests := []struct {
		name            string
		version, commit string
		info            *debug.BuildInfo
		want            versionInfo
	}{
		{"prefers the linker flags", "1.5.0", "def456", info, versionInfo{Version: "1.5.0", Commit: "def456", GoVersion: "go1.26.6"}},
		{"falls back to the build information", "", "", info, versionInfo{Version: "v1.4.2", Commit: "abc123", Modified: true, GoVersion: "go1.26.6"}},
		{"says what it does not know", "", "", &debug.BuildInfo{GoVersion: "go1.26.6"}, versionInfo{Version: "(devel)", Commit: "unknown", GoVersion: "go1.26.6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, buildVersion(tt.version, tt.commit, tt.info)); diff != "" {
				t.Errorf("buildVersion (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("this test binary has a Go version", func(t *testing.T) {
		t.Parallel()
		if v := currentVersion(); !strings.HasPrefix(v.GoVersion, "go") || v.Version == "" || v.Commit == "" {
			t.Errorf("currentVersion() = %+v", v)
		}
	})
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	for shell, want := range map[string]string{
		"bash": "__start_deployctl",
		"zsh":  "#compdef deployctl",
		"fish": "complete -c deployctl",
	} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, "completion", shell)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if !strings.Contains(stdout, want) {
				t.Errorf("the %s script lacks %q:\n%.400s", shell, want, stdout)
			}
		})
	}
	t.Run("completes command names", func(t *testing.T) {
		t.Parallel()
		code, stdout, _ := runCLI(t, cobra.ShellCompRequestCmd, "pub")
		if code != exitOK || !strings.Contains(stdout, "publish-frontend") {
			t.Errorf("exit %d, completions:\n%s", code, stdout)
		}
	})
	t.Run("completes flag names", func(t *testing.T) {
		t.Parallel()
		code, stdout, _ := runCLI(t, cobra.ShellCompRequestCmd, "migrate", "--task")
		if code != exitOK || !strings.Contains(stdout, "--task-definition") {
			t.Errorf("exit %d, completions:\n%s", code, stdout)
		}
	})
	t.Run("refuses another shell", func(t *testing.T) {
		t.Parallel()
		if code, _, stderr := runCLI(t, "completion", "tcsh"); code != exitUsage {
			t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, stderr)
		}
	})
}
