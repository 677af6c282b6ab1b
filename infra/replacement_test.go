package infra

import (
	"slices"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/experts/platform/infra/mockaws"
)

// registration is what the engine is told about one resource besides its
// inputs: dependencies and replacement options.
type registration struct {
	URN                 string
	Type, Name          string
	Dependencies        []string
	DeleteBeforeReplace bool
	Protect             bool
}

// recordingMocks answers like mockaws.Mocks and keeps each registration's
// dependencies and options, which the plain resources do not carry.
type recordingMocks struct {
	*mockaws.Mocks
	mu   sync.Mutex
	regs []registration
}

func (m *recordingMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if rpc := args.RegisterRPC; rpc != nil {
		m.mu.Lock()
		m.regs = append(m.regs, registration{
			Type: args.TypeToken, Name: args.Name, Dependencies: rpc.GetDependencies(),
			DeleteBeforeReplace: rpc.GetDeleteBeforeReplace(), Protect: rpc.GetProtect(),
		})
		m.mu.Unlock()
	}
	return m.Mocks.NewResource(args)
}

// recordedRun is a run of the whole program with its registrations.
type recordedRun struct {
	regs []registration
	urns map[string]string // "type name" → URN
}

func runRecorded(t *testing.T, stack string) *recordedRun {
	t.Helper()
	values := loadValues(t, stack)
	m := &recordingMocks{Mocks: mockaws.New(Project, stack, values[KeyAccountID], values[KeyRegion])}
	err := pulumi.RunErr(Program, pulumi.WithMocks(Project, stack, m), func(info *pulumi.RunInfo) {
		info.Config = values
		info.DryRun = true
		info.Parallel = 1
	})
	if err != nil {
		t.Fatalf("run %s: %v", stack, err)
	}
	run := &recordedRun{regs: m.regs, urns: map[string]string{}}
	for _, r := range m.PlainResources() {
		run.urns[r.Type+" "+r.Name] = r.URN
	}
	for i := range run.regs {
		run.regs[i].URN = run.urns[run.regs[i].Type+" "+run.regs[i].Name]
	}
	return run
}

func (r *recordedRun) one(t *testing.T, typ, name string) registration {
	t.Helper()
	for _, reg := range r.regs {
		if reg.Type == typ && reg.Name == name {
			return reg
		}
	}
	t.Fatalf("no %s %s registered", typ, name)
	return registration{}
}

func TestTaskDefinitionsWaitForTheExecutionRolePolicy(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			run := runRecorded(t, stack)
			for _, td := range []struct{ taskdef, policy string }{
				{"runtime-api-taskdef", "runtime-api-execution"},
				{"runtime-mcp-taskdef", "runtime-mcp-execution"},
				{"runtime-api-migrate-taskdef", "runtime-api-execution"},
			} {
				reg := run.one(t, typeTaskDefinition, td.taskdef)
				policyURN := run.urns["aws:iam/rolePolicy:RolePolicy "+td.policy]
				if policyURN == "" {
					t.Fatalf("no role policy %s", td.policy)
				}
				if !slices.Contains(reg.Dependencies, policyURN) {
					t.Errorf("%s does not depend on %s: ECS would start tasks before the role may pull the image and read the secrets\ndependencies: %v",
						td.taskdef, td.policy, reg.Dependencies)
				}
			}
		})
	}
}

func TestFixedNamesAreNeverCreatedBeforeTheOldOneIsDeleted(t *testing.T) {
	tests := []struct {
		name, stack, typ, resource string
		deleteFirst, protect       bool
	}{
		{"dev replaces a service by deleting it first", "dev", typeECSService, "runtime-api", true, false},
		{"prod refuses to replace a service", "prod", typeECSService, "runtime-api", false, true},
		{"a log group is deleted before it is replaced", "prod", typeLogGroup, "runtime-mcp-logs", true, false},
		{"a repository is never replaced", "dev", typeECRRepository, "runtime-registry-api", false, true},
	}
	runs := map[string]*recordedRun{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runs[tt.stack] == nil {
				runs[tt.stack] = runRecorded(t, tt.stack)
			}
			reg := runs[tt.stack].one(t, tt.typ, tt.resource)
			if reg.DeleteBeforeReplace != tt.deleteFirst || reg.Protect != tt.protect {
				t.Errorf("deleteBeforeReplace=%v protect=%v, want %v and %v", reg.DeleteBeforeReplace, reg.Protect, tt.deleteFirst, tt.protect)
			}
		})
	}
}

func TestSecurityGroupsAreNamedByPrefix(t *testing.T) {
	rr := runRuntime(t, "dev", nil)
	for _, name := range []string{"runtime-network-alb", "runtime-network-tasks"} {
		in := rr.one(t, typeSecurityGroup, name).Inputs
		if _, fixed := in["name"]; fixed {
			t.Errorf("%s has the fixed name %v: a replacement is created before the old group is deleted and would collide", name, in["name"])
		}
		if p, _ := in["namePrefix"].(string); p == "" {
			t.Errorf("%s has no namePrefix", name)
		}
	}
}

func TestServiceTasksCarryTheServiceTag(t *testing.T) {
	rr := runRuntime(t, "dev", nil)
	for _, svc := range Services {
		in := rr.one(t, typeECSService, "runtime-"+svc).Inputs
		tags, _ := in["tags"].(map[string]any)
		if tags[TaskServiceTagKey] != svc || in["propagateTags"] != "SERVICE" {
			t.Errorf("service %s tags %v, propagateTags %v: its tasks must carry %s=%s", svc, tags, in["propagateTags"], TaskServiceTagKey, svc)
		}
	}
}

func TestTaskRolesCarryThePermissionsBoundary(t *testing.T) {
	run := runStack(t, "prod", nil, nil)
	want := PermissionsBoundaryArn(run.cfg)
	for _, r := range run.ofType(identityRoleType) {
		got := r.Inputs["permissionsBoundary"]
		if r.Name == "identity-infra" {
			if got != nil {
				t.Errorf("the infra role carries boundary %v: it is created by an administrator and capped by its own denies", got)
			}
			continue
		}
		if got != want {
			t.Errorf("role %s has permissions boundary %v, want %s", r.Name, got, want)
		}
	}
}
