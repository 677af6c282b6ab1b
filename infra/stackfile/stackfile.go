// Package stackfile reads a project's Pulumi.yaml and one stack's
// Pulumi.<stack>.yaml the way the engine does, into the configuration a
// program receives: full keys mapped to text (objects as JSON). Secure
// values are never decrypted: they read "[secret]" and are listed as secret
// keys.
package stackfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// Config is a stack's configuration as the engine hands it to a program.
type Config struct {
	Project string
	Stack   string
	// Values maps full keys ("experts:accountId", "aws:region") to text;
	// object values are JSON.
	Values map[string]string
	// SecretKeys are the keys whose values are secure (shown "[secret]").
	SecretKeys []string
}

// ErrNoStackFile is returned when the stack has no Pulumi.<stack>.yaml.
var ErrNoStackFile = errors.New("no stack file")

// Load reads Pulumi.yaml in dir and the stack's file next to it, applies
// the project's config defaults to keys the stack leaves unset, and checks
// the values of declared keys against their declared types.
func Load(dir, stack string) (*Config, error) {
	if stack == "" || strings.ContainsAny(stack, `/\`) {
		return nil, fmt.Errorf("stack name %q is not a plain name such as dev", stack)
	}
	projectPath := filepath.Join(dir, "Pulumi.yaml")
	project, err := workspace.LoadProject(projectPath)
	if err != nil {
		return nil, fmt.Errorf("load project: %w", err)
	}
	stackPath := filepath.Join(dir, "Pulumi."+stack+".yaml")
	if _, err := os.Stat(stackPath); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist (stacks here: %s)", ErrNoStackFile, stackPath, strings.Join(stacksIn(dir), ", "))
		}
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	sink := diag.DefaultSink(nopWriter{}, nopWriter{}, diag.FormatOptions{Color: colors.Never})
	ps, err := workspace.LoadProjectStack(sink, project, stackPath)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", stackPath, err)
	}

	name := project.Name.String()
	out := &Config{Project: name, Stack: stack, Values: map[string]string{}}
	for key, value := range ps.Config {
		full := key.String()
		text, err := value.Value(config.NewBlindingDecrypter())
		if err != nil {
			return nil, fmt.Errorf("read config %s: %w", full, err)
		}
		if value.Secure() || hasSecureParts(value) {
			out.SecretKeys = append(out.SecretKeys, full)
		}
		out.Values[full] = text
		if decl, ok := declaration(project, name, full); ok && decl.IsExplicitlyTyped() {
			obj, err := value.ToObject()
			if err != nil {
				return nil, fmt.Errorf("read config %s: %w", full, err)
			}
			if !value.Secure() && !workspace.ValidateConfigValue(decl.TypeName(), decl.Items, obj) {
				return nil, fmt.Errorf("config %s in %s: the value is not of the declared type %s",
					full, filepath.Base(stackPath), workspace.InferFullTypeName(decl.TypeName(), decl.Items))
			}
		}
	}
	// Project defaults, for keys of the project's namespace the stack does
	// not set.
	for key, decl := range project.Config {
		full := key
		if !strings.Contains(full, ":") {
			full = name + ":" + full
		}
		if _, set := out.Values[full]; set || decl.Default == nil {
			continue
		}
		text, err := defaultText(decl.Default)
		if err != nil {
			return nil, fmt.Errorf("default of %s in Pulumi.yaml: %w", full, err)
		}
		out.Values[full] = text
	}
	sort.Strings(out.SecretKeys)
	return out, nil
}

func declaration(project *workspace.Project, name, full string) (workspace.ProjectConfigType, bool) {
	if decl, ok := project.Config[full]; ok {
		return decl, true
	}
	short, ok := strings.CutPrefix(full, name+":")
	if !ok {
		return workspace.ProjectConfigType{}, false
	}
	decl, ok := project.Config[short]
	return decl, ok
}

func hasSecureParts(v config.Value) bool {
	secure, err := v.SecureValues(config.NewBlindingDecrypter())
	return err == nil && len(secure) > 0
}

func defaultText(v any) (string, error) {
	switch d := v.(type) {
	case string:
		return d, nil
	case bool, int, int64, float64, uint64:
		return fmt.Sprint(d), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// stacksIn lists the stacks that have a file in dir.
func stacksIn(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "Pulumi."), ".yaml"))
	}
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
