package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/experts/platform/internal/cliout"
	"github.com/experts/platform/stacks"
	"github.com/experts/platform/stacks/publish"
)

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

func (c *publishCacheRules) Type() string { return "rule" }

type publishOptions struct {
	Stdout      io.Writer
	Logger      *slog.Logger
	Getenv      func(string) string
	ReadOutputs func(ctx context.Context, dir, stack string) (stacks.Outputs, error)
	SiteClients func(ctx context.Context, opts publish.ClientOptions) (*publish.Clients, error)

	Dist         string
	Stack        string
	Dir          string
	Bucket       string
	Distribution string
	Retain       int
	Concurrency  int
	CacheRules   publishCacheRules
	Fingerprint  string
	DryRun       bool
	JSON         bool
	Deadline     time.Duration

	rules     publish.RuleSet // from CacheRules and Fingerprint, by validate
	pathStyle bool            // from AWS_S3_USE_PATH_STYLE, by validate
}

func newCmdPublishFrontend(f *factory, runF func(context.Context, *publishOptions) error) *cobra.Command {
	opts := &publishOptions{
		Stdout: f.Stdout, Logger: f.logger(), Getenv: f.Getenv,
		ReadOutputs: f.ReadOutputs, SiteClients: f.SiteClients,
	}
	cmd := &cobra.Command{
		Use:   "publish-frontend --dist DIST (--stack NAME | --bucket BUCKET --distribution-id ID) [flags]",
		Short: "upload a built frontend to the site bucket (changed files, assets before HTML) and invalidate",
		Long: `Publishes a built frontend (the output of npm run build) to the site's
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
the project in --dir), or from --bucket and --distribution-id, which win.

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

` + exitStatusHelp("published (or planned)",
			"the publish failed (the message says how far it got)",
			"usage, configuration or dist directory error (nothing was changed)"),
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return opts.run(c.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Dist, "dist", "", "the built frontend to publish (required), such as frontend/dist")
	fl.StringVar(&opts.Stack, "stack", "", "read the bucket and distribution from this stack's outputs, such as dev or prod")
	fl.StringVar(&opts.Dir, "dir", ".", "with --stack: Pulumi project directory, which holds Pulumi.yaml and the stack files")
	fl.StringVar(&opts.Bucket, "bucket", "", "site bucket name (wins over the stack output)")
	fl.StringVar(&opts.Distribution, "distribution-id", "", "CloudFront distribution id (wins over the stack output)")
	fl.IntVar(&opts.Retain, "retain", publish.DefaultRetain, "how many previous releases keep their files, for visitors still on an old page")
	fl.IntVar(&opts.Concurrency, "concurrency", publish.DefaultConcurrency, "uploads (and file hashes) at a time")
	fl.Var(&opts.CacheRules, "cache-control", "`PATTERN=VALUE`: Cache-Control for files whose base name (or, with a /, whole key) matches the glob; repeatable, tried in order before the defaults")
	fl.StringVar(&opts.Fingerprint, "fingerprint", "", "regular expression `RE` that recognizes fingerprinted base names, replacing the default; a first capture group must hold a letter and a digit")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and change nothing (reads the bucket)")
	fl.BoolVar(&opts.JSON, "json", false, "print the summary, or the plan, as one JSON document on stdout")
	fl.DurationVar(&opts.Deadline, "deadline", 15*time.Minute, "time limit for the whole command, the invalidation wait included")
	return cmd
}

func (o *publishOptions) validate() error {
	switch {
	case o.Dist == "":
		return usageErrorf("--dist is required (the build output, such as frontend/dist)")
	case o.Stack == "" && (o.Bucket == "" || o.Distribution == ""):
		return usageErrorf("give --stack NAME, or both --bucket and --distribution-id")
	case o.Retain < 0:
		return usageErrorf("--retain is %d, want 0 or more", o.Retain)
	case o.Concurrency < 1:
		return usageErrorf("--concurrency is %d, want 1 or more", o.Concurrency)
	case o.Deadline <= 0:
		return usageErrorf("--deadline is %s, want a positive duration such as 15m", o.Deadline)
	}
	o.rules = publish.RuleSet{Rules: o.CacheRules}
	if o.Fingerprint != "" {
		re, err := regexp.Compile(o.Fingerprint)
		if err != nil {
			return usageErrorf("--fingerprint: %w", err)
		}
		o.rules.Fingerprint = re
	}
	if v := o.Getenv(publishEnvPathStyle); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return usageErrorf("%s=%q: want true or false", publishEnvPathStyle, v)
		}
		o.pathStyle = b
	}
	if o.needsStack() {
		if err := checkStackName("--stack", o.Stack); err != nil {
			return err
		}
		return checkProjectDir("--dir", o.Dir)
	}
	return nil
}

// needsStack tells whether the stack's outputs are read: the flags leave
// the bucket or the distribution out.
func (o *publishOptions) needsStack() bool {
	return o.Stack != "" && (o.Bucket == "" || o.Distribution == "")
}

func (o *publishOptions) run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Deadline)
	defer cancel()

	target, err := o.resolveSite(ctx)
	if err != nil {
		return err
	}
	clients, err := o.SiteClients(ctx, publish.ClientOptions{PathStyle: o.pathStyle, Connections: o.Concurrency})
	if err != nil {
		return usageError(err)
	}
	p := &publish.Publisher{
		S3:             clients.S3,
		CloudFront:     clients.CloudFront,
		Bucket:         target.bucket,
		DistributionID: target.distribution,
		Dir:            o.Dist,
		Rules:          o.rules,
		Retain:         o.Retain,
		Concurrency:    o.Concurrency,
		Log:            o.Logger,
	}

	if o.DryRun {
		plan, err := p.Plan(ctx)
		if err != nil {
			return publishError(err)
		}
		if o.JSON {
			return cliout.WriteJSON(o.Stdout, plan)
		}
		return plan.WriteText(o.Stdout)
	}

	res, err := p.Publish(ctx)
	if res == nil {
		return publishError(err)
	}
	out := publishJSONOutput{Result: res, SiteURL: target.url}
	if err != nil {
		out.Error = err.Error()
	}
	if o.JSON {
		if werr := cliout.WriteJSON(o.Stdout, out); werr != nil {
			return errors.Join(err, werr)
		}
	} else {
		if werr := res.WriteText(o.Stdout, err != nil); werr != nil {
			return errors.Join(err, werr)
		}
		if err == nil && target.url != "" {
			if _, werr := fmt.Fprintf(o.Stdout, "site: %s\n", target.url); werr != nil {
				return fmt.Errorf("write result: %w", werr)
			}
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

// resolveSite takes the bucket and distribution from the flags, and what
// they leave out from the stack's outputs.
func (o *publishOptions) resolveSite(ctx context.Context) (publishSite, error) {
	t := publishSite{bucket: o.Bucket, distribution: o.Distribution}
	if !o.needsStack() {
		return t, nil
	}
	outs, err := o.ReadOutputs(ctx, o.Dir, o.Stack)
	if err != nil {
		return t, fmt.Errorf("read the site outputs of stack %s: %w", o.Stack, automationError(err, o.Stack, o.Dir))
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
