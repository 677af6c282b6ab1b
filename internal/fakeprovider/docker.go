package fakeprovider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// contextDigest hashes a build the way it would come out of Docker: the
// context's files (path and content, .git left out), the Dockerfile, the
// build args and the platform. Paths are relative to the working directory
// the engine starts the plugin in, the program's directory.
func contextDigest(build resource.PropertyMap) (string, error) {
	dir := plainString(build["context"])
	if dir == "" {
		dir = "."
	}
	h := sha256.New()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read build context %s: %w", dir, err)
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f) //nolint:gosec // a file of the build context, as docker build reads it
		if err != nil {
			return "", fmt.Errorf("read build context: %w", err)
		}
		rel, _ := filepath.Rel(dir, f)
		fmt.Fprintf(h, "file %s %d\n", filepath.ToSlash(rel), len(data))
		h.Write(data)
	}
	dockerfile := plainString(build["dockerfile"])
	if dockerfile == "" {
		dockerfile = filepath.Join(dir, "Dockerfile")
	}
	df, err := os.ReadFile(dockerfile) //nolint:gosec // the build's Dockerfile, as docker build reads it
	if err != nil {
		return "", fmt.Errorf("read Dockerfile: %w", err)
	}
	fmt.Fprintf(h, "dockerfile %d\n", len(df))
	h.Write(df)
	if args, ok := plain(build["args"]).(map[string]any); ok {
		keys := make([]string, 0, len(args))
		for k := range args {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "arg %s=%v\n", k, args[k])
		}
	}
	fmt.Fprintf(h, "platform %s\n", plainString(build["platform"]))
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// addContextDigest records the build's digest in its inputs, as
// pulumi-docker's Check does, so that a changed file is a diff.
func addContextDigest(inputs resource.PropertyMap) error {
	b := inputs["build"]
	if !b.IsObject() {
		return fmt.Errorf("build is required: the fake docker provider builds images, it does not pull them")
	}
	build := b.ObjectValue()
	if build.ContainsUnknowns() {
		return nil
	}
	digest, err := contextDigest(build)
	if err != nil {
		return err
	}
	build["contextDigest"] = resource.NewProperty(digest)
	return nil
}

// splitImage splits "<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>".
func splitImage(name string) (account, repo, tag string, err error) {
	host, path, ok := strings.Cut(name, "/")
	if !ok || !strings.Contains(host, ".dkr.ecr.") {
		return "", "", "", fmt.Errorf("image %q is not in an ECR registry", name)
	}
	account, _, _ = strings.Cut(host, ".")
	repo, tag = path, "latest"
	if i := strings.LastIndex(path, ":"); i >= 0 {
		repo, tag = path[:i], path[i+1:]
	}
	return account, repo, tag, nil
}

// manifest is the image manifest of a build: its digest in the registry
// is the digest of this text.
func manifest(contextDigest string) string {
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": contextDigest, "size": 1024},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": contextDigest, "size": 4096}},
	})
	return string(m)
}

func (p *Provider) createDocker(ctx context.Context, sim *simClient, typ string, inputs resource.PropertyMap) (string, resource.PropertyMap, error) {
	state := inputs.Copy()
	switch typ {
	case "docker:index/image:Image":
		name := plainString(inputs["imageName"])
		account, repo, tag, err := splitImage(name)
		if err != nil {
			return "", nil, err
		}
		build := unwrap(inputs["build"]).ObjectValue()
		digest, err := contextDigest(build)
		if err != nil {
			return "", nil, err
		}
		var out struct {
			Image struct {
				ImageID struct {
					ImageDigest string `json:"imageDigest"`
				} `json:"imageId"`
			} `json:"image"`
		}
		if err := sim.ecr(ctx, "PutImage", map[string]any{"registryId": account, "repositoryName": repo, "imageTag": tag,
			"imageManifest": manifest(digest), "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"}, &out); err != nil {
			return "", nil, fmt.Errorf("push %s: %w", name, err)
		}
		host, _, _ := strings.Cut(name, "/")
		repoName := name[:len(name)-len(tag)-1]
		state["repoDigest"] = resource.NewProperty(repoName + "@" + out.Image.ImageID.ImageDigest)
		state["baseImageName"] = resource.NewProperty(name)
		state["registryServer"] = resource.NewProperty(host)
		state["platform"] = resource.NewProperty(plainString(build["platform"]))
		state["context"] = resource.NewProperty(plainString(build["context"]))
		state["dockerfile"] = resource.NewProperty(plainString(build["dockerfile"]))
		return name, state, nil
	case "docker:index/tag:Tag":
		src := plainString(inputs["sourceImage"])
		sum := sha256.Sum256([]byte(src))
		state["sourceImageId"] = resource.NewProperty("sha256:" + hex.EncodeToString(sum[:]))
		return src + "-" + plainString(inputs["targetImage"]), state, nil
	case "docker:index/registryImage:RegistryImage":
		name := plainString(inputs["name"])
		account, repo, tag, err := splitImage(name)
		if err != nil {
			return "", nil, err
		}
		triggers, _ := plain(inputs["triggers"]).(map[string]any)
		ref, _ := triggers["digest"].(string)
		_, digest, ok := strings.Cut(ref, "@")
		if !ok {
			return "", nil, fmt.Errorf("push %s: the fake docker provider pushes a tag of a built image, named by triggers.digest (<repo>@sha256:...)", name)
		}
		var got struct {
			Images []struct {
				ImageManifest string `json:"imageManifest"`
			} `json:"images"`
		}
		if err := sim.ecr(ctx, "BatchGetImage", map[string]any{"registryId": account, "repositoryName": repo,
			"imageIds": []any{map[string]any{"imageDigest": digest}}}, &got); err != nil {
			return "", nil, fmt.Errorf("push %s: %w", name, err)
		}
		if len(got.Images) == 0 {
			return "", nil, fmt.Errorf("push %s: image %s is not in repository %s", name, digest, repo)
		}
		if err := sim.ecr(ctx, "PutImage", map[string]any{"registryId": account, "repositoryName": repo, "imageTag": tag,
			"imageManifest": got.Images[0].ImageManifest, "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"}, nil); err != nil {
			return "", nil, fmt.Errorf("push %s: %w", name, err)
		}
		state["sha256Digest"] = resource.NewProperty(digest)
		return name, state, nil
	}
	return "", nil, fmt.Errorf("the fake docker provider does not create %s", typ)
}

func (p *Provider) deleteDocker(ctx context.Context, sim *simClient, typ string, state resource.PropertyMap) error {
	if typ != "docker:index/registryImage:RegistryImage" {
		return nil // images stay in the registry; a local tag is nothing remote
	}
	if keep := unwrap(state["keepRemotely"]); keep.IsBool() && keep.BoolValue() {
		return nil
	}
	account, repo, tag, err := splitImage(plainString(state["name"]))
	if err != nil {
		return err
	}
	return sim.ecr(ctx, "BatchDeleteImage", map[string]any{"registryId": account, "repositoryName": repo,
		"imageIds": []any{map[string]any{"imageTag": tag}}}, nil)
}
