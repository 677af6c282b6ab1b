package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInputsRead(t *testing.T) {
	in := InputsOf(Resource{Inputs: map[string]any{
		"name":    "experts-dev-api",
		"count":   float64(2),
		"enabled": true,
		"groups":  []any{"sg-1", float64(3), "sg-2"},
		"network": map[string]any{"assignPublicIp": false, "subnets": []any{"subnet-a"}},
		"rules":   []any{map[string]any{"port": float64(443)}, "not an object"},
	}})
	got := map[string]any{
		"String":                in.String("name"),
		"String of a number":    in.String("count"),
		"Text of a number":      in.Text("count"),
		"Text of a missing key": in.Text("missing"),
		"Bool":                  in.Bool("enabled"),
		"Bool of a string":      in.Bool("name"),
		"Strings of a list":     in.Strings("groups"),
		"Strings of a string":   in.Strings("name"),
		"Len":                   in.Len("groups"),
		"nested Strings":        in.Object("network").Strings("subnets"),
		"nested object Set":     in.Object("network").Set(),
		"missing object Set":    in.Object("missing").Set(),
		"Objects":               len(in.Objects("rules")),
		"Objects path":          in.Objects("rules")[0].Path("port"),
		"nested path":           in.Object("network").Path("subnets"),
		"Has":                   in.Has("name"),
		"Has missing":           in.Has("missing"),
	}
	want := map[string]any{
		"String":                "experts-dev-api",
		"String of a number":    "",
		"Text of a number":      "2",
		"Text of a missing key": "not set",
		"Bool":                  true,
		"Bool of a string":      false,
		"Strings of a list":     []string{"sg-1", "sg-2"},
		"Strings of a string":   []string{"experts-dev-api"},
		"Len":                   3,
		"nested Strings":        []string{"subnet-a"},
		"nested object Set":     true,
		"missing object Set":    false,
		"Objects":               1,
		"Objects path":          "rules[0].port",
		"nested path":           "network.subnets",
		"Has":                   true,
		"Has missing":           false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("readers (-want +got):\n%s", diff)
	}
	if n, ok := in.Number("count"); !ok || n != 2 {
		t.Errorf("Number(count) = %v, %v; want 2, true", n, ok)
	}
	if _, ok := in.Number("name"); ok {
		t.Error("Number(name) is ok for a string")
	}
}

func TestInputsRequireNameTheKey(t *testing.T) {
	in := NewInputs(map[string]any{"network": map[string]any{"vpcId": float64(7), "empty": ""}, "size": "large"})
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"a missing nested string names its path", func() error { _, err := in.Object("network").RequireString("subnet"); return err },
			"input network.subnet is not set"},
		{"a number where a string belongs names the value", func() error { _, err := in.Object("network").RequireString("vpcId"); return err },
			"input network.vpcId is 7, want a non-empty string"},
		{"an empty string is refused", func() error { _, err := in.Object("network").RequireString("empty"); return err },
			`input network.empty is "", want a non-empty string`},
		{"a string where a number belongs names the key", func() error { _, err := in.RequireNumber("size"); return err },
			`input size is "large", want a number`},
		{"a missing number names the key", func() error { _, err := in.RequireNumber("count"); return err },
			"input count is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	if s, err := NewInputs(map[string]any{"k": "v"}).RequireString("k"); err != nil || s != "v" {
		t.Errorf("RequireString(k) = %q, %v; want v, nil", s, err)
	}
}
