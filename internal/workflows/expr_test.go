package workflows

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func exprContext() *Context {
	return &Context{Values: map[string]any{
		"github": map[string]any{"event_name": "pull_request", "repository": "experts-app/experts", "ref": "refs/tags/api-v1.5.0",
			"event": map[string]any{"pull_request": map[string]any{"head": map[string]any{"repo": map[string]any{"full_name": "experts-app/experts"}}}}},
		"vars":   map[string]any{"DEV_PREVIEW_ROLE_ARN": "arn:dev", "AWS_REGION": "eu-west-1"},
		"matrix": map[string]any{"stack": "dev", "vars": "DEV"},
		"steps":  map[string]any{"version": map[string]any{"outputs": map[string]any{"promote": "true"}}},
		"needs":  map[string]any{"release-dev": map[string]any{"outputs": map[string]any{"promote": "false"}, "result": "success"}},
	}}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name, expr string
		want       any
	}{
		{"reads a variable", "vars.AWS_REGION", "eu-west-1"},
		{"reads a variable through format and a matrix value", "vars[format('{0}_PREVIEW_ROLE_ARN', matrix.vars)]", "arn:dev"},
		{"compares strings ignoring case", "github.event_name == 'PULL_REQUEST'", true},
		{"reads a job output with a dash in the job id", "needs.release-dev.outputs.promote == 'true'", false},
		{"short-circuits && before a property that is missing", "github.event_name == 'push' && github.event.head_commit.id", false},
		{"returns the operand of ||", "github.event_name == 'push' || 'fallback'", "fallback"},
		{"compares two properties", "github.event.pull_request.head.repo.full_name == github.repository", true},
		{"calls startsWith", "startsWith(github.ref, 'refs/tags/api-v')", true},
		{"negates", "!(steps.version.outputs.promote == 'true')", false},
		{"reads a number", "1 < 2", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := exprContext().Evaluate(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateFailsOnWhatDoesNotExist(t *testing.T) {
	tests := []struct{ name, expr string }{
		{"fails on a variable that is not set", "vars.AWS_ROLE_ARN"},
		{"fails on an output no step wrote", "steps.version.outputs.version"},
		{"fails on a step that does not exist", "steps.release.outputs.digest"},
		{"fails on a job output that does not exist", "needs.release-dev.outputs.digest"},
		{"fails on an unknown context", "input.x"},
		{"fails on a variable built by format that is not set", "vars[format('{0}_PREVIEW_ROLE_ARN', 'PROD')]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := exprContext().Evaluate(tt.expr)
			if !errors.Is(err, ErrMissing) {
				t.Fatalf("error = %v, want ErrMissing", err)
			}
		})
	}
}

func TestConditionAndInterpolate(t *testing.T) {
	c := exprContext()
	c.Failed = true
	for _, tt := range []struct {
		cond string
		want bool
	}{{"", false}, {"always()", true}, {"${{ always() }}", true}, {"failure()", true}, {"steps.version.outputs.promote == 'true'", false}} {
		got, err := c.Condition(tt.cond)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("after a failure, if: %q = %v, want %v", tt.cond, got, tt.want)
		}
	}
	got, err := c.Interpolate("deploy-${{ matrix.stack }}-infra ${{ steps.version.outputs.promote }}")
	if err != nil {
		t.Fatal(err)
	}
	if got != "deploy-dev-infra true" {
		t.Errorf("interpolated %q", got)
	}
	if _, err := c.Interpolate("${{ vars.NOPE }}"); !errors.Is(err, ErrMissing) {
		t.Errorf("interpolating a missing variable: error = %v, want ErrMissing", err)
	}
}
