package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// postgres is a PostgreSQL cluster in a temporary directory, listening on
// loopback only, run by an unprivileged user.
type postgres struct {
	bin      string
	dir      string
	data     string
	port     int
	user     string
	password string
	cred     *syscall.Credential // nil: run as the test's own user
	running  bool
}

// startPostgres initializes a cluster and starts it; t.Cleanup stops it
// and removes its directory. PostgreSQL refuses to run as root: when the
// test is root, the cluster runs as the user "nobody".
func startPostgres(ctx context.Context, t *testing.T, bin string) *postgres {
	t.Helper()
	pg := &postgres{bin: bin, user: "experts", password: randomHex(t, 16)}
	if os.Geteuid() == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs an unprivileged user: look up nobody: %v", err)
		}
		uid, _ := strconv.ParseUint(nobody.Uid, 10, 32)
		gid, _ := strconv.ParseUint(nobody.Gid, 10, 32)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parents are private to the test's user, and the
	// cluster's user must reach this directory.
	dir, err := os.MkdirTemp("", "experts-e2e-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	pg.dir = dir
	pg.data = filepath.Join(dir, "data")
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(pg.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pg.cred != nil {
		for _, p := range []string{dir, pwfile} {
			if err := os.Chown(p, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	pg.port = freePort(t)

	pg.mustRun(ctx, t, "initdb", "--pgdata", pg.data, "--username", pg.user, "--pwfile", pwfile,
		"--auth-host", "scram-sha-256", "--auth-local", "peer", "--encoding", "UTF8", "--no-instructions")
	pg.start(ctx, t)
	t.Cleanup(func() {
		if pg.running {
			pg.stop(context.Background(), t)
		}
	})
	return pg
}

// start starts the server and waits until it accepts connections.
func (pg *postgres) start(ctx context.Context, t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c fsync=off",
		pg.port, pg.dir)
	pg.mustRun(ctx, t, "pg_ctl", "start", "--pgdata", pg.data, "--wait", "--timeout", "60",
		"--log", filepath.Join(pg.dir, "server.log"), "-o", opts)
	pg.running = true
}

// stop stops the server (fast shutdown) and waits until it is gone.
func (pg *postgres) stop(ctx context.Context, t *testing.T) {
	t.Helper()
	pg.mustRun(ctx, t, "pg_ctl", "stop", "--pgdata", pg.data, "--wait", "--timeout", "60", "--mode", "fast")
	pg.running = false
}

// createdb creates a database owned by the cluster's superuser.
func (pg *postgres) createdb(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	pg.mustRun(ctx, t, "createdb", "--host", "127.0.0.1", "--port", strconv.Itoa(pg.port),
		"--username", pg.user, "--no-password", name)
}

// url is the SQLAlchemy URL of database name, password included.
func (pg *postgres) url(name string) string {
	return fmt.Sprintf("postgresql://%s:%s@127.0.0.1:%d/%s", pg.user, pg.password, pg.port, name)
}

func (pg *postgres) mustRun(ctx context.Context, t *testing.T, tool string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(pg.bin, tool), args...)
	cmd.Dir = pg.dir
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pg.password, "LC_ALL=C.UTF-8")
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.dir, "server.log"))
		t.Fatalf("%s %v: %v\n%s\nserver log:\n%s", tool, args, err, out, log)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
