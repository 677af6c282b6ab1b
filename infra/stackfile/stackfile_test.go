package stackfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const project = `name: demo
runtime: go
config:
  demo:count:
    type: integer
    default: 3
  demo:flag:
    type: boolean
    default: false
  demo:settings:
    type: object
`

func writeProject(t *testing.T, stack string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(project), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.dev.yaml"), []byte(stack), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name       string
		stack      string
		want       map[string]string
		wantSecret []string
		wantErr    string
	}{
		{
			name: "objects become JSON and project defaults fill unset keys",
			stack: `config:
  aws:region: eu-west-1
  demo:flag: true
  demo:settings:
    name: x
    sizes: [1, 2]
`,
			want: map[string]string{
				"aws:region":    "eu-west-1",
				"demo:flag":     "true",
				"demo:count":    "3",
				"demo:settings": `{"name":"x","sizes":[1,2]}`,
			},
		},
		{
			name: "secure values are shown as [secret] and never decrypted",
			stack: `config:
  demo:token:
    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB
`,
			want: map[string]string{
				"demo:token": "[secret]",
				"demo:count": "3",
				"demo:flag":  "false",
			},
			wantSecret: []string{"demo:token"},
		},
		{
			name: "a value of the wrong declared type is refused",
			stack: `config:
  demo:count: many
`,
			wantErr: "demo:count in Pulumi.dev.yaml: the value is not of the declared type integer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(writeProject(t, tt.stack), "dev")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSecret, got.SecretKeys); diff != "" {
				t.Errorf("secret keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadMissingStackNamesTheStacksThatExist(t *testing.T) {
	dir := writeProject(t, "config: {}\n")
	_, err := Load(dir, "staging")
	if !errors.Is(err, ErrNoStackFile) {
		t.Fatalf("Load() error = %v, want ErrNoStackFile", err)
	}
	if !strings.Contains(err.Error(), "stacks here: dev") {
		t.Errorf("error %q does not list the existing stacks", err)
	}
}
