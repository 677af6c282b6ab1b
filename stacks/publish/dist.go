package publish

import (
	"context"
	"crypto/md5" //nolint:gosec // S3 ETags and Content-MD5 are MD5; not used for security
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
)

// ErrInvalidDist marks a dist directory that cannot be published: missing,
// empty, without index.html, with an unreadable file or a reserved name.
// Nothing was sent to AWS.
var ErrInvalidDist = errors.New("invalid dist directory")

// ReleasePrefix is where release manifests are kept in the bucket.
const ReleasePrefix = "_releases/"

// ErrorPagePrefix holds the page CloudFront answers a missing file with
// (infra writes _errors/404.html); a dist may not publish under it.
const ErrorPagePrefix = "_errors/"

// LocalFile is one file of the dist directory.
type LocalFile struct {
	Key  string // slash-separated path relative to the dist directory
	Path string // path on disk
	Size int64
	MD5  string // hex
}

// ScanDist lists the regular files under dir with their sizes and MD5
// digests, sorted by key, hashing up to concurrency files at a time. Files
// and directories whose name starts with "." (build metadata such as .vite/,
// .DS_Store) are not part of the site, except .well-known/: they are
// returned apart, as ignored.
func ScanDist(ctx context.Context, dir string, concurrency int) (files []LocalFile, ignored []string, err error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("%w: %s does not exist (build the frontend first)", ErrInvalidDist, dir)
	case err != nil:
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidDist, err)
	case !info.IsDir():
		return nil, nil, fmt.Errorf("%w: %s is not a directory", ErrInvalidDist, dir)
	}
	ignored = []string{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if key != "." && strings.HasPrefix(d.Name(), ".") && key != wellKnown {
			if d.IsDir() {
				ignored = append(ignored, key+"/")
				return filepath.SkipDir
			}
			ignored = append(ignored, key)
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasPrefix(key, ReleasePrefix) {
			return fmt.Errorf("%s: the %s prefix is reserved for release manifests", key, ReleasePrefix)
		}
		if strings.HasPrefix(key, ErrorPagePrefix) {
			return fmt.Errorf("%s: the %s prefix is reserved for the site's error page, which the infrastructure writes", key, ErrorPagePrefix)
		}
		files = append(files, LocalFile{Key: key, Path: p})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidDist, err)
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("%w: %s is empty", ErrInvalidDist, dir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Key < files[j].Key })
	if i := sort.Search(len(files), func(i int) bool { return files[i].Key >= "index.html" }); i == len(files) || files[i].Key != "index.html" {
		return nil, nil, fmt.Errorf("%w: %s has no index.html at its root (is it the build output?)", ErrInvalidDist, dir)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	for i := range files {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			return hashFile(&files[i])
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("scan %s: %w", dir, ctx.Err())
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidDist, err)
	}
	return files, ignored, nil
}

// wellKnown is the one dot-directory that is part of a site (RFC 8615).
const wellKnown = ".well-known"

func hashFile(f *LocalFile) error {
	r, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Key, err)
	}
	defer r.Close()
	info, err := r.Stat()
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Key, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("read %s: not a regular file (%s)", f.Key, info.Mode().Type())
	}
	h := md5.New() //nolint:gosec // see import
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Key, err)
	}
	f.Size = n
	f.MD5 = hex.EncodeToString(h.Sum(nil))
	return nil
}

// invalidationPaths returns the viewer paths that serve key: "/key", and
// for an index.html also its directory ("/docs/" and "/docs", or "/"),
// URL-encoded as CloudFront wants them (a space becomes %20).
func invalidationPaths(key string) []string {
	p := keepRFC1738Safe.Replace((&url.URL{Path: "/" + key}).EscapedPath())
	if path.Base(key) != "index.html" {
		return []string{p}
	}
	dir := strings.TrimSuffix(p, "index.html")
	if dir == "/" {
		return []string{p, "/"}
	}
	return []string{p, dir, strings.TrimSuffix(dir, "/")}
}

// keepRFC1738Safe undoes what EscapedPath encodes but CloudFront wants as
// is: it URL-encodes only non-ASCII and RFC 1738 unsafe characters in
// invalidation paths, and a path with "!", "'", "(" or ")" encoded never
// matches the cached copy. ("*" stays encoded: unencoded it would be a
// wildcard.) Every "%" of EscapedPath starts an escape, so no other text
// reads as one of these.
var keepRFC1738Safe = strings.NewReplacer("%21", "!", "%27", "'", "%28", "(", "%29", ")")
