package stacks

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// fakeECR answers BatchGetImage from images by digest and by tag.
type fakeECR struct {
	byDigest map[string]bool
	byTag    map[string]string
	calls    []*ecr.BatchGetImageInput
}

func (f *fakeECR) BatchGetImage(_ context.Context, in *ecr.BatchGetImageInput, _ ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error) {
	f.calls = append(f.calls, in)
	id := in.ImageIds[0]
	out := &ecr.BatchGetImageOutput{}
	notFound := ecrtypes.ImageFailure{ImageId: &id, FailureCode: ecrtypes.ImageFailureCodeImageNotFound, FailureReason: aws.String("Requested image not found")}
	switch {
	case id.ImageDigest != nil && f.byDigest[*id.ImageDigest]:
		out.Images = []ecrtypes.Image{{ImageId: &id}}
	case id.ImageTag != nil && f.byTag[*id.ImageTag] != "":
		out.Images = []ecrtypes.Image{{ImageId: &ecrtypes.ImageIdentifier{ImageTag: id.ImageTag, ImageDigest: aws.String(f.byTag[*id.ImageTag])}}}
	default:
		out.Failures = []ecrtypes.ImageFailure{notFound}
	}
	return out, nil
}

func TestRegistryLooksImagesUpInTheStacksRepository(t *testing.T) {
	api := &fakeECR{byDigest: map[string]bool{"sha256:aa": true}, byTag: map[string]string{sha("c"): "sha256:cc"}}
	reg := Registry{API: api}
	ctx := context.Background()
	repo := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/experts-prod-api"

	if ok, err := reg.ImageExists(ctx, repo, "sha256:aa"); err != nil || !ok {
		t.Errorf("ImageExists(present) = %v, %v", ok, err)
	}
	if ok, err := reg.ImageExists(ctx, repo, "sha256:bb"); err != nil || ok {
		t.Errorf("ImageExists(missing) = %v, %v, want false without an error", ok, err)
	}
	if d, err := reg.DigestForTag(ctx, repo, sha("c")); err != nil || d != "sha256:cc" {
		t.Errorf("DigestForTag = %q, %v", d, err)
	}
	if _, err := reg.DigestForTag(ctx, repo, "nope"); !errors.Is(err, ErrNoSuchTag) {
		t.Errorf("DigestForTag(missing) error = %v, want ErrNoSuchTag", err)
	}
	in := api.calls[0]
	if aws.ToString(in.RegistryId) != "123456789012" || aws.ToString(in.RepositoryName) != "experts-prod-api" {
		t.Errorf("BatchGetImage asked registry %s repository %s", aws.ToString(in.RegistryId), aws.ToString(in.RepositoryName))
	}
	if _, err := reg.ImageExists(ctx, "docker.io/library/nginx", "sha256:aa"); err == nil {
		t.Error("a repository URL outside ECR was accepted")
	}
}
