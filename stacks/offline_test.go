package stacks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/experts/platform/infra"
)

// repoRoot is where Pulumi.yaml and the stack files live.
const repoRoot = ".."

func TestPreviewOfflineIsDeterministic(t *testing.T) {
	render := func() []byte {
		plan, err := PreviewOffline(context.Background(), repoRoot, "dev")
		if err != nil {
			t.Fatalf("PreviewOffline: %v", err)
		}
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(plan); err != nil {
			t.Fatal(err)
		}
		if err := plan.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	first, second := render(), render()
	if !bytes.Equal(first, second) {
		t.Fatal("two offline previews of the same program and config differ")
	}
}

func TestPreviewOfflineExportsEveryOutputReaders(t *testing.T) {
	want := []string{
		OutputClusterName, OutputClusterArn, OutputTaskSubnetIDs, OutputTaskSecurityGroupID,
		OutputAlbDNSName, OutputSiteBucketName, OutputSiteDistributionID, OutputSiteDistributionArn,
		OutputSiteURL, OutputOIDCProviderArn, OutputInfraRoleArn, OutputPreviewRoleArn,
		OutputFrontendDeployRoleArn, OutputAccountID, OutputRegion, OutputEnvironment, OutputRelease,
		ServiceOutput(infra.ServiceAPI, SuffixMigrationTaskDefinitionArn),
		ServiceOutput(infra.ServiceAPI, SuffixMigrationContainerName),
		ServiceOutput(infra.ServiceAPI, SuffixMigrationImage),
	}
	for _, svc := range infra.Services {
		for _, suffix := range []string{SuffixServiceName, SuffixServiceArn, SuffixTaskDefinitionArn,
			SuffixContainerName, SuffixLogGroupName, SuffixRepositoryURL, SuffixTargetGroupArn, SuffixURL, SuffixDeployRoleArn,
			SuffixImage} {
			want = append(want, ServiceOutput(svc, suffix))
		}
	}
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			plan, err := PreviewOffline(context.Background(), repoRoot, stack)
			if err != nil {
				t.Fatalf("PreviewOffline: %v", err)
			}
			for _, key := range want {
				v, ok := plan.Outputs[key]
				if !ok {
					t.Errorf("output %s is missing", key)
					continue
				}
				if s, isString := v.(string); isString && (s == "" || strings.HasPrefix(s, "[")) {
					t.Errorf("output %s = %q, want a value", key, s)
				}
			}
			if m := plan.Mandatory(); len(m) > 0 {
				t.Errorf("mandatory violations: %v", m)
			}
		})
	}
}

func TestPreviewOfflineReportsConfigErrors(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join(repoRoot, "Pulumi.yaml"), filepath.Join(dir, "Pulumi.yaml"))
	stackFile, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(stackFile), `experts:accountId: "210987654321"`, `experts:accountId: "2109"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.dev.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, stack := range map[string]string{"a bad value": "dev", "a missing stack file": "qa"} {
		t.Run(name, func(t *testing.T) {
			_, err := PreviewOffline(context.Background(), dir, stack)
			var cerr *ConfigError
			if !errors.As(err, &cerr) {
				t.Fatalf("error = %v, want a *ConfigError", err)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
