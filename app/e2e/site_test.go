package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/experts/platform/stacks/publish"
)

// siteHandler serves a built dist/ the way the deployed site does: the
// routing of the site's CloudFront router function (infra/site.go: a path
// ending in "/" gets its index.html, a path whose last segment has no
// extension is an app route and gets /index.html, anything else is a file,
// and a missing file is S3's 403), with the Content-Type and Cache-Control
// that the publisher's rules give each file and the security headers of the
// distribution's response headers policy.
func siteHandler(dist string, rules publish.RuleSet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		uri := r.URL.Path
		switch {
		case strings.HasPrefix(uri, "/_releases/"):
			http.NotFound(w, r)
			return
		case strings.HasSuffix(uri, "/"):
			uri += "index.html"
		case !strings.HasPrefix(uri, "/.well-known/") && !strings.Contains(path.Base(uri), "."):
			uri = "/index.html"
		}
		h := w.Header()
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Content-Security-Policy", "base-uri 'self'; frame-ancestors 'none'; object-src 'none'")
		key := strings.TrimPrefix(path.Clean(uri), "/")
		body, err := os.ReadFile(filepath.Join(dist, filepath.FromSlash(key)))
		if err != nil {
			h.Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"))
			return
		}
		h.Set("Content-Type", publish.ContentType(key))
		h.Set("Cache-Control", rules.CacheControl(key))
		http.ServeContent(w, r, key, time.Time{}, bytes.NewReader(body))
	})
}
