package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/deploy"
)

// stopwatch sums the time spent in calls.
type stopwatch struct {
	mu sync.Mutex
	d  time.Duration
}

func (s *stopwatch) time(start time.Time) {
	s.mu.Lock()
	s.d += time.Since(start)
	s.mu.Unlock()
}

// timedEngine times the engine's updates apart from its other calls.
type timedEngine struct {
	stacks.Engine
	up *stopwatch
}

func (e timedEngine) Up(ctx context.Context, u stacks.Update) (*stacks.UpResult, error) {
	defer e.up.time(time.Now())
	return e.Engine.Up(ctx, u)
}

// timedDeployer times the simulated waits: migration and verification.
type timedDeployer struct {
	stacks.Deployer
	waits *stopwatch
}

func (d timedDeployer) RunMigration(ctx context.Context, spec deploy.MigrationSpec) (*deploy.MigrationResult, error) {
	defer d.waits.time(time.Now())
	return d.Deployer.RunMigration(ctx, spec)
}

func (d timedDeployer) VerifyDeployment(ctx context.Context, spec deploy.VerifySpec) error {
	defer d.waits.time(time.Now())
	return d.Deployer.VerifyDeployment(ctx, spec)
}

type timedSmoker struct {
	stacks.Smoker
	waits *stopwatch
}

func (s timedSmoker) Smoke(ctx context.Context, service, url string, want infra.Release) error {
	defer s.waits.time(time.Now())
	return s.Smoker.Smoke(ctx, service, url, want)
}

// BenchmarkDevAPIRelease releases the api to dev end to end in the
// rehearsal and splits the time: the engine's updates, the simulated waits
// (migration task, verification, smoke) and the rest, which is the driver's
// own overhead (preflight preview, history, outputs, bookkeeping). Goal:
// overhead at most 20 % of the engine's update time.
func BenchmarkDevAPIRelease(b *testing.B) {
	g := newRig(b, "dev")
	g.bootstrap(b)
	ctx := b.Context()
	var total, up, waits time.Duration
	n := 0
	for b.Loop() {
		n++
		upSW, waitSW := &stopwatch{}, &stopwatch{}
		d := *g.driver
		d.Engine = timedEngine{Engine: g.driver.Engine, up: upSW}
		d.Deployer = timedDeployer{Deployer: g.driver.Deployer, waits: waitSW}
		d.Smoker = timedSmoker{Smoker: g.driver.Smoker, waits: waitSW}
		req := apiRelease()
		req.Version, req.GitSha = fmt.Sprintf("1.%d.0", 5+n), strings.Repeat(fmt.Sprintf("%x", n%16), 40)
		start := time.Now()
		res, err := d.Release(ctx, req)
		if err != nil {
			b.Fatalf("release %s: %v (%s)", req.Version, err, res.OneLine())
		}
		total += time.Since(start)
		up += upSW.d
		waits += waitSW.d
	}
	overhead := total - up - waits
	per := func(d time.Duration) float64 { return d.Seconds() / float64(n) }
	b.ReportMetric(per(total), "release-s")
	b.ReportMetric(per(up), "engine-up-s")
	b.ReportMetric(per(waits), "waits-s")
	b.ReportMetric(per(overhead), "overhead-s")
	b.ReportMetric(overhead.Seconds()/up.Seconds(), "overhead/engine-up")
	b.Logf("per release: %.2fs total, %.2fs engine up, %.2fs simulated waits, %.2fs driver overhead (%.0f%% of the engine's update time; goal at most 20%%)",
		per(total), per(up), per(waits), per(overhead), 100*overhead.Seconds()/up.Seconds())
}
