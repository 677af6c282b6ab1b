package smoke

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/experts/platform/internal/cliout"
)

// jsonReport is the JSON form of a Report (--json), stable for machines.
type jsonReport struct {
	Passed     bool         `json:"passed"`
	Started    time.Time    `json:"started"`
	DurationMS int64        `json:"duration_ms"`
	Checks     []jsonResult `json:"checks"`
}

type jsonResult struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	Passed     bool   `json:"passed"`
	Attempts   int    `json:"attempts"`
	DurationMS int64  `json:"duration_ms"`
	Detail     string `json:"detail,omitempty"`
	Definitive bool   `json:"definitive,omitempty"`
	Error      string `json:"error,omitempty"`
}

// MarshalJSON encodes the report with durations in milliseconds and each
// error as its message.
func (r *Report) MarshalJSON() ([]byte, error) {
	out := jsonReport{
		Passed:     r.Passed(),
		Started:    r.Started.UTC(),
		DurationMS: r.Duration.Milliseconds(),
		Checks:     make([]jsonResult, len(r.Results)),
	}
	for i, res := range r.Results {
		out.Checks[i] = jsonResult{
			Name:       res.Check,
			URL:        res.URL,
			Passed:     res.Passed,
			Attempts:   res.Attempts,
			DurationMS: res.Duration.Milliseconds(),
			Detail:     res.Detail,
			Definitive: res.Definitive,
			Error:      errorText(res.Err),
		}
	}
	data, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode smoke report: %w", err)
	}
	return data, nil
}

// WriteJSON writes the report as indented JSON (deployctl's one --json
// encoding).
func (r *Report) WriteJSON(w io.Writer) error {
	if err := cliout.WriteJSON(w, r); err != nil {
		return fmt.Errorf("write smoke report: %w", err)
	}
	return nil
}

// WriteText writes the human summary: one line per check, then why each
// failed check failed, then the verdict.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, res := range r.Results {
		status, about := "PASS", res.Detail
		if !res.Passed {
			status, about = "FAIL", ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", status, res.Check, plural(res.Attempts, "attempt"),
			formatDuration(res.Duration), res.URL, about)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write smoke summary: %w", err)
	}
	table := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	b.Reset()
	for _, line := range table {
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	failed := r.Failed()
	if len(failed) > 0 {
		b.WriteString("\n")
		for _, res := range failed {
			fmt.Fprintf(&b, "%s: %s\n", res.Check, strings.ReplaceAll(errorText(res.Err), "\n", "\n    "))
		}
	}
	fmt.Fprintf(&b, "\n%s in %s\n", r.headline(), formatDuration(r.Duration))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write smoke summary: %w", err)
	}
	return nil
}

func (r *Report) headline() string {
	passed := len(r.Results) - len(r.Failed())
	if r.Passed() {
		return fmt.Sprintf("smoke passed: %d of %d checks", passed, len(r.Results))
	}
	return fmt.Sprintf("smoke FAILED: %d of %d checks passed", passed, len(r.Results))
}

// WriteMarkdown writes the report as a Markdown section with a table, for
// a GitHub job summary.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s in %s\n\n", mdEscape(r.headline()), formatDuration(r.Duration))
	b.WriteString("| | Check | Attempts | Time | URL | Result |\n")
	b.WriteString("|---|---|---:|---:|---|---|\n")
	for _, res := range r.Results {
		mark, result := "✅", res.Detail
		if !res.Passed {
			mark, result = "❌", errorText(res.Err)
		}
		fmt.Fprintf(&b, "| %s | `%s` | %d | %s | %s | %s |\n", mark, res.Check, res.Attempts,
			formatDuration(res.Duration), mdEscape(res.URL), mdEscape(result))
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write smoke markdown: %w", err)
	}
	return nil
}

// mdEscape makes s safe in a Markdown table cell: no HTML, no cell breaks.
func mdEscape(s string) string {
	s = html.EscapeString(s)
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", "<br>")
}

type junitTestsuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestsuite `xml:"testsuite"`
}

type junitTestsuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Errors    int             `xml:"errors,attr"`
	Time      string          `xml:"time,attr"`
	Timestamp string          `xml:"timestamp,attr"`
	Cases     []junitTestcase `xml:"testcase"`
}

type junitTestcase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML, one test case per check.
func (r *Report) WriteJUnit(w io.Writer) error {
	failures := len(r.Failed())
	suite := junitTestsuite{
		Name:      "smoke",
		Tests:     len(r.Results),
		Failures:  failures,
		Time:      seconds(r.Duration),
		Timestamp: r.Started.UTC().Format(time.RFC3339),
	}
	for _, res := range r.Results {
		service, _, _ := strings.Cut(res.Check, "/")
		out := res.URL + "\n" + plural(res.Attempts, "attempt")
		if res.Detail != "" {
			out += ": " + res.Detail
		}
		tc := junitTestcase{
			Name:      res.Check,
			Classname: "smoke." + service,
			Time:      seconds(res.Duration),
			SystemOut: out + "\n",
		}
		if !res.Passed {
			kind := "retries exhausted"
			if res.Definitive {
				kind = "definitive"
			}
			text := errorText(res.Err)
			message := strings.ReplaceAll(text, "\n", " ")
			tc.Failure = &junitFailure{Message: message, Type: kind, Text: text}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitTestsuites{
		Name:     "smoke",
		Tests:    len(r.Results),
		Failures: failures,
		Time:     seconds(r.Duration),
		Suites:   []junitTestsuite{suite},
	}
	data, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode junit report: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s%s\n", xml.Header, data); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// formatDuration rounds d for people: milliseconds under a second, tenths
// of a second above.
func formatDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
