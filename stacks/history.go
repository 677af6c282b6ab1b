package stacks

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/experts/platform/infra"
)

// Ledger results.
const (
	ResultSucceeded  = "succeeded"
	ResultFailed     = "failed"
	ResultInProgress = "in-progress"
)

// LedgerEntry is one stack version: one update of the stack's history, with
// the release it ran.
type LedgerEntry struct {
	// Version is the ledger's number of the update: the sequence the
	// driver recorded, else one more than the entry before.
	Version int `json:"version"`
	// Kind is release, rollback or infra for updates, else the engine's
	// kind (refresh, destroy…).
	Kind    string `json:"kind"`
	Step    string `json:"step,omitempty"`
	Service string `json:"service,omitempty"`
	Result  string `json:"result"`
	// RolledBack lists the services whose release in this update a later
	// rollback replaced.
	RolledBack []string  `json:"rolledBack,omitempty"`
	Start      time.Time `json:"startTime"`
	End        time.Time `json:"endTime,omitzero"`
	// Release is what each service ran after the update: the release the
	// driver handed it, or the one the update kept.
	Release map[string]infra.Release `json:"release,omitempty"`
	// ReleaseSource is how Release is known: driver (in the update's
	// config), kept (an update that kept the live release), bootstrap.
	ReleaseSource string            `json:"releaseSource,omitempty"`
	Run           *infra.Run        `json:"run,omitempty"`
	Replaces      int               `json:"replaces,omitempty"`
	Message       string            `json:"message,omitempty"`
	Environment   map[string]string `json:"environment,omitempty"`
	Changes       map[string]int    `json:"resourceChanges,omitempty"`
}

// Ledger is the stack's history as stack versions, oldest first.
type Ledger []LedgerEntry

// Release sources of a ledger entry.
const (
	SourceDriver    = "driver"
	SourceKept      = "kept"
	SourceBootstrap = "bootstrap"
)

// BuildLedger numbers the history (newest first, as the engine returns it)
// and says what each update ran. An update whose configuration holds no
// experts:release kept the release of the last successful update before it
// (the program reads it from the stack's own outputs), or, as the stack's
// first update, ran the stack file's bootstrap release.
func BuildLedger(history []HistoryEntry) (Ledger, error) {
	entries := append([]HistoryEntry(nil), history...)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Start.Before(entries[j].Start) })
	ledger := make(Ledger, 0, len(entries))
	var live map[string]infra.Release
	bySeq := map[int]int{}
	for i, h := range entries {
		e := LedgerEntry{
			Kind:        h.Kind,
			Result:      h.Result,
			Start:       h.Start,
			End:         h.End,
			Message:     h.Message,
			Environment: h.Environment,
			Changes:     h.ResourceChanges,
		}
		e.Version = i + 1
		if i > 0 {
			e.Version = ledger[i-1].Version + 1
		}
		if text, ok := h.Config[infra.KeyDeployment]; ok {
			var d infra.Deployment
			if err := json.Unmarshal([]byte(text), &d); err != nil {
				return nil, fmt.Errorf("update of %s: %s is not a deployment record: %w", h.Start.Format(time.RFC3339), infra.KeyDeployment, err)
			}
			if d.Sequence > 0 {
				e.Version = d.Sequence
			}
			e.Kind, e.Step, e.Service, e.Run, e.Replaces = d.Kind, d.Step, d.Service, d.Run, d.Replaces
		} else if h.Kind == "update" {
			e.Kind = infra.DeploymentInfra
		}
		switch text, ok := h.Config[infra.KeyRelease]; {
		case ok:
			rel, err := decodeRelease(text)
			if err != nil {
				return nil, fmt.Errorf("stack version %d: %w", e.Version, err)
			}
			e.Release, e.ReleaseSource = rel, SourceDriver
		case live != nil:
			e.Release, e.ReleaseSource = live, SourceKept
		default:
			if text, ok := h.Config[infra.KeyBootstrapRelease]; ok && h.Kind == "update" {
				rel, err := decodeRelease(text)
				if err != nil {
					return nil, fmt.Errorf("stack version %d: %w", e.Version, err)
				}
				e.Release, e.ReleaseSource = rel, SourceBootstrap
			}
		}
		if e.Result == ResultSucceeded && e.Release != nil && h.Kind == "update" {
			live = e.Release
		}
		bySeq[e.Version] = len(ledger)
		ledger = append(ledger, e)
	}
	for i, e := range ledger {
		if e.Kind != infra.DeploymentRollback || e.Replaces == 0 || e.Result != ResultSucceeded || e.Service == "" {
			continue
		}
		j, ok := bySeq[e.Replaces]
		if !ok {
			continue
		}
		// Every update from the replaced one up to the rollback ran the
		// replaced release (infra updates keep it): all are rolled back.
		bad := ledger[j].Release[e.Service]
		for k := j; k < i; k++ {
			if r, ok := ledger[k].Release[e.Service]; ok && ledger[k].Result == ResultSucceeded && sameRelease(r, bad) &&
				!slices.Contains(ledger[k].RolledBack, e.Service) {
				ledger[k].RolledBack = append(ledger[k].RolledBack, e.Service)
			}
		}
	}
	return ledger, nil
}

func decodeRelease(text string) (map[string]infra.Release, error) {
	var rel map[string]infra.Release
	if err := json.Unmarshal([]byte(text), &rel); err != nil {
		return nil, fmt.Errorf("%s is not a release: %w", infra.KeyRelease, err)
	}
	return rel, nil
}

// NextVersion is the number the next update gets.
func (l Ledger) NextVersion() int {
	if len(l) == 0 {
		return 1
	}
	return l[len(l)-1].Version + 1
}

// Find returns the entry with stack version v.
func (l Ledger) Find(v int) (LedgerEntry, bool) {
	for _, e := range l {
		if e.Version == v {
			return e, true
		}
	}
	return LedgerEntry{}, false
}

// LastGood returns the newest successful update that ran a known release:
// the one whose release is live.
func (l Ledger) LastGood() (LedgerEntry, bool) {
	for i := len(l) - 1; i >= 0; i-- {
		e := l[i]
		if e.Result == ResultSucceeded && e.Release != nil && e.Kind != "refresh" {
			return e, true
		}
	}
	return LedgerEntry{}, false
}

// Since returns the first entry of the unbroken run of updates, ending with
// the newest successful one, in which service ran the same release as now:
// when the live release of service went live.
func (l Ledger) Since(service string) (LedgerEntry, bool) {
	last, ok := l.LastGood()
	if !ok {
		return LedgerEntry{}, false
	}
	cur := last.Release[service]
	since := last
	for i := len(l) - 1; i >= 0; i-- {
		e := l[i]
		if e.Result != ResultSucceeded || e.Release == nil {
			continue
		}
		if e.Version > last.Version {
			continue
		}
		if !sameRelease(e.Release[service], cur) {
			break
		}
		since = e
	}
	return since, true
}

// Filter returns the entries that concern service: its releases and
// rollbacks, and every infra update.
func (l Ledger) Filter(service string) Ledger {
	if service == "" {
		return l
	}
	var out Ledger
	for _, e := range l {
		if e.Service == "" || e.Service == service {
			out = append(out, e)
		}
	}
	return out
}

// sameRelease reports whether two releases of a service run the same code:
// same version and commit, and the same digest when both name one.
func sameRelease(a, b infra.Release) bool {
	if a.Version != b.Version || a.GitSha != b.GitSha {
		return false
	}
	return a.ImageDigest == "" || b.ImageDigest == "" || a.ImageDigest == b.ImageDigest
}

// RenderLedger writes the ledger as a table, newest first: stack version,
// time, kind, result, then per service version, short sha and short digest,
// and the run that made it.
func RenderLedger(w io.Writer, l Ledger, services []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"VERSION", "TIME", "KIND", "RESULT"}
	for _, s := range services {
		head = append(head, strings.ToUpper(s))
	}
	head = append(head, "RUN")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i := len(l) - 1; i >= 0; i-- {
		e := l[i]
		kind := e.Kind
		if e.Step != "" {
			kind += "/" + e.Step
		}
		if e.Service != "" {
			kind += " " + e.Service
		}
		result := e.Result
		if len(e.RolledBack) > 0 {
			result += ", rolled back (" + strings.Join(e.RolledBack, ", ") + ")"
		}
		row := []string{fmt.Sprint(e.Version), e.Start.UTC().Format("2006-01-02 15:04Z"), kind, result}
		for _, s := range services {
			row = append(row, releaseCell(e, s))
		}
		row = append(row, runCell(e.Run))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

func releaseCell(e LedgerEntry, service string) string {
	r, ok := e.Release[service]
	if !ok {
		return "-"
	}
	cell := r.Version + " " + short(r.GitSha, 7)
	if r.ImageDigest != "" {
		cell += " " + short(strings.TrimPrefix(r.ImageDigest, "sha256:"), 12)
	}
	if r.Migrate != nil {
		cell += " (migrating to " + r.Migrate.Version + ")"
	}
	if e.ReleaseSource == SourceKept {
		cell += " (kept)"
	}
	return cell
}

func runCell(r *infra.Run) string {
	if r == nil {
		return "-"
	}
	parts := []string{}
	if r.URL != "" {
		parts = append(parts, r.URL)
	} else if r.ID != "" {
		parts = append(parts, "run "+r.ID)
	}
	if r.Actor != "" {
		parts = append(parts, "by "+r.Actor)
	}
	if r.Commit != "" {
		parts = append(parts, "at "+short(r.Commit, 7))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
