package docs_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/infra/stackfile"
	"github.com/experts/platform/stacks/deploy"
)

// The release-time model of docs/release-time.md. The table there is this
// model rendered from the stack files and the program's constants: change
// a setting and this test fails until the table is refreshed with
//
//	UPDATE_GOLDEN=1 go test ./docs/
//
// The model's assumptions (how long AWS takes to provision a task, pull an
// image, run the migrations) are not settings of ours; they are stated in
// the document beside the table and are the same for every column.

// Assumed durations, in seconds, identical for our settings and for AWS
// defaults.
const (
	assumeBuildPush   = 90 // docker build of app/api on a fresh runner and push of the new layers
	assumeAPICalls    = 15 // the AWS calls of the two updates: register task definitions, update the service
	assumeProvision   = 30 // Fargate capacity and the task's network interface
	assumePull        = 20 // the api image from the registry of the same region (Fargate caches none)
	assumeBoot        = 5  // the api process starts answering /healthz
	assumeMigrateRun  = 15 // alembic upgrade head with a few expand-only revisions
	assumeTaskStopped = 15 // a one-off task's exit until ECS reports it STOPPED
	assumeShutdown    = 5  // an old task exits after SIGTERM, well inside stopTimeoutSeconds
	assumeSmoke       = 2  // the smoke gate against a healthy release
)

// AWS defaults of the settings we change (the Amazon ECS developer guide,
// the Elastic Load Balancing target group and ECS service API references).
const (
	awsDefaultInterval         = 30  // target group HealthCheckIntervalSeconds
	awsDefaultHealthyThreshold = 5   // target group HealthyThresholdCount
	awsDefaultDeregistration   = 300 // target group deregistration_delay.timeout_seconds
	awsDefaultGrace            = 0   // service healthCheckGracePeriodSeconds
	awsDefaultMinHealthy       = 100 // service deploymentConfiguration.minimumHealthyPercent
	awsDefaultMaxPercent       = 200 // service deploymentConfiguration.maximumPercent
	awsDefaultStopTimeout      = 30  // container stopTimeout on Fargate
)

// rolloutSettings are the inputs of one column of the model.
type rolloutSettings struct {
	Builds             bool
	DesiredCount       int
	MinHealthyPercent  int
	MaxPercent         int
	Grace              int
	Deregistration     int
	StopTimeout        int
	Interval           int
	HealthyThreshold   int
	ContainerInterval  int // 0: no container health check
	DriverPollInterval int
}

// programConstants are the health-check settings the program declares in
// code, read from its source so that the model follows them.
type programConstants struct {
	Interval, HealthyThreshold, UnhealthyThreshold, ContainerInterval int
}

func readProgramConstants(t *testing.T) programConstants {
	t.Helper()
	lb := goConstants(t, filepath.Join("..", "infra", "loadbalancer.go"))
	svc := goConstants(t, filepath.Join("..", "infra", "service.go"))
	return programConstants{
		Interval:           mustConst(t, lb, "healthCheckIntervalSeconds"),
		HealthyThreshold:   mustConst(t, lb, "healthyThreshold"),
		UnhealthyThreshold: mustConst(t, lb, "unhealthyThreshold"),
		ContainerInterval:  mustConst(t, svc, "containerCheckIntervalSeconds"),
	}
}

// goConstants returns the integer constants declared with a literal value
// in a Go source file.
func goConstants(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out := map[string]int{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.INT {
					continue
				}
				v, err := strconv.Atoi(lit.Value)
				if err != nil {
					t.Fatalf("%s: constant %s = %s: %v", path, name.Name, lit.Value, err)
				}
				out[name.Name] = v
			}
		}
	}
	return out
}

func mustConst(t *testing.T, consts map[string]int, name string) int {
	t.Helper()
	v, ok := consts[name]
	if !ok {
		t.Fatalf("the program declares no integer constant %s: update the release-time model in docs/releasetime_test.go", name)
	}
	return v
}

func loadStackConfig(t *testing.T, stack string) *infra.Config {
	t.Helper()
	sf, err := stackfile.Load("..", stack)
	if err != nil {
		t.Fatalf("load stack %s: %v", stack, err)
	}
	cfg, err := infra.DecodeConfig(stack, sf.Values)
	if err != nil {
		t.Fatalf("decode stack %s: %v", stack, err)
	}
	return cfg
}

// ours is the column of a stack with our settings.
func ours(cfg *infra.Config, pc programConstants) rolloutSettings {
	sc := cfg.Services[infra.ServiceAPI]
	return rolloutSettings{
		Builds:             cfg.Release[infra.ServiceAPI].Builds(),
		DesiredCount:       sc.DesiredCount,
		MinHealthyPercent:  sc.MinHealthyPercent,
		MaxPercent:         sc.MaxPercent,
		Grace:              sc.HealthCheckGracePeriodSeconds,
		Deregistration:     sc.DeregistrationDelay(),
		StopTimeout:        sc.StopTimeoutSeconds,
		Interval:           pc.Interval,
		HealthyThreshold:   pc.HealthyThreshold,
		ContainerInterval:  pc.ContainerInterval,
		DriverPollInterval: int(deploy.DefaultPollInterval / time.Second),
	}
}

// awsDefaults is the same stack with every setting we change left at AWS's
// default: the same task count and build, no container health check.
func awsDefaults(cfg *infra.Config) rolloutSettings {
	s := ours(cfg, programConstants{})
	s.MinHealthyPercent, s.MaxPercent = awsDefaultMinHealthy, awsDefaultMaxPercent
	s.Grace, s.Deregistration, s.StopTimeout = awsDefaultGrace, awsDefaultDeregistration, awsDefaultStopTimeout
	s.Interval, s.HealthyThreshold = awsDefaultInterval, awsDefaultHealthyThreshold
	s.ContainerInterval = 0
	return s
}

// cell is one computed figure with the arithmetic that gave it, or a note
// on why it is what it is.
type cell struct {
	Seconds int
	Work    string
	Note    string
}

func (c cell) String() string {
	switch {
	case c.Note != "":
		return fmt.Sprintf("%d s (%s)", c.Seconds, c.Note)
	case c.Work == "":
		return fmt.Sprintf("%d s", c.Seconds)
	}
	return fmt.Sprintf("%s = **%d s**", c.Work, c.Seconds)
}

// column is the model evaluated for one set of settings.
type column struct {
	Build, Calls, Migration, MigrationPoll              cell
	Waves                                               int
	WavesWork                                           string
	Start, Healthy, Drain, Stop, Rollout, Verify, Smoke cell
	Total                                               cell
}

func evaluate(s rolloutSettings) column {
	var c column
	if s.Builds {
		c.Build = cell{Seconds: assumeBuildPush}
	} else {
		c.Build = cell{Seconds: 0, Note: "deploys dev's digest"}
	}
	c.Calls = cell{Seconds: assumeAPICalls}
	c.Migration = cell{
		Seconds: assumeProvision + assumePull + assumeMigrateRun + assumeTaskStopped,
		Work:    fmt.Sprintf("%d + %d + %d + %d", assumeProvision, assumePull, assumeMigrateRun, assumeTaskStopped),
	}
	c.MigrationPoll = cell{Seconds: s.DriverPollInterval}

	// ECS keeps at least ceil(N × min%) tasks running and at most
	// floor(N × max%) running or starting: each wave replaces the
	// difference.
	running := int(math.Ceil(float64(s.DesiredCount*s.MinHealthyPercent) / 100))
	ceiling := s.DesiredCount * s.MaxPercent / 100
	batch := max(1, ceiling-running)
	c.Waves = (s.DesiredCount + batch - 1) / batch
	c.WavesWork = fmt.Sprintf("⌈%d / (⌊%d × %d%%⌋ − ⌈%d × %d%%⌉)⌉ = ⌈%d / (%d − %d)⌉",
		s.DesiredCount, s.DesiredCount, s.MaxPercent, s.DesiredCount, s.MinHealthyPercent,
		s.DesiredCount, ceiling, running)

	c.Start = cell{
		Seconds: assumeProvision + assumePull + assumeBoot,
		Work:    fmt.Sprintf("%d + %d + %d", assumeProvision, assumePull, assumeBoot),
	}
	alb := s.HealthyThreshold * s.Interval
	if s.ContainerInterval > 0 {
		c.Healthy = cell{
			Seconds: max(alb, s.ContainerInterval),
			Work:    fmt.Sprintf("max(%d × %d, %d)", s.HealthyThreshold, s.Interval, s.ContainerInterval),
		}
	} else {
		c.Healthy = cell{Seconds: alb, Work: fmt.Sprintf("%d × %d", s.HealthyThreshold, s.Interval)}
	}
	c.Drain = cell{Seconds: s.Deregistration}
	c.Stop = cell{Seconds: min(assumeShutdown, s.StopTimeout), Work: fmt.Sprintf("min(%d, %d)", assumeShutdown, s.StopTimeout)}
	wave := c.Start.Seconds + c.Healthy.Seconds + c.Drain.Seconds + c.Stop.Seconds
	c.Rollout = cell{
		Seconds: c.Waves * wave,
		Work:    fmt.Sprintf("%d × (%d + %d + %d + %d)", c.Waves, c.Start.Seconds, c.Healthy.Seconds, c.Drain.Seconds, c.Stop.Seconds),
	}
	c.Verify = cell{Seconds: s.DriverPollInterval}
	c.Smoke = cell{Seconds: assumeSmoke}

	parts := []cell{c.Build, c.Calls, c.Migration, c.MigrationPoll, c.Rollout, c.Verify, c.Smoke}
	sum, terms := 0, make([]string, len(parts))
	for i, p := range parts {
		sum += p.Seconds
		terms[i] = strconv.Itoa(p.Seconds)
	}
	c.Total = cell{Seconds: sum, Work: strings.Join(terms, " + ")}
	return c
}

func minutes(seconds int) string {
	return fmt.Sprintf("%d min %02d s", seconds/60, seconds%60)
}

// renderModel is the generated part of docs/release-time.md.
func renderModel(devOurs, devAWS, prodOurs, prodAWS rolloutSettings) string {
	cols := []column{evaluate(devOurs), evaluate(devAWS), evaluate(prodOurs), evaluate(prodAWS)}
	settings := []rolloutSettings{devOurs, devAWS, prodOurs, prodAWS}
	var b strings.Builder
	row := func(step, source string, f func(i int, c column) string) {
		fmt.Fprintf(&b, "| %s | %s |", step, source)
		for i, c := range cols {
			fmt.Fprintf(&b, " %s |", f(i, c))
		}
		b.WriteString("\n")
	}
	b.WriteString("| step | set by | dev, ours | dev, AWS defaults | prod, ours | prod, AWS defaults |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	row("settings", "stack files, program", func(i int, _ column) string {
		s := settings[i]
		check := "no container check"
		if s.ContainerInterval > 0 {
			check = fmt.Sprintf("container check every %d s", s.ContainerInterval)
		}
		return fmt.Sprintf("%d task(s), %d/%d %%, grace %d s, check %d s × %d, draining %d s, stop %d s, %s",
			s.DesiredCount, s.MinHealthyPercent, s.MaxPercent, s.Grace, s.Interval, s.HealthyThreshold,
			s.Deregistration, s.StopTimeout, check)
	})
	row("1. build and push the image", "dev builds; prod has `imageDigest`", func(_ int, c column) string { return c.Build.String() })
	row("2. AWS calls of the two updates", "assumed", func(_ int, c column) string { return c.Calls.String() })
	row("3. migration task: provision + pull + `alembic upgrade head` + STOPPED", "assumed", func(_ int, c column) string { return c.Migration.String() })
	row("4. driver sees STOPPED (one poll)", "`deploy.DefaultPollInterval`", func(_ int, c column) string { return c.MigrationPoll.String() })
	row("5. rolling waves ⌈N / (⌊N × max⌋ − ⌈N × min⌉)⌉", "`desiredCount`, `minHealthyPercent`, `maxPercent`", func(_ int, c column) string {
		return fmt.Sprintf("%s = **%d**", c.WavesWork, c.Waves)
	})
	row("6. new task starts: provision + pull + boot", "assumed", func(_ int, c column) string { return c.Start.String() })
	row("7. new task healthy: healthy threshold × interval (and the container check)", "`infra/loadbalancer.go`, `infra/service.go`", func(_ int, c column) string { return c.Healthy.String() })
	row("8. old task drains", "`deregistrationDelaySeconds`", func(_ int, c column) string { return c.Drain.String() })
	row("9. old task stops after SIGTERM", "assumed, at most `stopTimeoutSeconds`", func(_ int, c column) string { return c.Stop.String() })
	row("10. rollout: waves × (6 + 7 + 8 + 9)", "", func(_ int, c column) string { return c.Rollout.String() })
	row("11. driver sees COMPLETED (one poll)", "`deploy.DefaultPollInterval`", func(_ int, c column) string { return c.Verify.String() })
	row("12. smoke gate", "assumed", func(_ int, c column) string { return c.Smoke.String() })
	row("**AWS time: 1 + 2 + 3 + 4 + 10 + 11 + 12**", "", func(_ int, c column) string {
		return fmt.Sprintf("%s = **%d s (%s)**", c.Total.Work, c.Total.Seconds, minutes(c.Total.Seconds))
	})
	b.WriteString("\n")
	ours, defaults := cols[0].Total.Seconds, cols[1].Total.Seconds
	verdict := fmt.Sprintf("met: %s of AWS time leaves %s for the driver", minutes(ours), minutes(goalOurs-ours))
	if ours > goalOurs {
		verdict = fmt.Sprintf("missed: %s of AWS time alone exceeds it", minutes(ours))
	}
	fmt.Fprintf(&b, "Goal for a dev api release with our settings, at most %s: **%s**. ", minutes(goalOurs), verdict)
	if defaults >= goalDefaults {
		fmt.Fprintf(&b, "On AWS defaults the same release takes **%s** of AWS time (at least %s, as expected): %s more, from the health checks (%d s against %d s) and draining (%d s against %d s).\n",
			minutes(defaults), minutes(goalDefaults), minutes(defaults-ours),
			cols[1].Healthy.Seconds, cols[0].Healthy.Seconds, cols[1].Drain.Seconds, cols[0].Drain.Seconds)
	} else {
		fmt.Fprintf(&b, "On AWS defaults the same release takes **%s** of AWS time, less than the %s stated.\n", minutes(defaults), minutes(goalDefaults))
	}
	return b.String()
}

// The release-time goal: a dev api release in at most 6 minutes with our
// settings, against at least 10 on AWS defaults.
const (
	goalOurs     = 6 * 60
	goalDefaults = 10 * 60
)

const (
	beginMarker = "<!-- BEGIN generated release-time model: UPDATE_GOLDEN=1 go test ./docs/ -->\n"
	endMarker   = "<!-- END generated release-time model -->\n"
)

func TestReleaseTimeTableMatchesTheStackFilesAndTheProgram(t *testing.T) {
	pc := readProgramConstants(t)
	dev, prod := loadStackConfig(t, "dev"), loadStackConfig(t, "prod")
	want := renderModel(ours(dev, pc), awsDefaults(dev), ours(prod, pc), awsDefaults(prod))

	path := "release-time.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	text := string(doc)
	begin, end := strings.Index(text, beginMarker), strings.Index(text, endMarker)
	if begin < 0 || end < begin {
		t.Fatalf("%s has no generated section between %q and %q", path, beginMarker, endMarker)
	}
	got := text[begin+len(beginMarker) : end]
	if got == want {
		return
	}
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		updated := text[:begin+len(beginMarker)] + want + text[end:]
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatalf("update %s: %v", path, err)
		}
		return
	}
	t.Errorf("docs/%s is out of date with the stack files or the program; refresh it with UPDATE_GOLDEN=1 go test ./docs/ and reread its prose (-want +got):\n%s",
		path, cmp.Diff(want, got))
}

func TestReleaseTimeModel(t *testing.T) {
	base := rolloutSettings{
		Builds: true, DesiredCount: 1, MinHealthyPercent: 100, MaxPercent: 200,
		Deregistration: 300, StopTimeout: 30, Interval: 30, HealthyThreshold: 5, DriverPollInterval: 6,
	}
	tests := []struct {
		name      string
		change    func(*rolloutSettings)
		wantWaves int
		wantTotal int
	}{
		{
			name:      "one task on AWS defaults takes one wave dominated by draining",
			change:    func(*rolloutSettings) {},
			wantWaves: 1,
			wantTotal: 90 + 15 + 80 + 6 + (55 + 150 + 300 + 5) + 6 + 2,
		},
		{
			name:      "a digest release builds nothing",
			change:    func(s *rolloutSettings) { s.Builds = false },
			wantWaves: 1,
			wantTotal: 15 + 80 + 6 + (55 + 150 + 300 + 5) + 6 + 2,
		},
		{
			name: "four tasks with max 150 % replace two at a time",
			change: func(s *rolloutSettings) {
				s.DesiredCount, s.MaxPercent = 4, 150
			},
			wantWaves: 2,
			wantTotal: 90 + 15 + 80 + 6 + 2*(55+150+300+5) + 6 + 2,
		},
		{
			name: "a container check slower than the load balancer sets the healthy time",
			change: func(s *rolloutSettings) {
				s.Interval, s.HealthyThreshold, s.ContainerInterval = 5, 2, 30
			},
			wantWaves: 1,
			wantTotal: 90 + 15 + 80 + 6 + (55 + 30 + 300 + 5) + 6 + 2,
		},
		{
			name:      "a stop timeout shorter than the shutdown cuts it",
			change:    func(s *rolloutSettings) { s.StopTimeout = 2 },
			wantWaves: 1,
			wantTotal: 90 + 15 + 80 + 6 + (55 + 150 + 300 + 2) + 6 + 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.change(&s)
			c := evaluate(s)
			if diff := cmp.Diff([2]int{tt.wantWaves, tt.wantTotal}, [2]int{c.Waves, c.Total.Seconds}); diff != "" {
				t.Errorf("waves, total (-want +got):\n%s", diff)
			}
		})
	}
}
