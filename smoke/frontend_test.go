package smoke

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	htmlType  = "text/html; charset=utf-8"
	jsType    = "text/javascript; charset=utf-8"
	cssType   = "text/css; charset=utf-8"
	noCache   = "no-cache"
	immutable = "public, max-age=31536000, immutable"
	indexHTML = `<!doctype html>
<html><head>
<meta charset="utf-8">
<script type="module" crossorigin src="/assets/index-3f2c9e1a.js"></script>
<link rel="modulepreload" crossorigin href="/assets/vendor-77aa01bc.js">
<link rel="stylesheet" crossorigin href="assets/index-c0ffee12.css">
<link rel="icon" href="/favicon.ico">
<script src="https://cdn.example.net/analytics.js" async></script>
<script>window.boot = true</script>
</head><body><div id="root"></div>
<script type="module" src="/assets/index-3f2c9e1a.js#again"></script>
</body></html>`
)

// siteFile is one file of a fake site.
type siteFile struct {
	status       int
	contentType  string
	cacheControl string
	body         string
}

// site serves files by path like CloudFront in front of the bucket: an
// unknown path gets the SPA fallback, index.html with 200. A path with
// several replies answers them in turn, the last one repeated.
type site struct {
	mu    sync.Mutex
	files map[string][]siteFile
	hits  map[string]int
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	replies, ok := s.files[r.URL.Path]
	if !ok {
		replies = s.files["/"]
	}
	n := s.hits[r.URL.Path]
	s.hits[r.URL.Path]++
	s.mu.Unlock()
	f := replies[min(n, len(replies)-1)]
	w.Header().Set("Content-Type", f.contentType)
	if f.cacheControl != "" {
		w.Header().Set("Cache-Control", f.cacheControl)
	}
	w.WriteHeader(f.status)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(f.body))
	}
}

// healthySite returns the files of a well-published site, changed by edit.
func healthySite(edit func(files map[string][]siteFile)) *site {
	files := map[string][]siteFile{
		"/":                            {{status: 200, contentType: htmlType, cacheControl: noCache, body: indexHTML}},
		"/assets/index-3f2c9e1a.js":    {{status: 200, contentType: jsType, cacheControl: immutable, body: "export {}"}},
		"/assets/vendor-77aa01bc.js":   {{status: 200, contentType: "application/javascript", cacheControl: immutable, body: "export {}"}},
		"/assets/index-c0ffee12.css":   {{status: 200, contentType: cssType, cacheControl: immutable, body: "body{}"}},
		"/favicon.ico":                 {{status: 200, contentType: "image/x-icon", cacheControl: "max-age=60"}},
		"/assets/never-referenced.txt": {{status: 500}},
	}
	if edit != nil {
		edit(files)
	}
	return &site{files: files, hits: map[string]int{}}
}

func TestFrontendEntryCheck(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(map[string][]siteFile)
		want     outcome
		wantText []string
	}{
		{
			name:     "passes when HEAD / answers 200 with no-cache",
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"Cache-Control: no-cache"},
		},
		{
			name: "passes on no-cache among other directives",
			edit: func(f map[string][]siteFile) {
				f["/"][0].cacheControl = "public, No-Cache, max-age=0"
			},
			want: outcome{Passed: true, Attempts: 1},
		},
		{
			name: "fails at once when the HTML may be cached",
			edit: func(f map[string][]siteFile) {
				f["/"][0].cacheControl = "public, max-age=300"
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{`HEAD`, `Cache-Control is "public, max-age=300", want no-cache`},
		},
		{
			name: "retries a 503 from the distribution",
			edit: func(f map[string][]siteFile) {
				f["/"] = append([]siteFile{{status: 503}}, f["/"]...)
			},
			want: outcome{Passed: true, Attempts: 2},
		},
		{
			name: "fails at once on 403 from a bucket without access",
			edit: func(f map[string][]siteFile) {
				f["/"] = []siteFile{{status: 403, contentType: "application/xml"}}
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"403 Forbidden, want 200"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(healthySite(tt.edit))
			t.Cleanup(srv.Close)
			res := runOne(t.Context(), t, testPolicy(), FrontendEntryCheck{URL: srv.URL + "/"})
			assertResult(t, res, tt.want, tt.wantText...)
		})
	}
}

func TestFrontendAssetsCheck(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(map[string][]siteFile)
		want     outcome
		wantText []string
	}{
		{
			name:     "passes when every script and stylesheet is served immutable",
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"3 assets (1 on other origins not checked)"},
		},
		{
			name: "fails at once naming an asset that the SPA fallback answers with HTML",
			edit: func(f map[string][]siteFile) {
				delete(f, "/assets/vendor-77aa01bc.js")
			},
			want: outcome{Attempts: 1, Definitive: true},
			wantText: []string{"1 of 3 assets failed", "/assets/vendor-77aa01bc.js",
				`content type "text/html; charset=utf-8", want text/javascript for a script`},
		},
		{
			name: "fails at once on a stylesheet without the immutable cache header",
			edit: func(f map[string][]siteFile) {
				f["/assets/index-c0ffee12.css"][0].cacheControl = "max-age=3600"
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"/assets/index-c0ffee12.css", `Cache-Control is "max-age=3600", want immutable`},
		},
		{
			name: "passes an unhashed entry script served no-cache",
			edit: func(f map[string][]siteFile) {
				f["/"][0].body = strings.Replace(indexHTML, "</head>", `<script src="/env-config.js"></script></head>`, 1)
				f["/env-config.js"] = []siteFile{{status: 200, contentType: jsType, cacheControl: noCache, body: "window.env={}"}}
			},
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"4 assets"},
		},
		{
			name: "fails at once on a Vite chunk whose hash has no digit served no-cache",
			edit: func(f map[string][]siteFile) {
				f["/"][0].body = strings.Replace(indexHTML, "</head>", `<script type="module" src="/assets/m33-B-xbLgCq.js"></script></head>`, 1)
				f["/assets/m33-B-xbLgCq.js"] = []siteFile{{status: 200, contentType: jsType, cacheControl: noCache, body: "export {}"}}
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"/assets/m33-B-xbLgCq.js", `Cache-Control is "no-cache", want immutable`},
		},
		{
			name: "fails at once on a stylesheet served as octet-stream",
			edit: func(f map[string][]siteFile) {
				f["/assets/index-c0ffee12.css"][0].contentType = "binary/octet-stream"
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{`want text/css for a stylesheet`},
		},
		{
			name: "fails at once listing every missing asset",
			edit: func(f map[string][]siteFile) {
				f["/assets/index-3f2c9e1a.js"] = []siteFile{{status: 404, contentType: "application/xml", body: "<Error><Code>NoSuchKey</Code></Error>"}}
				f["/assets/index-c0ffee12.css"] = []siteFile{{status: 404}}
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"2 of 3 assets failed", "index-3f2c9e1a.js: 404 Not Found", "NoSuchKey", "index-c0ffee12.css: 404 Not Found"},
		},
		{
			name: "retries an asset that answers 503 once",
			edit: func(f map[string][]siteFile) {
				f["/assets/index-3f2c9e1a.js"] = append([]siteFile{{status: 503}}, f["/assets/index-3f2c9e1a.js"]...)
			},
			want: outcome{Passed: true, Attempts: 2},
		},
		{
			name: "fails at once when / is not HTML",
			edit: func(f map[string][]siteFile) {
				f["/"][0] = siteFile{status: 200, contentType: "application/json", body: `{"error":"wrong origin"}`}
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{`content type "application/json", want text/html`, "wrong origin"},
		},
		{
			name: "fails at once when the HTML references no assets",
			edit: func(f map[string][]siteFile) {
				f["/"][0].body = "<html><body>It works!</body></html>"
			},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"references no script or stylesheet on its own origin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(healthySite(tt.edit))
			t.Cleanup(srv.Close)
			res := runOne(t.Context(), t, testPolicy(), FrontendAssetsCheck{URL: srv.URL + "/"})
			assertResult(t, res, tt.want, tt.wantText...)
		})
	}
}

func TestHTMLAssets(t *testing.T) {
	page, err := url.Parse("https://app.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		html string
		want []asset
	}{
		{
			name: "finds scripts, module preloads and stylesheets once each",
			html: indexHTML,
			want: []asset{
				{url: "https://app.example.com/assets/index-3f2c9e1a.js", kind: assetScript},
				{url: "https://app.example.com/assets/vendor-77aa01bc.js", kind: assetScript},
				{url: "https://app.example.com/assets/index-c0ffee12.css", kind: assetStylesheet},
				{url: "https://cdn.example.net/analytics.js", kind: assetScript},
			},
		},
		{
			name: "resolves against the base element",
			html: `<base href="/v2/"><script src="app.js"></script><link rel="preload" as="style" href="app.css">`,
			want: []asset{
				{url: "https://app.example.com/v2/app.js", kind: assetScript},
				{url: "https://app.example.com/v2/app.css", kind: assetStylesheet},
			},
		},
		{
			name: "leaves out inline scripts and data URLs",
			html: `<script>1</script><script src="data:text/javascript,1"></script><link rel="stylesheet" href="  ">`,
		},
		{
			name: "reads upper-case tags and rel values",
			html: `<SCRIPT SRC="/a.js"></SCRIPT><LINK REL="Stylesheet" HREF="/a.css">`,
			want: []asset{
				{url: "https://app.example.com/a.js", kind: assetScript},
				{url: "https://app.example.com/a.css", kind: assetStylesheet},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := htmlAssets([]byte(tt.html), page)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(asset{})); diff != "" {
				t.Errorf("assets (-want +got):\n%s", diff)
			}
		})
	}
}
