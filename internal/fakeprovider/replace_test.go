package fakeprovider

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/experts/platform/stacks"
)

func props(kv ...any) resource.PropertyMap {
	m := resource.PropertyMap{}
	for i := 0; i < len(kv); i += 2 {
		m[resource.PropertyKey(kv[i].(string))] = resource.NewPropertyValue(kv[i+1])
	}
	return m
}

// TestEveryForceNewPropertyReplaces is the test of each entry of the
// replacement table: a change of that property alone replaces the
// resource, and a change of its tags alone does not.
func TestEveryForceNewPropertyReplaces(t *testing.T) {
	for typ, rep := range replacements {
		changes := rep.Props
		if rep.AllBut != nil {
			changes = []string{"family", "containerDefinitions", "cpu", "memory", "executionRoleArn", "taskRoleArn", "runtimePlatform"}
		}
		for _, prop := range changes {
			t.Run(typ+" "+prop, func(t *testing.T) {
				got := diff(typ, props(prop, "old", "tags", map[string]any{"a": "1"}), props(prop, "new", "tags", map[string]any{"a": "1"}), nil)
				if diff := cmp.Diff([]string{prop}, got.Replaces); diff != "" {
					t.Errorf("replaces (-want +got):\n%s", diff)
				}
			})
		}
		t.Run(typ+" tags", func(t *testing.T) {
			got := diff(typ, props("tags", map[string]any{"a": "1"}), props("tags", map[string]any{"a": "2"}), nil)
			if len(got.Replaces) != 0 || len(got.Diffs) != 1 {
				t.Errorf("a tag change: replaces %v, diffs %v; want an update of tags", got.Replaces, got.Diffs)
			}
		})
	}
}

func TestTaskDefinitionKeepsItsRevisionOnTheSettingsThatAreNotForceNew(t *testing.T) {
	for _, prop := range []string{"tags", "tagsAll", "skipDestroy", "trackLatest"} {
		got := diff("aws:ecs/taskDefinition:TaskDefinition", props(prop, true), props(prop, false), nil)
		if len(got.Replaces) != 0 {
			t.Errorf("%s: replaces %v, want an update", prop, got.Replaces)
		}
	}
}

func TestReplacingANamedResourceDeletesItFirst(t *testing.T) {
	tests := []struct {
		name      string
		typ       string
		olds      resource.PropertyMap
		news      resource.PropertyMap
		wantFirst bool
	}{
		{"a renamed target group is deleted before its successor is created", "aws:lb/targetGroup:TargetGroup",
			props("name", "a", "port", 80.0), props("name", "b", "port", 80.0), true},
		{"a named target group on a new port is deleted first", "aws:lb/targetGroup:TargetGroup",
			props("name", "a", "port", 80.0), props("name", "a", "port", 8080.0), true},
		{"an unnamed target group is created before the old one goes", "aws:lb/targetGroup:TargetGroup",
			props("port", 80.0), props("port", 8080.0), false},
		{"a task definition has no unique name and is created first", "aws:ecs/taskDefinition:TaskDefinition",
			props("family", "f", "cpu", "256"), props("family", "f", "cpu", "512"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diff(tt.typ, tt.olds, tt.news, nil)
			if len(got.Replaces) == 0 {
				t.Fatalf("no replacement: %v", got)
			}
			if got.DeleteBeforeReplace != tt.wantFirst {
				t.Errorf("deleteBeforeReplace = %v, want %v", got.DeleteBeforeReplace, tt.wantFirst)
			}
		})
	}
}

func TestUnchangedInputsHaveNoDiff(t *testing.T) {
	in := props("name", "x", "port", 80.0, "tags", map[string]any{"a": "1"})
	secret := in.Copy()
	secret["name"] = resource.MakeSecret(resource.NewProperty("x"))
	for _, news := range []resource.PropertyMap{in.Copy(), secret} {
		if got := diff("aws:lb/targetGroup:TargetGroup", in, news, nil); len(got.Diffs) != 0 {
			t.Errorf("diffs %v, want none", got.Diffs)
		}
	}
}

func TestUnknownValuesCountAsChanges(t *testing.T) {
	news := props("port", 80.0)
	news["name"] = resource.MakeComputed(resource.NewProperty(""))
	got := diff("aws:lb/targetGroup:TargetGroup", props("name", "x", "port", 80.0), news, nil)
	if diff := cmp.Diff([]string{"name"}, got.Replaces); diff != "" {
		t.Errorf("replaces (-want +got):\n%s", diff)
	}
}

// TestTheTableCoversEveryTypeTheProgramDeclares keeps the table complete:
// a type the program declares that is missing here would be refused by
// Check in every rehearsal.
func TestTheTableCoversEveryTypeTheProgramDeclares(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		plan, err := stacks.PreviewOffline(context.Background(), "../..", stack)
		if err != nil {
			t.Fatal(err)
		}
		var missing []string
		for _, r := range plan.Resources {
			if !strings.HasPrefix(r.Type, "aws:") && !strings.HasPrefix(r.Type, "docker:") {
				continue
			}
			if _, ok := replacements[r.Type]; !ok {
				missing = append(missing, r.Type)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s declares types the replacement table lacks: %v", stack, missing)
		}
	}
}
