package infra

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	typeECRLifecyclePolicy   = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
	typeECRReplicationConfig = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
	typeECRRegistryPolicy    = "aws:ecr/registryPolicy:RegistryPolicy"
)

func TestRegistryRepositories(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		rr := runRuntime(t, stack, nil)
		for _, svc := range Services {
			t.Run(stack+" "+svc, func(t *testing.T) {
				repo := rr.one(t, typeECRRepository, "runtime-registry-"+svc)
				got := map[string]any{}
				for _, k := range []string{"name", "imageTagMutability", "imageScanningConfiguration", "encryptionConfigurations", "forceDelete"} {
					got[k] = repo.Inputs[k]
				}
				want := map[string]any{
					// The same name in both accounts: replication lands in it.
					"name":                       "experts/" + svc,
					"imageTagMutability":         "MUTABLE",
					"imageScanningConfiguration": map[string]any{"scanOnPush": true},
					"encryptionConfigurations":   []any{map[string]any{"encryptionType": "AES256"}},
					"forceDelete":                false,
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("repository (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestRegistryLifecycleKeepsReleasesAndExpiresUntagged(t *testing.T) {
	for stack, limits := range map[string][2]int{"dev": {3, 20}, "prod": {7, 50}} {
		rr := runRuntime(t, stack, nil)
		for _, svc := range Services {
			t.Run(stack+" "+svc, func(t *testing.T) {
				lp := rr.one(t, typeECRLifecyclePolicy, "runtime-registry-"+svc+"-lifecycle")
				if lp.Inputs["repository"] != "experts/"+svc {
					t.Errorf("policy of repository %v, want experts/%s", lp.Inputs["repository"], svc)
				}
				var got ecrLifecyclePolicy
				if err := json.Unmarshal([]byte(lp.Inputs["policy"].(string)), &got); err != nil {
					t.Fatal(err)
				}
				type sel = ecrLifecycleSelection
				// The release rule comes first: an image a rule of higher
				// priority matches is never expired by a later one.
				want := []sel{
					{TagStatus: "tagged", TagPatternList: []string{ReleaseTagPrefix + "*"}, CountType: "imageCountMoreThan", CountNumber: maxLifecycleCount},
					{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: limits[0]},
					{TagStatus: "tagged", TagPatternList: []string{"*"}, CountType: "imageCountMoreThan", CountNumber: limits[1]},
				}
				var sels []sel
				for i, r := range got.Rules {
					if r.RulePriority != i+1 || r.Action.Type != "expire" {
						t.Errorf("rule %d: priority %d, action %s", i, r.RulePriority, r.Action.Type)
					}
					sels = append(sels, r.Selection)
				}
				if diff := cmp.Diff(want, sels); diff != "" {
					t.Errorf("lifecycle selections (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestRegistryReplicatesDevImagesToProd(t *testing.T) {
	dev := runRuntime(t, "dev", nil)
	rc := dev.one(t, typeECRReplicationConfig, "runtime-registry-replication")
	want := map[string]any{"rules": []any{map[string]any{
		"destinations": []any{map[string]any{"region": "eu-west-1", "registryId": "123456789012"}},
		"repositoryFilters": []any{
			map[string]any{"filter": "experts/api", "filterType": "PREFIX_MATCH"},
			map[string]any{"filter": "experts/mcp", "filterType": "PREFIX_MATCH"},
		},
	}}}
	if diff := cmp.Diff(want, rc.Inputs["replicationConfiguration"]); diff != "" {
		t.Errorf("replication (-want +got):\n%s", diff)
	}
	if got := dev.ofType(typeECRRegistryPolicy); len(got) != 0 {
		t.Errorf("dev accepts replication from nobody, but declares %d registry policies", len(got))
	}

	prod := runRuntime(t, "prod", nil)
	if got := prod.ofType(typeECRReplicationConfig); len(got) != 0 {
		t.Errorf("prod replicates nowhere, but declares %d replication configurations", len(got))
	}
	got := policyDocument(t, prod.one(t, typeECRRegistryPolicy, "runtime-registry-policy"), "policy")
	wantPolicy := NewPolicyDocument(Statement{
		Sid:       "ReplicationFrom210987654321",
		Effect:    "Allow",
		Principal: map[string]StringOrList{"AWS": {"arn:aws:iam::210987654321:root"}},
		Action:    StringOrList{"ecr:ReplicateImage"},
		Resource: StringOrList{
			"arn:aws:ecr:eu-west-1:123456789012:repository/experts/api",
			"arn:aws:ecr:eu-west-1:123456789012:repository/experts/mcp",
		},
	})
	if diff := cmp.Diff(wantPolicy, got); diff != "" {
		t.Errorf("registry policy (-want +got):\n%s", diff)
	}
}

func TestRegistryWithoutPromotionDeclaresNoReplication(t *testing.T) {
	dev := runRuntime(t, "dev", func(v map[string]string) { setJSON(t, v, KeyRegistry, "replicateToAccountId", nil) })
	prod := runRuntime(t, "prod", func(v map[string]string) { setJSON(t, v, KeyRegistry, "acceptReplicationFromAccountId", nil) })
	for _, rr := range []*runtimeRun{dev, prod} {
		for _, typ := range []string{typeECRReplicationConfig, typeECRRegistryPolicy} {
			if got := rr.ofType(typ); len(got) != 0 {
				t.Errorf("%s declares %d %s", rr.cfg.Stack, len(got), typ)
			}
		}
	}
}

func TestRegistryRepositoriesAreProtectedFromReplacement(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			regs := runRecorded(t, stack)
			for _, svc := range Services {
				r := regs.one(t, "aws:ecr/repository:Repository", "runtime-registry-"+svc)
				if !r.Protect {
					t.Errorf("repository %s is not protected: a replacement would collide on its fixed name and delete released images", svc)
				}
			}
		})
	}
}
