package golden

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records what Assert reports.
type recorder struct {
	testing.TB
	name  string
	msgs  []string
	fatal bool
}

var errFatal = errors.New("fatal")

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
	panic(errFatal)
}
func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// assert runs Assert with a recorder named name and returns what it said.
func assert(name, file string, got []byte, compare Compare) (r *recorder) {
	r = &recorder{name: name}
	defer func() {
		if p := recover(); p != nil {
			if err, ok := p.(error); !ok || !errors.Is(err, errFatal) {
				panic(p)
			}
		}
	}()
	AssertFunc(r, file, got, compare)
	return r
}

func TestAssert(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll("testdata", 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "report.golden.md"), []byte("# ok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "plan.golden.json"), []byte(`{"a": 1, "b": [2]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvUpdate, "")

	tests := []struct {
		name      string
		file      string
		got       string
		compare   Compare
		wantFatal bool
		wantMsgs  []string
	}{
		{name: "passes on equal bytes", file: "report.golden.md", got: "# ok\n", compare: Bytes},
		{name: "passes on equal JSON values", file: "plan.golden.json", got: "{\n  \"b\": [2],\n  \"a\": 1\n}\n", compare: JSON},
		{name: "shows the difference and the refresh command", file: "report.golden.md", got: "# changed\n", compare: Bytes,
			wantMsgs: []string{"testdata/report.golden.md does not match the output (-want +got)", "-", "# ok", "+", "# changed",
				"refresh the file with:\n  UPDATE_GOLDEN=1 go test . -run '^TestReport$'"}},
		{name: "compares JSON as values", file: "plan.golden.json", got: `{"a": 2, "b": [2]}`, compare: JSON,
			wantMsgs: []string{"-", "float64(1)", "+", "float64(2)"}},
		{name: "says how to create a missing file", file: "missing.golden.txt", got: "x", compare: Bytes, wantFatal: true,
			wantMsgs: []string{"testdata/missing.golden.txt does not exist; create it with:\n  UPDATE_GOLDEN=1 go test . -run '^TestReport$'"}},
		{name: "refuses a name outside the scheme", file: "report.md", got: "# ok\n", compare: Bytes, wantFatal: true,
			wantMsgs: []string{`golden file "report.md": name it <name>.golden.<ext>`}},
		{name: "refuses output that is not JSON", file: "plan.golden.json", got: "not json", compare: JSON, wantFatal: true,
			wantMsgs: []string{"output JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := assert("TestReport/"+tt.name, tt.file, []byte(tt.got), tt.compare)
			if r.fatal != tt.wantFatal {
				t.Errorf("fatal = %v, want %v; messages: %q", r.fatal, tt.wantFatal, r.msgs)
			}
			all := strings.Join(r.msgs, "\n")
			if len(tt.wantMsgs) == 0 && all != "" {
				t.Errorf("reported %q, want nothing", all)
			}
			for _, w := range tt.wantMsgs {
				if !strings.Contains(all, w) {
					t.Errorf("report does not say %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestAssertRewritesTheFilesWhenUpdating(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv(EnvUpdate, "1")

	r := assert("TestX", "new.golden.txt", []byte("fresh\n"), Bytes)

	if len(r.msgs) != 0 {
		t.Fatalf("reported %q while updating", r.msgs)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "new.golden.txt"))
	if err != nil || string(data) != "fresh\n" {
		t.Errorf("testdata/new.golden.txt = %q (%v), want the output", data, err)
	}
	for v, want := range map[string]bool{"1": true, "true": true, "0": false, "false": false, "": false} {
		t.Setenv(EnvUpdate, v)
		if got := Updating(); got != want {
			t.Errorf("%s=%q: Updating() = %v, want %v", EnvUpdate, v, got, want)
		}
	}
}

func TestRefreshCommandNamesThisPackage(t *testing.T) {
	t.Parallel()
	want := "UPDATE_GOLDEN=1 go test ./internal/golden -run '^TestRefreshCommandNamesThisPackage$'"
	if got := RefreshCommand(t); got != want {
		t.Errorf("RefreshCommand() = %q, want %q", got, want)
	}
}
