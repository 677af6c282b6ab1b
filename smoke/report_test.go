package smoke

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/internal/golden"
)

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
		equal  golden.Compare
	}{
		{name: "writes the human summary", golden: "report.golden.txt", write: func(r *Report, b *bytes.Buffer) error { return r.WriteText(b) }, equal: golden.Bytes},
		{name: "writes the Markdown job summary", golden: "report.golden.md", write: func(r *Report, b *bytes.Buffer) error { return r.WriteMarkdown(b) }, equal: golden.Bytes},
		{name: "writes JUnit XML", golden: "report.golden.xml", write: func(r *Report, b *bytes.Buffer) error { return r.WriteJUnit(b) }, equal: equalXML},
		{name: "writes JSON", golden: "report.golden.json", write: func(r *Report, b *bytes.Buffer) error { return r.WriteJSON(b) }, equal: golden.JSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(sampleReport(), &b); err != nil {
				t.Fatal(err)
			}
			golden.AssertFunc(t, tt.golden, b.Bytes(), tt.equal)
		})
	}
}

// equalXML compares two JUnit documents as values.
func equalXML(want, got []byte) (string, error) {
	var w, g junitTestsuites
	if err := xml.Unmarshal(want, &w); err != nil {
		return "", fmt.Errorf("golden XML: %w", err)
	}
	if err := xml.Unmarshal(got, &g); err != nil {
		return "", fmt.Errorf("written XML: %w\n%s", err, got)
	}
	return cmp.Diff(w, g), nil
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
