// Package golden compares test output with files under the package's
// testdata directory, named <name>.golden.<ext>. With UPDATE_GOLDEN=1 in
// the environment the files are rewritten from the output instead, so one
// command refreshes every golden file of the tree:
//
//	UPDATE_GOLDEN=1 go test ./...
//
// A failure names the command that refreshes the file it compared.
package golden

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// EnvUpdate is the environment variable that makes Assert rewrite the
// golden files.
const EnvUpdate = "UPDATE_GOLDEN"

// namePattern is the one naming scheme of golden files.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.golden\.[a-z0-9]+$`)

// Compare returns how got differs from want as a (-want +got) diff, empty
// when they are equal, or an error when either cannot be read.
type Compare func(want, got []byte) (string, error)

// Bytes compares byte for byte, showing the difference line by line.
func Bytes(want, got []byte) (string, error) {
	return cmp.Diff(string(want), string(got)), nil
}

// JSON compares two JSON documents as values: formatting and key order
// aside.
func JSON(want, got []byte) (string, error) {
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return "", fmt.Errorf("golden JSON: %w", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return "", fmt.Errorf("output JSON: %w\n%s", err, got)
	}
	return cmp.Diff(w, g), nil
}

// Assert compares got with testdata/name byte for byte.
func Assert(t testing.TB, name string, got []byte) {
	t.Helper()
	AssertFunc(t, name, got, Bytes)
}

// AssertString is Assert for text.
func AssertString(t testing.TB, name, got string) {
	t.Helper()
	AssertFunc(t, name, []byte(got), Bytes)
}

// AssertFunc compares got with testdata/name using compare.
func AssertFunc(t testing.TB, name string, got []byte, compare Compare) {
	t.Helper()
	if !namePattern.MatchString(name) {
		t.Fatalf("golden file %q: name it <name>.golden.<ext>, such as report.golden.md", name)
	}
	path := filepath.Clean(filepath.Join("testdata", name))
	if Updating() {
		if err := os.MkdirAll("testdata", 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s does not exist; create it with:\n  %s", path, RefreshCommand(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	diff, err := compare(want, got)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if diff != "" {
		t.Errorf("%s does not match the output (-want +got):\n%s\nIf the change is intended, refresh the file with:\n  %s",
			path, diff, RefreshCommand(t))
	}
}

// Updating tells whether golden files are being rewritten.
func Updating() bool {
	v := os.Getenv(EnvUpdate)
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// RefreshCommand is the command that rewrites the golden files of the
// running top-level test.
func RefreshCommand(t testing.TB) string {
	test, _, _ := strings.Cut(t.Name(), "/")
	return fmt.Sprintf("%s=1 go test %s -run '^%s$'", EnvUpdate, packageDir(), test)
}

// packageDir is the directory of the package under test relative to the
// module root, as go test takes it (./smoke), or "." when it cannot tell.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}
