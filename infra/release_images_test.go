package infra

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// fakeImages is a test double of the ECR API: a repository's images by
// digest with their tags.
type fakeImages struct {
	tags     map[string][]string // digest → tags
	err      error
	puts     []*ecr.PutImageInput
	describe []*ecr.DescribeImagesInput
}

func (f *fakeImages) DescribeImages(_ context.Context, in *ecr.DescribeImagesInput, _ ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error) {
	f.describe = append(f.describe, in)
	if f.err != nil {
		return nil, f.err
	}
	d := aws.ToString(in.ImageIds[0].ImageDigest)
	tags, ok := f.tags[d]
	if !ok {
		return nil, &ecrtypes.ImageNotFoundException{Message: aws.String("The image with imageId {imageDigest:'" + d + "'} does not exist")}
	}
	return &ecr.DescribeImagesOutput{ImageDetails: []ecrtypes.ImageDetail{{ImageDigest: aws.String(d), ImageTags: tags}}}, nil
}

func (f *fakeImages) BatchGetImage(_ context.Context, in *ecr.BatchGetImageInput, _ ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error) {
	d := aws.ToString(in.ImageIds[0].ImageDigest)
	if _, ok := f.tags[d]; !ok {
		return &ecr.BatchGetImageOutput{Failures: []ecrtypes.ImageFailure{{FailureCode: ecrtypes.ImageFailureCodeImageNotFound}}}, nil
	}
	return &ecr.BatchGetImageOutput{Images: []ecrtypes.Image{{
		ImageId:                &ecrtypes.ImageIdentifier{ImageDigest: aws.String(d)},
		ImageManifest:          aws.String(`{"schemaVersion":2}`),
		ImageManifestMediaType: aws.String("application/vnd.oci.image.manifest.v1+json"),
	}}}, nil
}

func (f *fakeImages) PutImage(_ context.Context, in *ecr.PutImageInput, _ ...func(*ecr.Options)) (*ecr.PutImageOutput, error) {
	f.puts = append(f.puts, in)
	d := aws.ToString(in.ImageDigest)
	for _, t := range f.tags[d] {
		if t == aws.ToString(in.ImageTag) {
			return nil, &ecrtypes.ImageAlreadyExistsException{Message: aws.String("already exists")}
		}
	}
	f.tags[d] = append(f.tags[d], aws.ToString(in.ImageTag))
	return &ecr.PutImageOutput{}, nil
}

func TestReleaseTag(t *testing.T) {
	got, err := ReleaseTag(testDigest)
	if err != nil || got != "release-"+strings.TrimPrefix(testDigest, "sha256:") {
		t.Errorf("ReleaseTag = %q, %v", got, err)
	}
	if len(got) > 128 {
		t.Errorf("tag %q is longer than the 128 characters a tag may have", got)
	}
	if _, err := ReleaseTag("sha256:abc"); err == nil {
		t.Error("ReleaseTag accepts a short digest")
	}
}

func TestCheckImageReleasable(t *testing.T) {
	tag, _ := ReleaseTag(testDigest)
	tests := []struct {
		name     string
		tags     map[string][]string
		err      error
		wantErr  error
		wantText []string
	}{
		{"a released digest with its tag passes", map[string][]string{testDigest: {"abc", tag}}, nil, nil, nil},
		{"a digest that was never replicated names the backfill", map[string][]string{}, nil, ErrImageNotReleasable,
			[]string{"is not in repository experts/api of account 123456789012", "aws ecr put-image --repository-name experts/api --image-tag " + tag}},
		{"a digest without its release tag may expire", map[string][]string{testDigest: {"abc"}}, nil, ErrImageNotReleasable,
			[]string{"without its release tag " + tag, "lifecycle policy may expire it", "batch-get-image"}},
		{"another error is not a missing image", nil, errors.New("throttled"), nil, []string{"describe image", "throttled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeImages{tags: tt.tags, err: tt.err}
			err := CheckImageReleasable(context.Background(), f, "123456789012", "experts/api", testDigest)
			if len(tt.wantText) == 0 {
				if err != nil {
					t.Fatalf("error = %v", err)
				}
			} else {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.wantText {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			want := &ecr.DescribeImagesInput{RegistryId: aws.String("123456789012"), RepositoryName: aws.String("experts/api"),
				ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(testDigest)}}}
			if diff := cmp.Diff(want, f.describe[0], cmpopts.IgnoreUnexported(ecr.DescribeImagesInput{}, ecrtypes.ImageIdentifier{})); diff != "" {
				t.Errorf("DescribeImages input (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTagReleaseImage(t *testing.T) {
	tag, _ := ReleaseTag(testDigest)
	f := &fakeImages{tags: map[string][]string{testDigest: {"abc"}}}
	for i := range 2 {
		if err := TagReleaseImage(context.Background(), f, "experts/api", testDigest); err != nil {
			t.Fatalf("tag %d: %v", i+1, err)
		}
	}
	if diff := cmp.Diff([]string{"abc", tag}, f.tags[testDigest]); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if len(f.puts) != 2 || aws.ToString(f.puts[0].ImageManifestMediaType) != "application/vnd.oci.image.manifest.v1+json" ||
		aws.ToString(f.puts[0].ImageDigest) != testDigest {
		t.Errorf("PutImage calls %+v: want the manifest put back under its digest and media type", f.puts)
	}
	if err := TagReleaseImage(context.Background(), f, "experts/api", "sha256:"+strings.Repeat("f", 64)); !errors.Is(err, ErrImageNotReleasable) {
		t.Errorf("tagging a missing digest: %v, want ErrImageNotReleasable", err)
	}
	if err := CheckImageReleasable(context.Background(), f, "123456789012", "experts/api", testDigest); err != nil {
		t.Errorf("a tagged digest is not releasable: %v", err)
	}
}
