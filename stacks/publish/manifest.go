package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Manifest records one release: the files it serves and how they were
// written. It is stored as ReleasePrefix + ID + ".json" once the release's
// HTML is live, and rewritten when its invalidation has completed.
type Manifest struct {
	ID        string         `json:"id"`
	Digest    string         `json:"digest"`
	CreatedAt time.Time      `json:"createdAt"`
	Files     []ManifestFile `json:"files"`
	// InvalidationPaths are the paths this release asked CloudFront to
	// invalidate; InvalidatedAt is set once that invalidation completed.
	InvalidationPaths []string   `json:"invalidationPaths,omitempty"`
	InvalidationID    string     `json:"invalidationId,omitempty"`
	InvalidatedAt     *time.Time `json:"invalidatedAt,omitempty"`
}

// ManifestFile is one file of a release.
type ManifestFile struct {
	Key          string `json:"key"`
	Size         int64  `json:"size"`
	MD5          string `json:"md5"`
	ETag         string `json:"etag"`
	ContentType  string `json:"contentType"`
	CacheControl string `json:"cacheControl"`
}

// Key is the object key of the manifest.
func (m *Manifest) Key() string { return manifestKey(m.ID) }

// invalidationPending reports whether the release asked for an invalidation
// that is not known to have completed.
func (m *Manifest) invalidationPending() bool {
	return len(m.InvalidationPaths) > 0 && m.InvalidatedAt == nil
}

func (m *Manifest) file(key string) (ManifestFile, bool) {
	i := sort.Search(len(m.Files), func(i int) bool { return m.Files[i].Key >= key })
	if i < len(m.Files) && m.Files[i].Key == key {
		return m.Files[i], true
	}
	return ManifestFile{}, false
}

func manifestKey(id string) string { return ReleasePrefix + id + ".json" }

// releaseID names a release so that IDs sort in publish order.
func releaseID(now time.Time, digest string) string {
	return now.UTC().Format("20060102T150405.000Z") + "-" + digest[:12]
}

// digestOf identifies the content of a release: every key with its MD5 and
// headers. Two publishes of the same dist under the same rules share it.
func digestOf(files []ManifestFile) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\n", f.Key, f.MD5, f.ContentType, f.CacheControl)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readManifests reads the manifests listed in keys, newest first.
func readManifests(ctx context.Context, api S3API, bucket string, keys []string) ([]*Manifest, error) {
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	out := make([]*Manifest, 0, len(keys))
	for _, key := range keys {
		obj, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("read release manifest %s: %w", key, classify(err, bucket))
		}
		body, err := io.ReadAll(io.LimitReader(obj.Body, 64<<20))
		_ = obj.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read release manifest %s: %w", key, err)
		}
		var m Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("release manifest %s is not valid JSON (remove it or fix it): %w", key, err)
		}
		if manifestKey(m.ID) != key {
			return nil, fmt.Errorf("release manifest %s holds release %q: remove it or fix it", key, m.ID)
		}
		sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Key < m.Files[j].Key })
		out = append(out, &m)
	}
	return out, nil
}

func writeManifest(ctx context.Context, api S3API, bucket string, m *Manifest) error {
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode release manifest: %w", err)
	}
	_, err = api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(m.Key()),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(ContentType(".json")),
		CacheControl:  aws.String(CacheNoCache),
	})
	if err != nil {
		return fmt.Errorf("write release manifest %s: %w", m.Key(), classify(err, bucket))
	}
	return nil
}

func isManifestKey(key string) bool {
	return strings.HasPrefix(key, ReleasePrefix) && strings.HasSuffix(key, ".json") && key != LockKey && key != LiveKey
}
