package infra

import (
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
