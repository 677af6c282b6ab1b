package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/smoke"
)

// stackService is what a stack file says about a service's image.
type stackService struct {
	ContainerPort   int    `yaml:"containerPort"`
	HealthCheckPath string `yaml:"healthCheckPath"`
	BuildContext    string `yaml:"buildContext"`
	Dockerfile      string `yaml:"dockerfile"`
}

// TestStackFilesBuildTheApplication checks that every stack file's services
// build from the application under app/ and that each Dockerfile gives the
// platform what it relies on: the VERSION and GIT_SHA build args reported at
// runtime, a non-root user, the container port, a health command in exec
// form, and for the api the migration command the migration task runs.
func TestStackFilesBuildTheApplication(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, stack := range []string{"dev", "prod"} {
		var file struct {
			Config struct {
				Services map[string]stackService `yaml:"experts:services"`
			} `yaml:"config"`
		}
		raw, err := os.ReadFile(filepath.Join(root, "Pulumi."+stack+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(raw, &file); err != nil {
			t.Fatalf("Pulumi.%s.yaml: %v", stack, err)
		}
		for _, name := range []string{"api", "mcp"} {
			t.Run(stack+" "+name+" builds from app/"+name, func(t *testing.T) {
				svc, ok := file.Config.Services[name]
				if !ok {
					t.Fatalf("Pulumi.%s.yaml has no experts:services.%s", stack, name)
				}
				if svc.BuildContext != "app/"+name || svc.Dockerfile != "app/"+name+"/Dockerfile" {
					t.Errorf("buildContext %q, dockerfile %q; want app/%s and app/%s/Dockerfile", svc.BuildContext, svc.Dockerfile, name, name)
				}
				if svc.HealthCheckPath != smoke.PathHealth {
					t.Errorf("healthCheckPath %q, want %s (what the application serves and the smoke gate checks)", svc.HealthCheckPath, smoke.PathHealth)
				}
				checkDockerfile(t, filepath.Join(root, filepath.FromSlash(svc.Dockerfile)), svc.ContainerPort)
			})
		}
	}

	t.Run("the api image runs the migration command from its workdir", func(t *testing.T) {
		df := readFile(t, filepath.Join(root, "app", "api", "Dockerfile"))
		if !regexp.MustCompile(`(?m)^WORKDIR /app$`).MatchString(df) || !strings.Contains(df, "COPY scripts ./scripts") {
			t.Errorf("app/api/Dockerfile must have WORKDIR /app and copy scripts/ there: the migration task runs %v relative to it", infra.MigrationCommand)
		}
		script := filepath.Join(root, "app", "api", filepath.FromSlash(infra.MigrationCommand[0]))
		info, err := os.Stat(script)
		if err != nil || info.Mode().Perm()&0o111 == 0 {
			t.Errorf("the migration command %v must be an executable file in app/api: %v", infra.MigrationCommand, err)
		}
	})
}

func checkDockerfile(t *testing.T, path string, port int) {
	t.Helper()
	df := readFile(t, path)
	has := func(pattern string) bool { return regexp.MustCompile(`(?m)` + pattern).MatchString(df) }
	for _, arg := range []string{"VERSION", "GIT_SHA"} {
		if !has(`^ARG ` + arg + `\b`) {
			t.Errorf("%s: no ARG %s: the build passes it and /version reports it", path, arg)
		}
		if !has(`\b` + arg + `=\$` + arg + `\b`) {
			t.Errorf("%s: ARG %s is not put into the environment (ENV %s=$%s)", path, arg, arg, arg)
		}
	}
	if !has(`\bPORT=`+strconv.Itoa(port)+`\b`) || !has(`^EXPOSE `+strconv.Itoa(port)+`$`) {
		t.Errorf("%s: want ENV PORT=%d and EXPOSE %d, the stack's containerPort", path, port, port)
	}
	users := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllStringSubmatch(df, -1)
	if len(users) == 0 {
		t.Errorf("%s: no USER: the container would run as root", path)
	} else if last := strings.Split(users[len(users)-1][1], ":")[0]; slices.Contains([]string{"root", "0"}, last) {
		t.Errorf("%s: runs as %s, want an unprivileged user", path, last)
	}
	if !has(`^HEALTHCHECK(?:[^\n]*\\\n)*[^\n]*CMD \[`) {
		t.Errorf("%s: no HEALTHCHECK in exec form: the health command must run without a shell", path)
	}
}
