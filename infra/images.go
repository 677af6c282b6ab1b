package infra

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Image is one service's image built from its context and pushed to its
// repository under every tag of the release.
type Image struct {
	pulumi.ResourceState

	// Ref is the pushed image by digest, "<repository>@sha256:…": what
	// task definitions run.
	Ref pulumi.StringOutput
	// Tags are the tags pushed, the first one by the build itself.
	Tags []string
}

// ImageArgs configures a build.
type ImageArgs struct {
	Service string
	Release Release
	// Context and Dockerfile are paths relative to the program's directory.
	Context    string
	Dockerfile string
	// RepositoryURL is the service's repository, without a tag.
	RepositoryURL pulumi.StringInput
	Auth          RegistryAuth
}

// RegistryAuth is the login to the account's ECR registry.
type RegistryAuth struct {
	Username pulumi.StringInput
	Password pulumi.StringInput // secret
}

// ImagePlatform is the platform images are built for and task definitions
// run on.
const ImagePlatform = "linux/amd64"

// invalidTagChars are the characters a Docker tag may not hold.
var invalidTagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// ImageTags returns the tags a release pushes: ":<sha>" always, then
// ":<branch>-latest" for a branch or ":X.Y.Z" for a "<service>-vX.Y.Z"
// release tag.
func ImageTags(service string, r Release) []string {
	tags := []string{r.GitSha}
	if v := r.ReleaseTagVersion(service); v != "" {
		return append(tags, v)
	}
	branch := strings.TrimLeft(invalidTagChars.ReplaceAllString(r.Ref, "-"), ".-")
	const maxTag, suffix = 128, "-latest"
	if len(branch) > maxTag-len(suffix) {
		branch = branch[:maxTag-len(suffix)]
	}
	tag := branch + suffix
	if isReleaseTag(tag) {
		// Only a release's ReleaseTag may carry the prefix the lifecycle
		// policy never expires.
		tag = "branch-" + tag
		if len(tag) > maxTag {
			tag = tag[:maxTag-len(suffix)] + suffix
		}
	}
	return append(tags, tag)
}

// NewImage builds and pushes one service's image. Previews never build:
// a pull request's preview must not push images.
func NewImage(ctx *pulumi.Context, name string, args *ImageArgs, opts ...pulumi.ResourceOption) (*Image, error) {
	if args == nil || args.Service == "" || args.Context == "" || args.Dockerfile == "" || args.RepositoryURL == nil ||
		args.Auth.Username == nil || args.Auth.Password == nil {
		return nil, fmt.Errorf("image %s: service, context, dockerfile, repository and registry login are required", name)
	}
	if !args.Release.Builds() {
		return nil, fmt.Errorf("image %s: the release deploys %s and builds nothing", name, args.Release.ImageDigest)
	}
	img := &Image{Tags: ImageTags(args.Service, args.Release)}
	if err := ctx.RegisterComponentResource("experts:infra:Image", name, img, opts...); err != nil {
		return nil, fmt.Errorf("register image %s: %w", name, err)
	}
	parent := pulumi.Parent(img)
	// The registry is the host part of the repository URL.
	server := args.RepositoryURL.ToStringOutput().ApplyT(func(repo string) string {
		host, _, _ := strings.Cut(repo, "/")
		return host
	}).(pulumi.StringOutput)
	tagged := func(tag string) pulumi.StringOutput {
		return args.RepositoryURL.ToStringOutput().ApplyT(func(repo string) string { return repo + ":" + tag }).(pulumi.StringOutput)
	}

	built, err := docker.NewImage(ctx, name, &docker.ImageArgs{
		ImageName: tagged(img.Tags[0]),
		Build: &docker.DockerBuildArgs{
			Context:    pulumi.String(args.Context),
			Dockerfile: pulumi.String(args.Dockerfile),
			Platform:   pulumi.String(ImagePlatform),
			Args: pulumi.StringMap{
				"VERSION": pulumi.String(args.Release.Version),
				"GIT_SHA": pulumi.String(args.Release.GitSha),
			},
		},
		BuildOnPreview: pulumi.Bool(false),
		SkipPush:       pulumi.Bool(false),
		Registry: &docker.RegistryArgs{
			Server:   server,
			Username: args.Auth.Username,
			Password: args.Auth.Password,
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("declare image build %s: %w", args.Service, err)
	}
	img.Ref = built.RepoDigest

	// The other tags point at the same local image and are pushed on their
	// own; the registry stores no new layers, only the tag.
	for _, tag := range img.Tags[1:] {
		role := "branch"
		if tag == args.Release.ReleaseTagVersion(args.Service) {
			role = "version"
		}
		local, err := docker.NewTag(ctx, name+"-"+role, &docker.TagArgs{
			SourceImage: built.ImageName,
			TargetImage: tagged(tag),
			TagTriggers: pulumi.StringArray{built.RepoDigest},
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("declare tag %s: %w", tag, err)
		}
		if _, err := docker.NewRegistryImage(ctx, name+"-"+role, &docker.RegistryImageArgs{
			Name: local.TargetImage,
			// Replacing or deleting this resource must never delete the
			// image: it is the digest that releases and rollbacks run.
			KeepRemotely: pulumi.Bool(true),
			Triggers:     pulumi.StringMap{"digest": built.RepoDigest},
			AuthConfig: &docker.RegistryImageAuthConfigArgs{
				Address:  server,
				Username: args.Auth.Username,
				Password: args.Auth.Password,
			},
		}, parent); err != nil {
			return nil, fmt.Errorf("declare push of tag %s: %w", tag, err)
		}
	}

	if err := ctx.RegisterResourceOutputs(img, pulumi.Map{
		"ref":  img.Ref,
		"tags": pulumi.ToStringArray(img.Tags),
	}); err != nil {
		return nil, fmt.Errorf("register image outputs: %w", err)
	}
	return img, nil
}
