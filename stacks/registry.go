package stacks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// ImagesAPI is the part of the ECR client the release driver needs:
// BatchGetImage, which the deploy roles may call on their own repository.
type ImagesAPI interface {
	BatchGetImage(ctx context.Context, in *ecr.BatchGetImageInput, optFns ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
}

// Registry looks images up in a stack's ECR repositories. It implements
// ImageChecker and DigestResolver.
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

func (r Registry) get(ctx context.Context, url string, id ecrtypes.ImageIdentifier) (*ecrtypes.Image, error) {
	registryID, name, err := repositoryName(url)
	if err != nil {
		return nil, err
	}
	out, err := r.API.BatchGetImage(ctx, &ecr.BatchGetImageInput{
		RegistryId:         aws.String(registryID),
		RepositoryName:     aws.String(name),
		ImageIds:           []ecrtypes.ImageIdentifier{id},
		AcceptedMediaTypes: []string{"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"},
	})
	if err != nil {
		return nil, fmt.Errorf("look up image in %s: %w", url, err)
	}
	if len(out.Failures) > 0 {
		f := out.Failures[0]
		if f.FailureCode == ecrtypes.ImageFailureCodeImageNotFound || f.FailureCode == ecrtypes.ImageFailureCodeImageTagDoesNotMatchDigest {
			return nil, nil
		}
		return nil, fmt.Errorf("look up image in %s: %s: %s", url, f.FailureCode, aws.ToString(f.FailureReason))
	}
	if len(out.Images) == 0 {
		return nil, nil
	}
	return &out.Images[0], nil
}

// ImageExists implements ImageChecker.
func (r Registry) ImageExists(ctx context.Context, url, digest string) (bool, error) {
	img, err := r.get(ctx, url, ecrtypes.ImageIdentifier{ImageDigest: aws.String(digest)})
	return img != nil, err
}

// ErrNoSuchTag reports a repository without an image under the tag.
var ErrNoSuchTag = errors.New("no image under that tag")

// DigestForTag implements DigestResolver.
func (r Registry) DigestForTag(ctx context.Context, url, tag string) (string, error) {
	img, err := r.get(ctx, url, ecrtypes.ImageIdentifier{ImageTag: aws.String(tag)})
	if err != nil {
		return "", err
	}
	if img == nil || img.ImageId == nil {
		return "", fmt.Errorf("%w: %s:%s", ErrNoSuchTag, url, tag)
	}
	return aws.ToString(img.ImageId.ImageDigest), nil
}
