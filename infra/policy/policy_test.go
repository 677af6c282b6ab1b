package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEvaluate(t *testing.T) {
	stack := &Stack{Name: "prod", Environment: "prod", Resources: []Resource{
		{URN: "urn:b", Type: "aws:s3/bucketV2:BucketV2", Name: "b"},
		{URN: "urn:a", Type: "aws:s3/bucketV2:BucketV2", Name: "a"},
		{URN: "urn:r", Type: "aws:iam/role:Role", Name: "r"},
	}}
	rules := []Rule{
		{
			Name: "z-buckets", Description: "d", Enforcement: Advisory,
			Types: []string{"aws:s3/bucketV2:BucketV2"},
			Check: func(_ *Stack, r Resource) []string { return []string{"bucket " + r.Name} },
		},
		{
			Name: "a-stack", Description: "d", Enforcement: Mandatory,
			CheckStack: func(s *Stack) []Violation {
				if s.IsProd() {
					return []Violation{{Message: "prod", Policy: "ignored", Enforcement: Advisory}}
				}
				return nil
			},
		},
	}
	want := []Violation{
		{Policy: "a-stack", Enforcement: Mandatory, Message: "prod"},
		{Policy: "z-buckets", Enforcement: Advisory, URN: "urn:a", Message: "bucket a"},
		{Policy: "z-buckets", Enforcement: Advisory, URN: "urn:b", Message: "bucket b"},
	}
	got := Evaluate(rules, stack)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:1], MandatoryOnly(got)); diff != "" {
		t.Errorf("mandatory violations (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	check := func(*Stack, Resource) []string { return nil }
	stackCheck := func(*Stack) []Violation { return nil }
	tests := []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"accepts complete rules", []Rule{{Name: "a", Description: "d", Enforcement: Mandatory, Check: check}}, ""},
		{"refuses a rule without a description", []Rule{{Name: "a", Enforcement: Mandatory, Check: check}}, "name and description"},
		{"refuses a duplicate name", []Rule{
			{Name: "a", Description: "d", Enforcement: Mandatory, Check: check},
			{Name: "a", Description: "d", Enforcement: Advisory, Check: check},
		}, "defined twice"},
		{"refuses an unknown enforcement", []Rule{{Name: "a", Description: "d", Enforcement: "warn", Check: check}}, "neither mandatory nor advisory"},
		{"refuses a rule with both checks", []Rule{{Name: "a", Description: "d", Enforcement: Mandatory, Check: check, CheckStack: stackCheck}}, "exactly one"},
		{"refuses a rule with no check", []Rule{{Name: "a", Description: "d", Enforcement: Mandatory}}, "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.rules)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
