package smoke

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleReport has a pass, a definitive failure, an exhausted retry and a
// multi-line error with characters that Markdown, XML and JSON escape.
func sampleReport() *Report {
	return &Report{
		Started:  time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Duration: 7612 * time.Millisecond,
		Results: []Result{
			{
				Check: "api/healthz", URL: "https://api.example.com/healthz", Passed: true,
				Detail: "200", Attempts: 1, Duration: 12 * time.Millisecond,
			},
			{
				Check: "api/auth-required", URL: "https://api.example.com/api/v1/experts",
				Attempts: 1, Duration: 9 * time.Millisecond, Definitive: true,
				Err: errors.New("security: GET https://api.example.com/api/v1/experts answered 200 OK without credentials, want 401: the endpoint is not protected"),
			},
			{
				Check: "api/version", URL: "https://api.example.com/version",
				Attempts: 5, Duration: 7604 * time.Millisecond,
				Err: errors.New("gave up after 5 attempts: GET https://api.example.com/version: serves 1.4.1 sha 0a1b2c3, want 1.4.2 sha 3f2c9e1 (the previous release may still be answering)"),
			},
			{
				Check: "frontend/assets", URL: "https://app.example.com/",
				Attempts: 1, Duration: 41 * time.Millisecond, Definitive: true,
				Err: errors.New("1 of 2 assets failed:\nGET https://app.example.com/assets/a|b.js: 404 Not Found, want 200: body starts \"<Error>&\""),
			},
		},
	}
}

func TestReportWriters(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		write  func(*Report, *bytes.Buffer) error
		equal  func(t *testing.T, want, got []byte)
	}{
		{name: "writes the human summary", golden: "report.txt", write: func(r *Report, b *bytes.Buffer) error { return r.WriteText(b) }},
		{name: "writes the Markdown job summary", golden: "report.md", write: func(r *Report, b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{name: "writes JUnit XML", golden: "report.xml", write: func(r *Report, b *bytes.Buffer) error { return r.WriteJUnit(b) }, equal: equalXML},
		{name: "writes JSON", golden: "report.json", write: func(r *Report, b *bytes.Buffer) error { return r.WriteJSON(b) }, equal: equalJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(sampleReport(), &b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if tt.equal != nil {
				tt.equal(t, want, b.Bytes())
				return
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.golden, diff)
			}
		})
	}
}

func equalJSON(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden JSON: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("written JSON: %v\n%s", err, got)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func equalXML(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g junitTestsuites
	if err := xml.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden XML: %v", err)
	}
	if err := xml.Unmarshal(got, &g); err != nil {
		t.Fatalf("written XML: %v\n%s", err, got)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("JUnit (-want +got):\n%s", diff)
	}
}

func TestReportVerdict(t *testing.T) {
	tests := []struct {
		name    string
		results []Result
		want    bool
	}{
		{name: "passes when every check passed", results: []Result{{Passed: true}, {Passed: true}}, want: true},
		{name: "fails when one check failed", results: []Result{{Passed: true}, {Passed: false}}},
		{name: "fails when there were no checks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Results: tt.results}
			if got := r.Passed(); got != tt.want {
				t.Errorf("Passed() = %v, want %v", got, tt.want)
			}
		})
	}
}
