package docs_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/experts/platform/infra"
)

// markdownFiles are the documents whose quoted config keys must exist:
// README.md and everything under docs/.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatalf("list docs: %v", err)
	}
	return append([]string{filepath.Join("..", "README.md")}, files...)
}

// configKeyRef matches a config key with an optional path, such as
// `experts:services.api.memory` or `aws:region`. A match preceded by ":"
// (an ARN such as arn:aws:acm:…), followed by ":" and a letter (a type
// token such as experts:infra:Service) or by "=" (a tag such as
// experts:service=api) is not a config key.
var configKeyRef = regexp.MustCompile(`(?:^|[^:\w])((?:experts|aws):[a-zA-Z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9_<>*-]+)*)(:[a-zA-Z]|=)?`)

// configKeyRefs returns the config keys quoted in a markdown text.
func configKeyRefs(text string) []string {
	var refs []string
	for _, m := range configKeyRef.FindAllStringSubmatch(text, -1) {
		if m[2] != "" {
			continue
		}
		refs = append(refs, strings.TrimRight(m[1], "."))
	}
	return refs
}

// configTypes is the Go type each structured key decodes into, for
// checking the paths under it.
var configTypes = map[string]reflect.Type{
	infra.KeyGitHub:           reflect.TypeFor[infra.GitHub](),
	infra.KeyDomain:           reflect.TypeFor[infra.Domain](),
	infra.KeyNetwork:          reflect.TypeFor[infra.NetworkConfig](),
	infra.KeyServices:         reflect.TypeFor[map[string]infra.ServiceConfig](),
	infra.KeyRelease:          reflect.TypeFor[map[string]infra.Release](),
	infra.KeyBootstrapRelease: reflect.TypeFor[map[string]infra.Release](),
	infra.KeyDeployment:       reflect.TypeFor[infra.Deployment](),
	infra.KeySite:             reflect.TypeFor[infra.SiteConfig](),
	infra.KeyIdentity:         reflect.TypeFor[infra.IdentityConfig](),
	infra.KeyRegistry:         reflect.TypeFor[infra.RegistryConfig](),
}

// knownKeys are the keys a document may quote: every key Pulumi.yaml
// declares, and the provider keys (aws:…) the stack files set.
func knownKeys(t *testing.T) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	var project struct {
		Config map[string]any `yaml:"config"`
	}
	readYAML(t, filepath.Join("..", "Pulumi.yaml"), &project)
	for k := range project.Config {
		keys[k] = true
	}
	// The release driver hands these to one update; they are not declared
	// (the engine requires every declared key without a default).
	keys[infra.KeyRelease], keys[infra.KeyDeployment] = true, true
	for _, stack := range []string{"dev", "prod"} {
		var sf struct {
			Config map[string]any `yaml:"config"`
		}
		readYAML(t, filepath.Join("..", "Pulumi."+stack+".yaml"), &sf)
		for k := range sf.Config {
			if strings.HasPrefix(k, "aws:") {
				keys[k] = true
			}
		}
	}
	return keys
}

func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if err := yaml.Unmarshal(b, out); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

// checkPath reports what is wrong with the path under a structured key
// ("" when every segment exists in the key's Go type).
func checkPath(key string, path []string) string {
	typ, ok := configTypes[key]
	if !ok {
		if len(path) == 0 {
			return ""
		}
		return key + " has no fields, or docs/configkeys_test.go does not know its type"
	}
	for i, seg := range path {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		switch typ.Kind() {
		case reflect.Map:
			// Services and releases are keyed by service; other maps
			// (environment, secrets) by any name.
			if (key == infra.KeyServices || key == infra.KeyRelease || key == infra.KeyBootstrapRelease) && i == 0 &&
				!slices.Contains(infra.Services, seg) && !strings.HasPrefix(seg, "<") {
				return "no service " + seg + " (services: " + strings.Join(infra.Services, ", ") + ")"
			}
			typ = typ.Elem()
		case reflect.Struct:
			f, ok := fieldByJSONName(typ, seg)
			if !ok {
				return typ.Name() + " has no field " + seg + " (fields: " + strings.Join(jsonNames(typ), ", ") + ")"
			}
			typ = f.Type
		default:
			return strings.Join(path[:i], ".") + " is a " + typ.Kind().String() + ", it has no field " + seg
		}
	}
	return ""
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func fieldByJSONName(typ reflect.Type, name string) (reflect.StructField, bool) {
	for i := range typ.NumField() {
		if f := typ.Field(i); jsonName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func jsonNames(typ reflect.Type) []string {
	var names []string
	for i := range typ.NumField() {
		if n := jsonName(typ.Field(i)); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// problem reports what is wrong with one quoted key ("" when it exists).
func problem(known map[string]bool, ref string) string {
	key, rest, _ := strings.Cut(ref, ".")
	if !known[key] {
		return "Pulumi.yaml declares no key " + key + " (and no stack file sets it)"
	}
	var path []string
	if rest != "" {
		path = strings.Split(rest, ".")
	}
	return checkPath(key, path)
}

// yamlConfigPaths returns, for a YAML fragment with config keys at its top
// level (a stack file excerpt), every key with each path under it.
func yamlConfigPaths(node *yaml.Node) []string {
	for node.Kind == yaml.DocumentNode && len(node.Content) > 0 {
		node = node.Content[0]
	}
	if node.Kind != yaml.MappingNode {
		return nil
	}
	if len(node.Content) == 2 && node.Content[0].Value == "config" {
		node = node.Content[1]
	}
	var out []string
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		out = append(out, prefix)
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(prefix+"."+n.Content[i].Value, n.Content[i+1])
		}
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if k := node.Content[i].Value; strings.Contains(k, ":") {
			walk(k, node.Content[i+1])
		}
	}
	return out
}

var fencedYAML = regexp.MustCompile("(?ms)^```ya?ml\n(.*?)^```")

func TestEveryConfigKeyQuotedInTheDocsExists(t *testing.T) {
	known := knownKeys(t)
	for _, path := range markdownFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read %s: %v", path, err)
			}
			text := string(b)
			refs := configKeyRefs(text)
			for _, m := range fencedYAML.FindAllStringSubmatch(text, -1) {
				var node yaml.Node
				if err := yaml.Unmarshal([]byte(m[1]), &node); err != nil {
					t.Errorf("%s: a yaml block does not parse: %v\n%s", path, err, m[1])
					continue
				}
				refs = append(refs, yamlConfigPaths(&node)...)
			}
			for _, ref := range refs {
				if p := problem(known, ref); p != "" {
					t.Errorf("%s quotes config key %s: %s", path, ref, p)
				}
			}
		})
	}
}

func TestConfigKeyCheck(t *testing.T) {
	known := map[string]bool{infra.KeyServices: true, infra.KeyRelease: true, infra.KeyRegion: true, infra.KeyLogRetentionDays: true}
	tests := []struct {
		name string
		text string
		want []string // the problems, in order
	}{
		{
			name: "accepts a key with a path of fields",
			text: "set `experts:services.api.deregistrationDelaySeconds` and `experts:release.api.migrate.imageDigest`",
			want: []string{"", ""},
		},
		{
			name: "accepts a provider key and a placeholder service",
			text: "`aws:region` and experts:services.<service>.desiredCount.",
			want: []string{"", ""},
		},
		{
			name: "refuses a key Pulumi.yaml does not declare",
			text: "`experts:releases`",
			want: []string{"Pulumi.yaml declares no key experts:releases (and no stack file sets it)"},
		},
		{
			name: "refuses a field the type does not have",
			text: "`experts:services.api.drainSeconds`",
			want: []string{"ServiceConfig has no field drainSeconds (fields: buildContext, containerPort, cpu, deregistrationDelaySeconds, desiredCount, dockerfile, enableExecuteCommand, environment, healthCheckCommand, healthCheckGracePeriodSeconds, healthCheckPath, maxPercent, memory, minHealthyPercent, secrets, stopTimeoutSeconds)"},
		},
		{
			name: "refuses a service that does not exist",
			text: "`experts:release.web.version`",
			want: []string{"no service web (services: api, mcp)"},
		},
		{
			name: "refuses a path under a scalar key",
			text: "`experts:logRetentionDays.days`",
			want: []string{"experts:logRetentionDays has no fields, or docs/configkeys_test.go does not know its type"},
		},
		{
			name: "ignores ARNs, type tokens and tags",
			text: "arn:aws:acm:eu-west-1:1:certificate/x, `experts:infra:Service` and `experts:service=<service>`",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, ref := range configKeyRefs(tt.text) {
				got = append(got, problem(known, ref))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestYAMLBlocksYieldEveryNestedKey(t *testing.T) {
	src := "experts:release:\n  api:\n    version: 1.4.2\n    migrate:\n      gitSha: abc\nother: 1\n"
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(src), &node); err != nil {
		t.Fatal(err)
	}
	want := []string{"experts:release", "experts:release.api", "experts:release.api.version", "experts:release.api.migrate", "experts:release.api.migrate.gitSha"}
	if diff := cmp.Diff(want, yamlConfigPaths(&node)); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}
