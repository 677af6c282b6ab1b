package stacks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra"
)

// entry builds a history entry the way the backend keeps it.
func entry(t *testing.T, start int, result string, dep *infra.Deployment, release map[string]infra.Release) HistoryEntry {
	t.Helper()
	h := HistoryEntry{Kind: "update", Result: result, Start: time.Date(2026, 11, 1, 0, start, 0, 0, time.UTC), Config: map[string]string{}}
	if dep != nil {
		b, _ := json.Marshal(dep)
		h.Config[infra.KeyDeployment] = string(b)
	}
	if release != nil {
		b, _ := json.Marshal(release)
		h.Config[infra.KeyRelease] = string(b)
	}
	return h
}

func apiAt(v string, migrate *infra.Release) map[string]infra.Release {
	r := rel(v, sha(v[:1]), digestOf("api", v))
	r.Migrate = migrate
	return map[string]infra.Release{"api": r, "mcp": mcpLive}
}

// history is, newest first: a release of 1.3.0, an infra update, 1.4.0,
// a failed 1.5.0 (rolled back), a migration and release of 1.4.2, and an
// infra update that kept it.
func sampleHistory(t *testing.T) []HistoryEntry {
	m := func(v string) *infra.Release { r := rel(v, sha(v[:1]), digestOf("api", v)); return &r }
	d := func(seq int, kind, step string, replaces int) *infra.Deployment {
		return &infra.Deployment{Sequence: seq, Kind: kind, Service: "api", Step: step, Replaces: replaces,
			Run: &infra.Run{ID: "7", URL: "https://github.com/o/r/actions/runs/7", Actor: "octocat"}}
	}
	bootstrap := entry(t, 0, ResultSucceeded, nil, nil)
	b, _ := json.Marshal(apiAt("1.3.0", nil))
	bootstrap.Config[infra.KeyBootstrapRelease] = string(b)
	h := []HistoryEntry{
		bootstrap, // 1
		entry(t, 1, ResultSucceeded, &infra.Deployment{Sequence: 2, Kind: infra.DeploymentInfra}, nil), // 2 kept 1.3.0
		entry(t, 2, ResultSucceeded, d(3, "release", "migrate", 0), apiAt("1.3.0", m("1.4.0"))),        // 3
		entry(t, 3, ResultSucceeded, d(4, "release", "rollout", 0), apiAt("1.4.0", nil)),               // 4
		entry(t, 4, ResultSucceeded, d(5, "release", "migrate", 0), apiAt("1.4.0", m("1.5.0"))),        // 5
		entry(t, 5, ResultSucceeded, d(6, "release", "rollout", 0), apiAt("1.5.0", nil)),               // 6
		entry(t, 6, ResultSucceeded, d(7, "rollback", "rollout", 6), apiAt("1.4.0", nil)),              // 7
		entry(t, 7, ResultFailed, d(8, "release", "rollout", 0), apiAt("1.4.1", nil)),                  // 8 failed
		entry(t, 8, ResultSucceeded, d(9, "rollback", "rollout", 8), apiAt("1.4.0", nil)),              // 9
		entry(t, 9, ResultSucceeded, d(10, "release", "migrate", 0), apiAt("1.4.0", m("1.4.2"))),       // 10
		entry(t, 10, ResultSucceeded, d(11, "release", "rollout", 0), apiAt("1.4.2", nil)),             // 11
		entry(t, 11, ResultSucceeded, nil, nil),                                                        // 12 plain pulumi up: kept 1.4.2
	}
	// The engine returns history newest first.
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return h
}

func TestBuildLedgerNumbersAndAttributesEveryUpdate(t *testing.T) {
	l, err := BuildLedger(sampleHistory(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 infra succeeded", "2 infra succeeded", "3 release/migrate api succeeded", "4 release/rollout api succeeded",
		"5 release/migrate api succeeded", "6 release/rollout api succeeded rolled-back", "7 rollback/rollout api succeeded",
		"8 release/rollout api failed", "9 rollback/rollout api succeeded", "10 release/migrate api succeeded",
		"11 release/rollout api succeeded", "12 infra succeeded",
	}
	if diff := cmp.Diff(want, kinds(l)); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
	var versions []string
	for _, e := range l {
		versions = append(versions, e.Release["api"].Version+"/"+e.ReleaseSource)
	}
	wantVersions := []string{"1.3.0/bootstrap", "1.3.0/kept", "1.3.0/driver", "1.4.0/driver", "1.4.0/driver", "1.5.0/driver",
		"1.4.0/driver", "1.4.1/driver", "1.4.0/driver", "1.4.0/driver", "1.4.2/driver", "1.4.2/kept"}
	if diff := cmp.Diff(wantVersions, versions); diff != "" {
		t.Errorf("api release per stack version (-want +got):\n%s", diff)
	}
	if since, ok := l.Since("api"); !ok || since.Version != 11 {
		t.Errorf("api live since stack version %d, want 11", since.Version)
	}
	if got := l.NextVersion(); got != 13 {
		t.Errorf("next version = %d, want 13", got)
	}
}

func TestSelectRollbackTarget(t *testing.T) {
	l, err := BuildLedger(sampleHistory(t))
	if err != nil {
		t.Fatal(err)
	}
	live := l[len(l)-1].Release["api"]
	tests := []struct {
		name         string
		req          RollbackRequest
		wantVersion  int
		wantRelease  string
		wantWarnings int
		wantErr      string
	}{
		{name: "takes the newest good update with another release by default", req: RollbackRequest{Service: "api"},
			wantVersion: 10, wantRelease: "1.4.0", wantWarnings: 1},
		{name: "takes the stack version asked for", req: RollbackRequest{Service: "api", ToVersion: 2},
			wantVersion: 2, wantRelease: "1.3.0", wantWarnings: 3},
		{name: "takes the newest update of the release version asked for", req: RollbackRequest{Service: "api", ToRelease: "1.3.0"},
			wantVersion: 3, wantRelease: "1.3.0", wantWarnings: 3},
		{name: "refuses a failed stack version", req: RollbackRequest{Service: "api", ToVersion: 8}, wantErr: "stack version 8 failed"},
		{name: "refuses an unknown stack version", req: RollbackRequest{Service: "api", ToVersion: 99}, wantErr: "not in the ledger"},
		{name: "refuses a release that never ran", req: RollbackRequest{Service: "api", ToRelease: "9.9.9"}, wantErr: "no successful update ran api 9.9.9"},
		{name: "finds nothing for a service whose release never changed", req: RollbackRequest{Service: "mcp"}, wantErr: "no successful, not rolled-back update"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := live
			if tt.req.Service == "mcp" {
				cur = mcpLive
			}
			got, warnings, err := SelectRollbackTarget(l, tt.req, cur)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNoRollbackTarget) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tt.wantVersion || got.Release[tt.req.Service].Version != tt.wantRelease {
				t.Errorf("target = stack version %d (%s), want %d (%s)", got.Version, got.Release[tt.req.Service].Version, tt.wantVersion, tt.wantRelease)
			}
			if len(warnings) != tt.wantWarnings {
				t.Errorf("warnings = %q, want %d", warnings, tt.wantWarnings)
			}
			for _, w := range warnings {
				if !strings.Contains(w, "the database is not rolled back") {
					t.Errorf("warning %q does not say the database stays", w)
				}
			}
		})
	}
}

func TestDefaultRollbackSkipsRolledBackReleasesKeptByInfraUpdates(t *testing.T) {
	// 1.5.0 went live, an infra update kept it, then it was rolled back to
	// 1.4.0: the next default rollback must not pick 1.5.0 again.
	d := func(seq int, kind string, replaces int) *infra.Deployment {
		return &infra.Deployment{Sequence: seq, Kind: kind, Service: "api", Step: "rollout", Replaces: replaces}
	}
	h := []HistoryEntry{
		entry(t, 9, ResultSucceeded, d(4, "rollback", 2), apiAt("1.4.0", nil)),
		entry(t, 8, ResultSucceeded, &infra.Deployment{Sequence: 3, Kind: "infra"}, nil),
		entry(t, 7, ResultSucceeded, d(2, "release", 0), apiAt("1.5.0", nil)),
		entry(t, 6, ResultSucceeded, d(1, "release", 0), apiAt("1.3.0", nil)),
	}
	l, err := BuildLedger(h)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := SelectRollbackTarget(l, RollbackRequest{Service: "api"}, l[3].Release["api"])
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 {
		t.Errorf("target = stack version %d (%s), want 1 (1.3.0)", got.Version, got.Release["api"].Version)
	}
}

func TestRenderLedger(t *testing.T) {
	l, err := BuildLedger(sampleHistory(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := RenderLedger(&b, l[len(l)-3:], []string{"api"}); err != nil {
		t.Fatal(err)
	}
	d := func(v string) string { return strings.TrimPrefix(digestOf("api", v), "sha256:")[:12] }
	want := "" +
		"VERSION  TIME               KIND                 RESULT     API                                              RUN\n" +
		"12       2026-11-01 00:11Z  infra                succeeded  1.4.2 1111111 " + d("1.4.2") + " (kept)                -\n" +
		"11       2026-11-01 00:10Z  release/rollout api  succeeded  1.4.2 1111111 " + d("1.4.2") + "                       https://github.com/o/r/actions/runs/7 by octocat\n" +
		"10       2026-11-01 00:09Z  release/migrate api  succeeded  1.4.0 1111111 " + d("1.4.0") + " (migrating to 1.4.2)  https://github.com/o/r/actions/runs/7 by octocat\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("rendered ledger (-want +got):\n%s", diff)
	}
}

func TestRollbackReappliesAnEarlierReleaseOfOneService(t *testing.T) {
	f := newFixture(t, "dev")
	ctx := context.Background()
	if _, err := f.driver.Release(ctx, apiRequest()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.driver.Release(ctx, ReleaseRequest{Service: "mcp", Version: "1.2.0", GitSha: sha("d")}); err != nil {
		t.Fatal(err)
	}
	res, err := f.driver.Rollback(ctx, RollbackRequest{Service: "api"})
	if err != nil {
		t.Fatalf("Rollback: %v (%s)", err, res.OneLine())
	}
	live := f.engine.live()
	if diff := cmp.Diff(apiLive, live["api"]); diff != "" {
		t.Errorf("api after rollback (-want +got):\n%s", diff)
	}
	if live["mcp"].Version != "1.2.0" {
		t.Errorf("mcp = %s, want 1.2.0 kept", live["mcp"].Version)
	}
	if got := res.OneLine(); got != "rollback api 1.4.2 succeeded (stack version 5, verified, smoke passed)" {
		t.Errorf("one-liner = %q", got)
	}
	// The rolled-back release is marked and never the default target again.
	l := f.ledger(t)
	if e, _ := l.Find(3); len(e.RolledBack) == 0 {
		t.Errorf("stack version 3 (api 1.5.0) not marked rolled back: %v", kinds(l))
	}
	if _, err := f.driver.Rollback(ctx, RollbackRequest{Service: "api"}); !errors.Is(err, ErrNoRollbackTarget) {
		t.Errorf("second rollback: %v, want no target (only rolled-back 1.5.0 differs)", err)
	}
}

func TestRollbackPinsTheDigestOfADevBuild(t *testing.T) {
	f := newFixture(t, "dev")
	ctx := context.Background()
	// mcp 1.2.0 and then 1.3.0 are dev builds: their releases hold no digest.
	for _, v := range []string{"1.2.0", "1.3.0"} {
		if _, err := f.driver.Release(ctx, ReleaseRequest{Service: "mcp", Version: v, GitSha: sha(v[2:3])}); err != nil {
			t.Fatal(err)
		}
	}
	built := digestOf("mcp", "1.2.0", sha("2"))
	f.driver.Digests = fakeDigests{repoBase + "dev-mcp:" + sha("2"): built}
	res, err := f.driver.Rollback(ctx, RollbackRequest{Service: "mcp", ToRelease: "1.2.0"})
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if got := f.engine.live()["mcp"].ImageDigest; got != built || res.Digest != built {
		t.Errorf("mcp runs %s (result %s), want the digest its build pushed, %s", got, res.Digest, built)
	}
	last := f.engine.ups[len(f.engine.ups)-1]
	handed, _ := decodeRelease(last.Config[infra.KeyRelease])
	if handed["mcp"].ImageDigest != built {
		t.Errorf("the rollback update was handed %+v: it would build", handed["mcp"])
	}
}
