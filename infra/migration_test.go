package infra

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMigrationRunsTheServiceImageWithItsCommand(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			rr := runRuntime(t, stack, nil)
			service := rr.containers(t, "runtime-api-taskdef")
			migration := rr.containers(t, "runtime-api-migrate-taskdef")
			if len(service) != 1 || len(migration) != 1 {
				t.Fatalf("%d service and %d migration containers, want 1 and 1", len(service), len(migration))
			}
			s, m := service[0], migration[0]
			if m.Image != s.Image || !imageByDigest.MatchString(m.Image) {
				t.Errorf("migration image %s, service image %s: want the same image by digest", m.Image, s.Image)
			}
			if diff := cmp.Diff([]string{"scripts/migrate.sh"}, m.Command); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
			if m.Name != "migrate" || !m.Essential {
				t.Errorf("container %q essential %v, want the essential container migrate", m.Name, m.Essential)
			}
			if diff := cmp.Diff(s.Environment, m.Environment); diff != "" {
				t.Errorf("environment differs from the service's (-service +migration):\n%s", diff)
			}
			if diff := cmp.Diff(s.Secrets, m.Secrets); diff != "" || len(m.Secrets) == 0 {
				t.Errorf("secrets differ from the service's or are empty (-service +migration):\n%s", diff)
			}
			wantLogs := ecsLogConfiguration{LogDriver: "awslogs", Options: map[string]string{
				"awslogs-group":         "/experts/" + stack + "/api",
				"awslogs-region":        "eu-west-1",
				"awslogs-stream-prefix": "migrate",
			}}
			if diff := cmp.Diff(wantLogs, m.LogConfiguration); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
			if m.HealthCheck != nil || len(m.PortMappings) != 0 {
				t.Errorf("a one-off task serves nothing: health check %+v, ports %+v", m.HealthCheck, m.PortMappings)
			}

			td := rr.one(t, typeTaskDefinition, "runtime-api-migrate-taskdef")
			svc := rr.one(t, typeTaskDefinition, "runtime-api-taskdef")
			if td.Inputs["family"] != "experts-"+stack+"-api-migrate" {
				t.Errorf("family = %v", td.Inputs["family"])
			}
			for _, k := range []string{"executionRoleArn", "taskRoleArn", "cpu", "memory", "networkMode", "requiresCompatibilities"} {
				if diff := cmp.Diff(svc.Inputs[k], td.Inputs[k]); diff != "" {
					t.Errorf("%s differs from the service's (-service +migration):\n%s", k, diff)
				}
			}
			golden(t, "runtime-"+stack+"-api-migrate-containers", td.Inputs["containerDefinitions"])
		})
	}
}

func TestMigrationOnlyForTheAPI(t *testing.T) {
	rr := runRuntime(t, "dev", nil)
	var families []string
	for _, td := range rr.ofType(typeTaskDefinition) {
		families = append(families, td.Inputs["family"].(string))
	}
	want := []string{"experts-dev-api-migrate", "experts-dev-api", "experts-dev-mcp"}
	if diff := cmp.Diff(want, families); diff != "" {
		t.Errorf("task definition families (-want +got):\n%s", diff)
	}
}

// TestMigrationRunsThePendingRelease covers the first step of a release: the
// migration task definition runs the pending release's image and version
// while the service keeps running the current release.
func TestMigrationRunsThePendingRelease(t *testing.T) {
	pendingSha := strings.Repeat("c", 40)
	pendingDigest := "sha256:" + strings.Repeat("d", 64)
	tests := []struct {
		name      string
		stack     string
		pending   map[string]any
		wantImage func(repo string) string // "" prefix check for builds
		wantBuild bool
	}{
		{
			name:      "prod deploys the pending digest to the migration only",
			stack:     "prod",
			pending:   map[string]any{"version": "1.0.0", "gitSha": pendingSha, "ref": "api-v1.0.0", "imageDigest": pendingDigest},
			wantImage: func(repo string) string { return repo + "@" + pendingDigest },
		},
		{
			name:      "dev builds the pending release for the migration only",
			stack:     "dev",
			pending:   map[string]any{"version": "1.0.0", "gitSha": pendingSha, "ref": "main"},
			wantBuild: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runRuntime(t, tt.stack, nil)
			rr := runRuntime(t, tt.stack, func(v map[string]string) { setJSON(t, v, KeyRelease, "api.migrate", tt.pending) })

			service, migration := rr.containers(t, "runtime-api-taskdef")[0], rr.containers(t, "runtime-api-migrate-taskdef")[0]
			if want := before.containers(t, "runtime-api-taskdef")[0]; service.Image != want.Image {
				t.Errorf("the service moved to %s while a migration is pending, want it to keep %s", service.Image, want.Image)
			}
			if migration.Image == service.Image || !imageByDigest.MatchString(migration.Image) {
				t.Errorf("migration image %s: want the pending release's image by digest, not the service's", migration.Image)
			}
			if tt.wantImage != nil {
				if want := tt.wantImage(rr.output(t, "apiRepositoryUrl").(string)); migration.Image != want {
					t.Errorf("migration image = %s, want %s", migration.Image, want)
				}
			}
			if got := rr.output(t, "apiMigrationImage"); got != migration.Image {
				t.Errorf("output apiMigrationImage = %v, want %s", got, migration.Image)
			}
			env := map[string]string{}
			for _, e := range migration.Environment {
				env[e.Name] = e.Value
			}
			if env["VERSION"] != "1.0.0" || env["GIT_SHA"] != pendingSha {
				t.Errorf("migration environment VERSION=%s GIT_SHA=%s, want the pending release's", env["VERSION"], env["GIT_SHA"])
			}
			builds := 0
			for _, img := range rr.ofType("docker:index/image:Image") {
				if strings.HasSuffix(img.Name, "-migrate-image") {
					builds++
				}
			}
			if got := builds == 1; got != tt.wantBuild {
				t.Errorf("%d builds of the pending release, want a build: %v", builds, tt.wantBuild)
			}
			if v := rr.violations(nil); len(v) > 0 {
				t.Errorf("violations: %v", v)
			}
		})
	}
}
