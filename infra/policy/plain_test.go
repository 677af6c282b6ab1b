package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestPlainHidesSecretsAndUnknowns(t *testing.T) {
	in := resource.PropertyMap{
		"password":   resource.MakeSecret(resource.NewProperty("hunter2")),
		"arn":        resource.MakeComputed(resource.NewProperty("")),
		"out":        resource.NewProperty(resource.Output{Element: resource.NewProperty("x"), Known: true, Secret: true}),
		"list":       resource.NewProperty([]resource.PropertyValue{resource.NewProperty("a"), resource.NewProperty(2.0)}),
		"__defaults": resource.NewProperty([]resource.PropertyValue{}),
	}
	want := map[string]any{"password": SecretMarker, "arn": UnknownMarker, "out": SecretMarker, "list": []any{"a", 2.0}}
	if diff := cmp.Diff(want, PlainMap(in)); diff != "" {
		t.Errorf("PlainMap (-want +got):\n%s", diff)
	}
}
