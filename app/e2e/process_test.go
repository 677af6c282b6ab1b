package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer collects a process's output from its goroutines.
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

// server is a process the test started and stops.
type server struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // set when done is closed
}

// startServer starts a long-running process in its own process group and
// registers its stop (SIGTERM to the group by pid, SIGKILL after 10 s) with
// t.Cleanup, so it is stopped whether the test passes or fails. Its output
// is logged when the test fails.
func startServer(t *testing.T, name, dir string, env []string, argv ...string) *server {
	t.Helper()
	s := &server{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Dir = dir
	s.cmd.Env = env
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, s.out.String())
		}
	})
	return s
}

// stop ends the process group by the process's pid and waits for it.
func (s *server) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	pid := s.cmd.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("stop %s (pid %d): %v", s.name, pid, err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s (pid %d) did not stop within 10 s of SIGTERM: killing it", s.name, pid)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-s.done
	}
}

// waitReady polls url until it answers want, the process exits or the
// context ends.
func (s *server) waitReady(ctx context.Context, t *testing.T, url string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		code, _, err := get(ctx, url, nil)
		switch {
		case err == nil && code == want:
			return
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("status %d", code)
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited before %s answered %d (%v):\n%s", s.name, url, want, s.err, s.out.String())
		case <-ctx.Done():
			t.Fatalf("%s: %s did not answer %d in time (last: %s):\n%s", s.name, url, want, last, s.out.String())
		case <-tick.C:
		}
	}
}

// get fetches url and returns its status and body.
func get(ctx context.Context, url string, header http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, err = body.ReadFrom(resp.Body)
	return resp.StatusCode, body.Bytes(), err
}

// result is what a command that ran to its end did.
type result struct {
	code   int
	stdout string
	stderr string
}

// run runs a command to its end and returns its exit code and output; only
// a failure to start it (or a signal) fails the test.
func run(ctx context.Context, t *testing.T, dir string, env []string, argv ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
	default:
		t.Fatalf("run %v: %v\nstdout:\n%s\nstderr:\n%s", argv, err, stdout.String(), stderr.String())
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs a command that must exit 0.
func mustRun(ctx context.Context, t *testing.T, dir string, env []string, argv ...string) result {
	t.Helper()
	r := run(ctx, t, dir, env, argv...)
	if r.code != 0 {
		t.Fatalf("%v exited %d\nstdout:\n%s\nstderr:\n%s", argv, r.code, r.stdout, r.stderr)
	}
	return r
}

// environ is the test's environment with extra variables appended (later
// ones win).
func environ(extra ...string) []string {
	return append(os.Environ(), extra...)
}
