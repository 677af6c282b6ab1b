package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/publish"
)

func init() {
	register(command{
		name:    "publish-frontend",
		summary: "upload a built frontend to the site bucket (changed files, assets before HTML) and invalidate",
		run:     runPublishFrontend,
	})
}

// publishReadOutputs reads a stack's outputs; tests replace it.
var publishReadOutputs = stacks.ReadOutputs

// publishEnvPathStyle is the variable that turns on S3 path-style addressing.
// aws-sdk-go-v2 has no standard one (the AWS CLI has addressing_style in
// its config file, other tools use this name).
const publishEnvPathStyle = "AWS_S3_USE_PATH_STYLE"

// publishCacheRules collects repeated --cache-control flags.
type publishCacheRules []publish.CacheRule

func (c *publishCacheRules) String() string {
	parts := make([]string, 0, len(*c))
	for _, r := range *c {
		parts = append(parts, r.Pattern+"="+r.CacheControl)
	}
	return strings.Join(parts, " ")
}

func (c *publishCacheRules) Set(s string) error {
	r, err := publish.ParseCacheRule(s)
	if err != nil {
		return err
	}
	*c = append(*c, r)
	return nil
}

func runPublishFrontend(ctx context.Context, s *streams, args []string) error {
	fs := newFlagSet(s, "publish-frontend", `publish-frontend --dir DIST (--stack NAME | --bucket BUCKET --distribution-id ID) [flags]

Publishes a built frontend (the output of npm run build) to the site's
private S3 bucket and CloudFront distribution, so that no visitor is served
a broken page:

  1. Scans DIST (it must hold index.html) and lists the bucket. A file is
     uploaded only when it is new, its content differs (size and MD5 against
     the listing's ETag or the live release's manifest) or its headers differ.
  2. Uploads, --concurrency at a time: fingerprinted assets first, then
     other files, HTML last; each phase starts once the one before has
     fully succeeded. An upload that still fails after retries stops the
     publish: before the HTML phase, no new HTML is uploaded and the site
     keeps serving the previous release.
  3. Records the release in _releases/<id>.json, invalidates the paths of
     the changed files that are not immutable (HTML with its directory
     forms, other entry files, and /) and waits for CloudFront to finish,
     within --deadline.
  4. Then deletes files that belong neither to the new release nor to the
     --retain releases before it (files of an unfinished publish stay one
     more release). On the first publish into a bucket without release
     manifests nothing is deleted.
Publishing the live release again uploads nothing; it only finishes an
invalidation that an earlier publish did not see complete, and deletions.

Headers: Content-Type by extension (text types with charset=utf-8).
Cache-Control: --cache-control rules first (first match wins), then HTML
"no-cache", fingerprinted names "public, max-age=31536000, immutable", every
other file "no-cache". A name is fingerprinted when a hash of 8 or more
letters, digits or underscores, holding both a letter and a digit and not a
size like 1200x630, follows a "." or "-" just before the extension (and an
optional ".chunk" or trailing ".map"): index-4f3a9c1b.js,
main.3f2a1b9c.chunk.css, index-4f3a9c1b.js.map. --fingerprint replaces that
pattern.

Bucket and distribution: from the outputs siteBucketName and
siteDistributionId of --stack (read through the Pulumi Automation API from
--project-dir), or from --bucket and --distribution-id, which win.

AWS: credentials, region and endpoints come from the SDK's standard chain:
AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_CLOUDFRONT,
AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS (default 8: throttling, 5xx and network
errors are retried with exponential backoff). AWS_S3_USE_PATH_STYLE=true
addresses the bucket in the path, as local S3 servers need (the SDK has no
standard setting for it; it already does so for an IP-address endpoint).

Output: progress on stderr; on stdout a summary (counts, bytes, time), or
with --dry-run the plan (upload, skip, delete, invalidate and keep lines);
--json prints either as one JSON document. A failed publish also lists the
files that were and were not uploaded.

Exit status: 0 published (or planned), 1 the publish failed (the message says
how far it got), 2 usage, configuration or dist directory error (nothing was
changed).`)
	dir := fs.String("dir", "", "the built frontend to publish (required), such as frontend/dist")
	stack := fs.String("stack", "", "read the bucket and distribution from this stack's outputs, such as dev or prod")
	projectDir := fs.String("project-dir", ".", "with --stack: directory that holds Pulumi.yaml and the stack files")
	bucket := fs.String("bucket", "", "site bucket name (wins over the stack output)")
	distribution := fs.String("distribution-id", "", "CloudFront distribution id (wins over the stack output)")
	retain := fs.Int("retain", publish.DefaultRetain, "how many previous releases keep their files, for visitors still on an old page")
	concurrency := fs.Int("concurrency", publish.DefaultConcurrency, "uploads (and file hashes) at a time")
	var rules publishCacheRules
	fs.Var(&rules, "cache-control", "`PATTERN=VALUE`: Cache-Control for files whose base name (or, with a /, whole key) matches the glob; repeatable, tried in order before the defaults")
	fingerprint := fs.String("fingerprint", "", "regular expression `RE` that recognizes fingerprinted base names, replacing the default; a first capture group must hold a letter and a digit")
	dryRun := fs.Bool("dry-run", false, "print the plan and change nothing (reads the bucket)")
	asJSON := fs.Bool("json", false, "print the summary, or the plan, as one JSON document on stdout")
	deadline := fs.Duration("deadline", 15*time.Minute, "time limit for the whole command, the invalidation wait included")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	switch {
	case *dir == "":
		return usageErrorf("--dir is required (the build output, such as frontend/dist)")
	case *stack == "" && (*bucket == "" || *distribution == ""):
		return usageErrorf("give --stack NAME, or both --bucket and --distribution-id")
	case *retain < 0:
		return usageErrorf("--retain is %d, want 0 or more", *retain)
	case *concurrency < 1:
		return usageErrorf("--concurrency is %d, want 1 or more", *concurrency)
	case *deadline <= 0:
		return usageErrorf("--deadline is %s, want a positive duration such as 15m", *deadline)
	}
	ruleSet := publish.RuleSet{Rules: rules}
	if *fingerprint != "" {
		re, err := regexp.Compile(*fingerprint)
		if err != nil {
			return usageErrorf("--fingerprint: %w", err)
		}
		ruleSet.Fingerprint = re
	}
	pathStyle := false
	if v := s.getenv(publishEnvPathStyle); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return usageErrorf("%s=%q: want true or false", publishEnvPathStyle, v)
		}
		pathStyle = b
	}

	ctx, cancel := context.WithTimeout(ctx, *deadline)
	defer cancel()

	target, err := publishResolveSite(ctx, *projectDir, *stack, *bucket, *distribution)
	if err != nil {
		return err
	}
	clients, err := publish.LoadClients(ctx, publish.ClientOptions{PathStyle: pathStyle, Connections: *concurrency})
	if err != nil {
		return usageError(err)
	}
	p := &publish.Publisher{
		S3:             clients.S3,
		CloudFront:     clients.CloudFront,
		Bucket:         target.bucket,
		DistributionID: target.distribution,
		Dir:            *dir,
		Rules:          ruleSet,
		Retain:         *retain,
		Concurrency:    *concurrency,
		Log:            s.logger(),
	}

	if *dryRun {
		plan, err := p.Plan(ctx)
		if err != nil {
			return publishError(err)
		}
		if *asJSON {
			return publishWriteJSON(s.stdout, plan)
		}
		return plan.WriteText(s.stdout)
	}

	res, err := p.Publish(ctx)
	if res == nil {
		return publishError(err)
	}
	out := publishJSONOutput{Result: res, SiteURL: target.url}
	if err != nil {
		out.Error = err.Error()
	}
	if *asJSON {
		if werr := publishWriteJSON(s.stdout, out); werr != nil {
			return errors.Join(err, werr)
		}
	} else {
		if werr := res.WriteText(s.stdout, err != nil); werr != nil {
			return errors.Join(err, werr)
		}
		if err == nil && target.url != "" {
			fmt.Fprintf(s.stdout, "site: %s\n", target.url)
		}
	}
	if err != nil {
		return publishError(err)
	}
	return nil
}

// publishJSONOutput is the --json document of a publish.
type publishJSONOutput struct {
	*publish.Result
	SiteURL string `json:"siteUrl,omitempty"`
	Error   string `json:"error,omitempty"`
}

type publishSite struct {
	bucket, distribution, url string
}

// publishResolveSite takes the bucket and distribution from the flags, and what
// they leave out from the stack's outputs.
func publishResolveSite(ctx context.Context, projectDir, stack, bucket, distribution string) (publishSite, error) {
	t := publishSite{bucket: bucket, distribution: distribution}
	if stack == "" || (bucket != "" && distribution != "") {
		return t, nil
	}
	outs, err := publishReadOutputs(ctx, projectDir, stack)
	if err != nil {
		return t, fmt.Errorf("read the site outputs of stack %s: %w", stack, err)
	}
	if t.bucket == "" {
		if t.bucket, err = outs.String(stacks.OutputSiteBucketName); err != nil {
			return t, usageError(err)
		}
	}
	if t.distribution == "" {
		if t.distribution, err = outs.String(stacks.OutputSiteDistributionID); err != nil {
			return t, usageError(err)
		}
	}
	t.url, _ = outs.String(stacks.OutputSiteURL) // only shown
	return t, nil
}

// publishError makes a bad dist directory a usage error (nothing was sent).
func publishError(err error) error {
	if errors.Is(err, publish.ErrInvalidDist) {
		return usageError(err)
	}
	return err
}

func publishWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
