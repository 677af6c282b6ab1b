// Package npmtest finds the npm packages that tests use (Vite, the MCP
// SDK...), installed by the test command (bash .ci/test) from each fixture's
// committed package-lock.json into a cache outside the repository.
//
// A fixture is a directory with package.json and package-lock.json. Its
// packages live in $EXPERTS_NPM_CACHE (default
// ~/.cache/experts-platform/npm) under <fixture name>-<first 12 hex digits
// of the lock file's SHA-256>/node_modules, so that a changed lock file is
// never served stale packages.
package npmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CacheDir is where the test command installs fixtures' packages.
func CacheDir() (string, error) {
	if dir := os.Getenv("EXPERTS_NPM_CACHE"); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: %w", err)
	}
	return filepath.Join(base, "experts-platform", "npm"), nil
}

// InstallDir is where the packages of fixture are installed.
func InstallDir(fixture string) (string, error) {
	lock, err := os.ReadFile(filepath.Join(fixture, "package-lock.json"))
	if err != nil {
		return "", fmt.Errorf("read the fixture's lock file: %w", err)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(fixture)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(lock)
	return filepath.Join(cache, filepath.Base(abs)+"-"+hex.EncodeToString(sum[:6])), nil
}

// Modules returns the node_modules directory of fixture, failing the test
// when the test command has not installed it.
func Modules(t testing.TB, fixture string) string {
	t.Helper()
	dir, err := InstallDir(fixture)
	if err != nil {
		t.Fatal(err)
	}
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, ".package-lock.json")); err != nil {
		t.Fatalf("the npm packages of %s are not installed in %s: run bash .ci/test, which installs them (npm ci)", fixture, dir)
	}
	return modules
}

// Node returns the node binary, failing the test when there is none.
func Node(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: run bash .ci/test, which installs Node.js")
	}
	return node
}

// CopyFixture copies fixture's files (not its node_modules) into a new
// temporary directory and links the installed packages there, so that a
// tool run in it writes only inside the test's own directory.
func CopyFixture(t testing.TB, fixture string) string {
	t.Helper()
	modules := Modules(t, fixture)
	dst := t.TempDir()
	err := filepath.WalkDir(fixture, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(fixture, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o750)
		}
		data, err := os.ReadFile(p) //nolint:gosec // a fixture of this repository
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatalf("copy fixture %s: %v", fixture, err)
	}
	if err := os.Symlink(modules, filepath.Join(dst, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return dst
}
