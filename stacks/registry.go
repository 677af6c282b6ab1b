package stacks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/experts/platform/infra"
)

// ImagesAPI is the part of the ECR client the release driver needs.
type ImagesAPI interface {
	infra.ImagesAPI
	infra.TagImagesAPI
}

// Registry looks images up in, and tags them in, a stack's ECR
// repositories. It implements ImageChecker, ImageTagger and
// DigestResolver.
type Registry struct{ API ImagesAPI }

// repositoryName is the repository of a repository URL
// "<account>.dkr.ecr.<region>.amazonaws.com/<name>", and its registry id.
func repositoryName(url string) (registryID, name string, err error) {
	host, name, ok := strings.Cut(url, "/")
	account, _, _ := strings.Cut(host, ".")
	if !ok || name == "" || !strings.Contains(host, ".dkr.ecr.") {
		return "", "", fmt.Errorf("%q is not an ECR repository URL", url)
	}
	return account, name, nil
}

// CheckReleasable implements ImageChecker with infra.CheckImageReleasable.
func (r Registry) CheckReleasable(ctx context.Context, url, digest string) error {
	registryID, name, err := repositoryName(url)
	if err != nil {
		return err
	}
	return infra.CheckImageReleasable(ctx, r.API, registryID, name, digest)
}

// TagRelease implements ImageTagger with infra.TagReleaseImage.
func (r Registry) TagRelease(ctx context.Context, url, digest string) error {
	_, name, err := repositoryName(url)
	if err != nil {
		return err
	}
	return infra.TagReleaseImage(ctx, r.API, name, digest)
}

// ErrNoSuchTag reports a repository without an image under the tag.
var ErrNoSuchTag = errors.New("no image under that tag")

// DigestForTag implements DigestResolver.
func (r Registry) DigestForTag(ctx context.Context, url, tag string) (string, error) {
	registryID, name, err := repositoryName(url)
	if err != nil {
		return "", err
	}
	// BatchGetImage, which the dev deploy roles hold (pushes need it).
	out, err := r.API.BatchGetImage(ctx, &ecr.BatchGetImageInput{
		RegistryId:     aws.String(registryID),
		RepositoryName: aws.String(name),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}},
	})
	if err != nil {
		return "", fmt.Errorf("look up %s:%s: %w", url, tag, err)
	}
	if len(out.Images) == 0 || out.Images[0].ImageId == nil {
		return "", fmt.Errorf("%w: %s:%s", ErrNoSuchTag, url, tag)
	}
	return aws.ToString(out.Images[0].ImageId.ImageDigest), nil
}
