package infra

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra/mockaws"
)

const (
	typeDockerTag           = "docker:index/tag:Tag"
	typeDockerRegistryImage = "docker:index/registryImage:RegistryImage"
	invokeECRToken          = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
	devSha                  = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
)

func TestImageTags(t *testing.T) {
	tests := []struct {
		name    string
		service string
		ref     string
		want    []string
	}{
		{name: "a branch gets its latest tag", service: "api", ref: "main", want: []string{devSha, "main-latest"}},
		{name: "a branch with a slash becomes a valid tag", service: "mcp", ref: "feature/login", want: []string{devSha, "feature-login-latest"}},
		{name: "a release tag gets its version", service: "api", ref: "api-v1.4.2", want: []string{devSha, "1.4.2"}},
		{name: "another service's release tag is a branch name here", service: "mcp", ref: "api-v1.4.2", want: []string{devSha, "api-v1.4.2-latest"}},
		{name: "a version that is not semantic is a branch name", service: "api", ref: "api-vnext", want: []string{devSha, "api-vnext-latest"}},
		{name: "a branch named like a release tag cannot claim its protection", service: "api", ref: "release-2026",
			want: []string{devSha, "branch-release-2026-latest"}},
		{
			name: "a long branch keeps the tag within 128 characters", service: "api", ref: strings.Repeat("b", 200),
			want: []string{devSha, strings.Repeat("b", 121) + "-latest"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ImageTags(tt.service, Release{Version: "1.4.2", GitSha: devSha, Ref: tt.ref})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImageDevBuildsAndPushesEveryTag(t *testing.T) {
	rr := runRuntime(t, "dev", nil)
	for _, svc := range Services {
		t.Run(svc, func(t *testing.T) {
			repo := "210987654321.dkr.ecr.eu-west-1.amazonaws.com/experts/" + svc
			img := rr.one(t, typeDockerImage, "runtime-"+svc+"-image")
			got := map[string]any{}
			for _, k := range []string{"imageName", "build", "buildOnPreview", "skipPush", "registry"} {
				got[k] = img.Inputs[k]
			}
			want := map[string]any{
				"imageName": repo + ":" + devSha,
				"build": map[string]any{
					"context":    "app/" + svc,
					"dockerfile": "app/" + svc + "/Dockerfile",
					"platform":   "linux/amd64",
					"args":       map[string]any{"VERSION": "0.9.0", "GIT_SHA": devSha},
				},
				"buildOnPreview": false,
				"skipPush":       false,
				"registry": map[string]any{
					"server":   "210987654321.dkr.ecr.eu-west-1.amazonaws.com",
					"username": "AWS",
					"password": mockaws.SecretMarker,
				},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("image build (-want +got):\n%s", diff)
			}

			tag := rr.one(t, typeDockerTag, "runtime-"+svc+"-image-branch")
			push := rr.one(t, typeDockerRegistryImage, "runtime-"+svc+"-image-branch")
			image := rr.containers(t, "runtime-"+svc+"-taskdef")[0].Image
			if !strings.HasPrefix(image, repo+"@sha256:") || !imageByDigest.MatchString(image) {
				t.Fatalf("task definition runs %s, want %s@sha256:…", image, repo)
			}
			gotTag := map[string]any{
				"source": tag.Inputs["sourceImage"], "target": tag.Inputs["targetImage"], "triggers": tag.Inputs["tagTriggers"],
				"push": push.Inputs["name"], "keepRemotely": push.Inputs["keepRemotely"], "pushTriggers": push.Inputs["triggers"],
				"auth": push.Inputs["authConfig"],
			}
			wantTag := map[string]any{
				"source": repo + ":" + devSha, "target": repo + ":main-latest", "triggers": []any{image},
				"push": repo + ":main-latest", "keepRemotely": true, "pushTriggers": map[string]any{"digest": image},
				"auth": map[string]any{
					"address":  "210987654321.dkr.ecr.eu-west-1.amazonaws.com",
					"username": "AWS",
					"password": mockaws.SecretMarker,
				},
			}
			if diff := cmp.Diff(wantTag, gotTag); diff != "" {
				t.Errorf("branch tag (-want +got):\n%s", diff)
			}
		})
	}
	if n := rr.mocks.Invokes()[invokeECRToken]; n != 1 {
		t.Errorf("ECR token read %d times, want once", n)
	}
}

func TestImageReleaseTagPushesTheVersion(t *testing.T) {
	rr := runRuntime(t, "dev", func(v map[string]string) {
		setJSON(t, v, KeyRelease, "api.ref", "api-v0.9.0")
	})
	push := rr.one(t, typeDockerRegistryImage, "runtime-api-image-version")
	if got, want := push.Inputs["name"], "210987654321.dkr.ecr.eu-west-1.amazonaws.com/experts/api:0.9.0"; got != want {
		t.Errorf("pushed %v, want %s", got, want)
	}
	var names []string
	for _, r := range rr.ofType(typeDockerRegistryImage) {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"runtime-api-image-version", "runtime-mcp-image-branch"}, names); diff != "" {
		t.Errorf("pushed tags (-want +got):\n%s", diff)
	}
}

func TestImageProdBuildsNothing(t *testing.T) {
	rr := runRuntime(t, "prod", nil)
	for _, typ := range []string{typeDockerImage, typeDockerTag, typeDockerRegistryImage, "experts:infra:Image"} {
		if got := rr.ofType(typ); len(got) > 0 {
			t.Errorf("prod declares %d %s", len(got), typ)
		}
	}
	if n := rr.mocks.Invokes()[invokeECRToken]; n != 0 {
		t.Errorf("prod read an ECR token %d times; it pushes nothing", n)
	}
	for svc, digest := range map[string]string{
		"api": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		"mcp": "sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
	} {
		want := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/experts/" + svc + "@" + digest
		if got := rr.containers(t, "runtime-"+svc+"-taskdef")[0].Image; got != want {
			t.Errorf("%s runs %s, want %s", svc, got, want)
		}
	}
}

func TestImageDevDeploysAGivenDigestWithoutBuilding(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	rr := runRuntime(t, "dev", func(v map[string]string) { setJSON(t, v, KeyRelease, "mcp.imageDigest", digest) })
	var built []string
	for _, r := range rr.ofType(typeDockerImage) {
		built = append(built, r.Name)
	}
	if diff := cmp.Diff([]string{"runtime-api-image"}, built); diff != "" {
		t.Errorf("built images (-want +got):\n%s", diff)
	}
	if got, want := rr.containers(t, "runtime-mcp-taskdef")[0].Image, "210987654321.dkr.ecr.eu-west-1.amazonaws.com/experts/mcp@"+digest; got != want {
		t.Errorf("mcp runs %s, want %s", got, want)
	}
}
