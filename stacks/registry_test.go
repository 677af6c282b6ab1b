package stacks

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/experts/platform/infra"
)

// fakeECR answers from images by digest, each with its tags.
type fakeECR struct {
	tags  map[string][]string // digest → tags
	calls []string
}

func (f *fakeECR) DescribeImages(_ context.Context, in *ecr.DescribeImagesInput, _ ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error) {
	f.calls = append(f.calls, "DescribeImages "+aws.ToString(in.RegistryId)+"/"+aws.ToString(in.RepositoryName))
	d := aws.ToString(in.ImageIds[0].ImageDigest)
	tags, ok := f.tags[d]
	if !ok {
		return nil, &ecrtypes.ImageNotFoundException{Message: aws.String("not found")}
	}
	return &ecr.DescribeImagesOutput{ImageDetails: []ecrtypes.ImageDetail{{ImageDigest: aws.String(d), ImageTags: tags}}}, nil
}

func (f *fakeECR) BatchGetImage(_ context.Context, in *ecr.BatchGetImageInput, _ ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error) {
	f.calls = append(f.calls, "BatchGetImage")
	id := in.ImageIds[0]
	for d, tags := range f.tags {
		match := aws.ToString(id.ImageDigest) == d
		for _, t := range tags {
			match = match || aws.ToString(id.ImageTag) == t
		}
		if match {
			return &ecr.BatchGetImageOutput{Images: []ecrtypes.Image{{
				ImageId:       &ecrtypes.ImageIdentifier{ImageDigest: aws.String(d)},
				ImageManifest: aws.String("{}"),
			}}}, nil
		}
	}
	return &ecr.BatchGetImageOutput{Failures: []ecrtypes.ImageFailure{{FailureCode: ecrtypes.ImageFailureCodeImageNotFound}}}, nil
}

func (f *fakeECR) PutImage(_ context.Context, in *ecr.PutImageInput, _ ...func(*ecr.Options)) (*ecr.PutImageOutput, error) {
	d := aws.ToString(in.ImageDigest)
	f.tags[d] = append(f.tags[d], aws.ToString(in.ImageTag))
	return &ecr.PutImageOutput{}, nil
}

func TestRegistryChecksTagsAndResolvesImages(t *testing.T) {
	digest := "sha256:" + sha("a") + sha("a")[:24]
	api := &fakeECR{tags: map[string][]string{digest: {sha("c")}}}
	reg := Registry{API: api}
	ctx := context.Background()
	repo := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/experts-prod-api"

	if err := reg.CheckReleasable(ctx, repo, digest); !errors.Is(err, infra.ErrImageNotReleasable) {
		t.Errorf("CheckReleasable(untagged) = %v, want ErrImageNotReleasable", err)
	}
	if err := reg.TagRelease(ctx, repo, digest); err != nil {
		t.Fatalf("TagRelease: %v", err)
	}
	if err := reg.CheckReleasable(ctx, repo, digest); err != nil {
		t.Errorf("CheckReleasable(tagged) = %v", err)
	}
	if err := reg.CheckReleasable(ctx, repo, "sha256:"+sha("b")+sha("b")[:24]); !errors.Is(err, infra.ErrImageNotReleasable) {
		t.Errorf("CheckReleasable(missing) = %v, want ErrImageNotReleasable", err)
	}
	if d, err := reg.DigestForTag(ctx, repo, sha("c")); err != nil || d != digest {
		t.Errorf("DigestForTag = %q, %v", d, err)
	}
	if _, err := reg.DigestForTag(ctx, repo, "nope"); !errors.Is(err, ErrNoSuchTag) {
		t.Errorf("DigestForTag(missing) error = %v, want ErrNoSuchTag", err)
	}
	if api.calls[0] != "DescribeImages 123456789012/experts-prod-api" {
		t.Errorf("first call %q, want DescribeImages of the stack's registry and repository", api.calls[0])
	}
	if err := reg.CheckReleasable(ctx, "docker.io/library/nginx", digest); err == nil {
		t.Error("a repository URL outside ECR was accepted")
	}
}
