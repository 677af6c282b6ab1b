package infra

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// Images a release ran never expire. The contract with the release driver:
//
//   - in dev, after a release's rollout is verified, the driver tags the
//     digest it ran with ReleaseTag (TagReleaseImage, as the service's dev
//     deploy role);
//   - every repository's lifecycle policy never expires an image carrying
//     a tag with ReleaseTagPrefix (its first rule), in dev and in prod;
//   - prod's roles push nothing: the tag reaches prod by replication, since
//     ECR replicates every image push, and putting a tag is a push of the
//     manifest under that tag;
//   - before prod references a digest, the release preflight calls
//     CheckImageReleasable in prod: the digest must be in prod's repository
//     and carry its release tag there; its error says how to backfill.
//
// Prod only ever runs digests that dev released, so a digest prod runs, or
// could roll back to, is protected in both accounts.

// ReleaseTagPrefix starts the tag of every digest a release ran.
const ReleaseTagPrefix = "release-"

// ReleaseTag is the tag that protects a digest a release ran:
// "release-<the digest's 64 hex digits>", one per digest, so that tagging
// again is harmless.
func ReleaseTag(digest string) (string, error) {
	if !digestPattern.MatchString(digest) {
		return "", fmt.Errorf("image digest %q is not sha256:<64 hex digits>", digest)
	}
	return ReleaseTagPrefix + strings.TrimPrefix(digest, "sha256:"), nil
}

// ImagesAPI is the part of the ECR client the release image checks use.
type ImagesAPI interface {
	DescribeImages(ctx context.Context, in *ecr.DescribeImagesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// TagImagesAPI is the part of the ECR client TagReleaseImage uses.
type TagImagesAPI interface {
	BatchGetImage(ctx context.Context, in *ecr.BatchGetImageInput, optFns ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
	PutImage(ctx context.Context, in *ecr.PutImageInput, optFns ...func(*ecr.Options)) (*ecr.PutImageOutput, error)
}

// ErrImageNotReleasable means the digest is missing from the registry, or
// is there without its release tag.
var ErrImageNotReleasable = errors.New("image not releasable")

// backfillHint says how to get a digest, with its release tag, into the
// other account's registry: put the release tag on it in dev, which
// replication copies (with the image, if it is not there yet).
func backfillHint(repository, digest, tag string) string {
	return fmt.Sprintf("backfill it from dev, with the dev deploy role (replication copies the push): "+
		"aws ecr batch-get-image --repository-name %s --image-ids imageDigest=%s --query 'images[0].imageManifest' --output text > manifest.json && "+
		"aws ecr put-image --repository-name %s --image-tag %s --image-manifest file://manifest.json; "+
		"if dev's replication to this account was set up after the image was pushed, that put-image is what copies it",
		repository, digest, repository, tag)
}

// CheckImageReleasable verifies that digest is in repository of the
// registry registryID (the stack's account) and carries its release tag,
// so that a task definition may reference it and the lifecycle policy
// keeps it.
func CheckImageReleasable(ctx context.Context, api ImagesAPI, registryID, repository, digest string) error {
	tag, err := ReleaseTag(digest)
	if err != nil {
		return err
	}
	out, err := api.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId:     aws.String(registryID),
		RepositoryName: aws.String(repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
	})
	var notFound *ecrtypes.ImageNotFoundException
	switch {
	case errors.As(err, &notFound) || (err == nil && len(out.ImageDetails) == 0):
		return fmt.Errorf("%w: %s is not in repository %s of account %s: %s",
			ErrImageNotReleasable, digest, repository, registryID, backfillHint(repository, digest, tag))
	case err != nil:
		return fmt.Errorf("describe image %s in %s: %w", digest, repository, err)
	}
	for _, d := range out.ImageDetails {
		for _, t := range d.ImageTags {
			if t == tag {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s is in repository %s of account %s without its release tag %s, so its lifecycle policy may expire it: %s",
		ErrImageNotReleasable, digest, repository, registryID, tag, backfillHint(repository, digest, tag))
}

// TagReleaseImage puts the release tag on digest in repository (dev). A
// digest that already carries it is left as it is.
func TagReleaseImage(ctx context.Context, api TagImagesAPI, repository, digest string) error {
	tag, err := ReleaseTag(digest)
	if err != nil {
		return err
	}
	got, err := api.BatchGetImage(ctx, &ecr.BatchGetImageInput{
		RepositoryName:     aws.String(repository),
		ImageIds:           []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
		AcceptedMediaTypes: manifestMediaTypes,
	})
	if err != nil {
		return fmt.Errorf("read manifest of %s in %s: %w", digest, repository, err)
	}
	if len(got.Images) != 1 || got.Images[0].ImageManifest == nil {
		return fmt.Errorf("%w: %s is not in repository %s", ErrImageNotReleasable, digest, repository)
	}
	img := got.Images[0]
	_, err = api.PutImage(ctx, &ecr.PutImageInput{
		RepositoryName:         aws.String(repository),
		ImageManifest:          img.ImageManifest,
		ImageManifestMediaType: img.ImageManifestMediaType,
		ImageDigest:            aws.String(digest),
		ImageTag:               aws.String(tag),
	})
	var exists *ecrtypes.ImageAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("tag %s in %s as %s: %w", digest, repository, tag, err)
	}
	return nil
}

// manifestMediaTypes are the manifests BatchGetImage may return: Docker v2
// and OCI images and indexes, so that the put manifest is byte for byte the
// one pushed (and the digest stays the same).
var manifestMediaTypes = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}

// isReleaseTag reports whether tag is one of ReleaseTag's.
func isReleaseTag(tag string) bool { return strings.HasPrefix(tag, ReleaseTagPrefix) }
