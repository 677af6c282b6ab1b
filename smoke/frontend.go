package smoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/html"

	"github.com/experts/platform/stacks/publish/fingerprint"
)

// assetConcurrency bounds the assets fetched at once.
const assetConcurrency = 4

// FrontendEntryCheck requires HEAD URL (the site's /) to answer 200 with
// Cache-Control no-cache, so that browsers revalidate the HTML and see a
// release at once.
type FrontendEntryCheck struct{ URL string }

// Name implements Check.
func (f FrontendEntryCheck) Name() string { return "frontend/entry" }

// Target implements Check.
func (f FrontendEntryCheck) Target() string { return f.URL }

func (f FrontendEntryCheck) attempt(ctx context.Context, c *client) (string, error) {
	resp, err := c.fetch(ctx, request{method: http.MethodHead, url: f.URL})
	if err != nil {
		return "", err
	}
	if err := resp.want(http.StatusOK); err != nil {
		return "", err
	}
	cc := cacheControl(resp.header)
	if !hasDirective(cc, "no-cache") {
		return "", definitivef("%s: Cache-Control is %q, want no-cache (browsers would keep serving the previous release's HTML)", resp.req, cc)
	}
	return "Cache-Control: " + cc, nil
}

// FrontendAssetsCheck requires GET URL (the site's /) to answer 200 with
// HTML, and every script and stylesheet that the HTML references on the
// same origin to answer 200 with a matching Content-Type; those that the
// publisher's rule calls fingerprinted must also be served with an
// immutable Cache-Control (an unhashed /env-config.js need not). Assets on
// other origins are counted but not fetched: they are not part of the
// release.
type FrontendAssetsCheck struct {
	URL         string
	Fingerprint fingerprint.Rule
}

// Name implements Check.
func (f FrontendAssetsCheck) Name() string { return "frontend/assets" }

// Target implements Check.
func (f FrontendAssetsCheck) Target() string { return f.URL }

// assetKind is what the HTML loads an asset as.
type assetKind string

const (
	assetScript     assetKind = "script"
	assetStylesheet assetKind = "stylesheet"
)

type asset struct {
	url  string
	kind assetKind
	// fingerprinted: the publisher serves it immutable.
	fingerprinted bool
}

func (f FrontendAssetsCheck) attempt(ctx context.Context, c *client) (string, error) {
	resp, err := c.fetch(ctx, request{method: http.MethodGet, url: f.URL, header: http.Header{"Accept": {"text/html"}}})
	if err != nil {
		return "", err
	}
	if err := resp.want(http.StatusOK); err != nil {
		return "", err
	}
	if mt := mediaType(resp.header.Get("Content-Type")); mt != "text/html" {
		return "", definitivef("%s: content type %q, want text/html (body starts %q)", resp.req, resp.header.Get("Content-Type"), snippet(resp.body))
	}
	page, err := url.Parse(resp.finalURL)
	if err != nil {
		return "", definitivef("%s: parse the page URL %q: %w", resp.req, resp.finalURL, err)
	}
	assets, err := htmlAssets(resp.body, page)
	if err != nil {
		return "", definitivef("%s: %w", resp.req, err)
	}
	var own []asset
	root := page.Path[:strings.LastIndex(page.Path, "/")+1]
	for _, a := range assets {
		if sameOrigin(a.url, page) {
			if u, err := url.Parse(a.url); err == nil && strings.HasPrefix(u.Path, root) {
				a.fingerprinted = f.Fingerprint.Match(strings.TrimPrefix(u.Path, root))
			}
			own = append(own, a)
		}
	}
	if len(own) == 0 {
		return "", definitivef("%s: the HTML references no script or stylesheet on its own origin (is this the built index.html?)", resp.req)
	}

	errs := make([]error, len(own))
	sem := make(chan struct{}, assetConcurrency)
	var wg sync.WaitGroup
	for i, a := range own {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("GET %s: %w", a.url, context.Cause(ctx))
				return
			}
			defer func() { <-sem }()
			errs[i] = checkAsset(ctx, c, a)
		})
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed > 0 {
		return "", fmt.Errorf("%d of %d assets failed:\n%w", failed, len(own), errors.Join(errs...))
	}
	detail := fmt.Sprintf("%d assets", len(own))
	if other := len(assets) - len(own); other > 0 {
		detail += fmt.Sprintf(" (%d on other origins not checked)", other)
	}
	return detail, nil
}

// checkAsset requires a to answer 200 with the content type of its kind
// and, when it is fingerprinted, an immutable Cache-Control, and reads its body up to the size limit:
// a large bundle passes, a stalled one times out.
func checkAsset(ctx context.Context, c *client, a asset) error {
	req := request{method: http.MethodGet, url: a.url}
	return c.stream(ctx, req, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			body, err := io.ReadAll(c.body(req, resp))
			if err != nil {
				return err
			}
			return unexpectedStatus(req, resp.Request.URL.String(), resp.StatusCode, resp.Header, body, "200")
		}
		ct := resp.Header.Get("Content-Type")
		if !a.kind.accepts(mediaType(ct)) {
			return definitivef("%s: content type %q, want %s for a %s (a missing file answered by the SPA fallback?)", req, ct, a.kind.wantType(), a.kind)
		}
		if cc := cacheControl(resp.Header); a.fingerprinted && !hasDirective(cc, "immutable") {
			return definitivef("%s: Cache-Control is %q, want immutable for a fingerprinted asset", req, cc)
		}
		if _, err := io.CopyN(io.Discard, c.body(req, resp), c.maxBody); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	})
}

func (k assetKind) accepts(mediaType string) bool {
	switch k {
	case assetScript:
		switch mediaType {
		case "text/javascript", "application/javascript", "application/x-javascript",
			"application/ecmascript", "text/ecmascript":
			return true
		}
	case assetStylesheet:
		return mediaType == "text/css"
	}
	return false
}

func (k assetKind) wantType() string {
	if k == assetStylesheet {
		return "text/css"
	}
	return "text/javascript"
}

// htmlAssets returns the scripts and stylesheets that an HTML document
// loads, resolved against page (or its <base href>), without duplicates.
// Inline scripts and data:, blob: and other non-HTTP URLs are left out.
func htmlAssets(doc []byte, page *url.URL) ([]asset, error) {
	var (
		assets  []asset
		seen    = map[string]bool{}
		base    = page
		hasBase bool
	)
	add := func(ref string, kind assetKind) error {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			return nil
		}
		u, err := url.Parse(ref)
		if err != nil {
			return fmt.Errorf("the HTML references %s %q, which is not a URL: %w", kind, ref, err)
		}
		u = base.ResolveReference(u)
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil
		}
		u.Fragment = ""
		if s := u.String(); !seen[s] {
			seen[s] = true
			assets = append(assets, asset{url: s, kind: kind})
		}
		return nil
	}
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if errors.Is(z.Err(), io.EOF) {
				return assets, nil
			}
			return nil, fmt.Errorf("parse the HTML: %w", z.Err())
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			attr := func(name string) string {
				for _, a := range tok.Attr {
					if a.Key == name {
						return a.Val
					}
				}
				return ""
			}
			var err error
			switch tok.Data {
			case "base":
				if href := attr("href"); href != "" && !hasBase {
					hasBase = true
					if u, perr := url.Parse(strings.TrimSpace(href)); perr == nil {
						base = page.ResolveReference(u)
					}
				}
			case "script":
				err = add(attr("src"), assetScript)
			case "link":
				rel := strings.Fields(strings.ToLower(attr("rel")))
				as := strings.ToLower(attr("as"))
				switch {
				case slices.Contains(rel, "stylesheet"), slices.Contains(rel, "preload") && as == "style":
					err = add(attr("href"), assetStylesheet)
				case slices.Contains(rel, "modulepreload"), slices.Contains(rel, "preload") && as == "script":
					err = add(attr("href"), assetScript)
				}
			}
			if err != nil {
				return nil, err
			}
		}
	}
}

func sameOrigin(raw string, page *url.URL) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == page.Scheme && strings.EqualFold(u.Host, page.Host)
}

// cacheControl returns the Cache-Control header, several fields joined.
func cacheControl(h http.Header) string {
	return strings.Join(h.Values("Cache-Control"), ", ")
}

// hasDirective reports whether a Cache-Control value holds directive.
func hasDirective(cacheControl, directive string) bool {
	for part := range strings.SplitSeq(cacheControl, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.EqualFold(strings.TrimSpace(name), directive) {
			return true
		}
	}
	return false
}
