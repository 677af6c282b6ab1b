// Package cliout writes what deployctl's commands hand to machines and to
// GitHub Actions: the one --json encoding and the job's step summary.
package cliout

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// EnvStepSummary names the file that GitHub Actions renders as the job's
// summary; the runner sets it in every step.
const EnvStepSummary = "GITHUB_STEP_SUMMARY"

// WriteJSON writes v as one indented JSON document followed by a newline.
// HTML characters are left as they are: the output is read by programs and
// people, never embedded in a page.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// AppendStepSummary appends markdown and a newline to the file at path
// (the runner's $GITHUB_STEP_SUMMARY). An empty path appends nothing, so
// callers pass the variable as they found it.
func AppendStepSummary(path, markdown string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(filepath.Clean(path), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open job summary: %w", err)
	}
	if _, err := io.WriteString(f, markdown+"\n"); err != nil {
		_ = f.Close()
		return fmt.Errorf("append to job summary: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append to job summary: %w", err)
	}
	return nil
}
