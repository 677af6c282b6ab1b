package publish_test

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks/publish"
)

func TestCacheControl(t *testing.T) {
	everywhere := publish.RuleSet{FingerprintFolders: []string{""}}
	custom := publish.RuleSet{Rules: []publish.CacheRule{
		{Pattern: "sw.js", CacheControl: "no-store"},
		{Pattern: "fonts/*", CacheControl: "public, max-age=86400"},
	}}
	tests := []struct {
		name  string
		rules publish.RuleSet
		key   string
		want  string
	}{
		{"serves HTML no-cache", publish.RuleSet{}, "index.html", publish.CacheNoCache},
		{"serves nested HTML no-cache even with a hash-like name", publish.RuleSet{}, "docs/page-1a2b3c4d.html", publish.CacheNoCache},
		{"serves a Vite chunk immutable", publish.RuleSet{}, "assets/index-Dk3x9QaZ.js", publish.CacheImmutable},
		{"serves a webpack chunk immutable", publish.RuleSet{FingerprintFolders: []string{"static/"}}, "static/js/main.3f2a1b9c.chunk.js", publish.CacheImmutable},
		{"serves an esbuild chunk immutable", everywhere, "chunk-X7KQ2ZPA.js", publish.CacheImmutable},
		{"serves a hashed name outside the fingerprinted folders no-cache", publish.RuleSet{}, "env-config-BwJsDzqP.js", publish.CacheNoCache},
		{"serves a human-named banner no-cache", publish.RuleSet{}, "assets/banner-winter2025.png", publish.CacheNoCache},
		{"serves a hashed source map immutable", publish.RuleSet{}, "assets/index-Dk3x9QaZ.js.map", publish.CacheImmutable},
		{"serves a long hex hash immutable", everywhere, "media/logo.5d5d9eefa31e5e13a6610d9fa7a283bb.svg", publish.CacheImmutable},
		{"serves an unhashed entry file no-cache", publish.RuleSet{}, "sw.js", publish.CacheNoCache},
		{"serves the favicon no-cache", publish.RuleSet{}, "favicon.ico", publish.CacheNoCache},
		{"does not take a word for a hash", publish.RuleSet{}, "js/app-settings.js", publish.CacheNoCache},
		{"does not take a font variant for a hash", publish.RuleSet{}, "fonts/roboto-v30-latin-regular.woff2", publish.CacheNoCache},
		{"does not take image dimensions for a hash", publish.RuleSet{}, "og-image-1200x630.png", publish.CacheNoCache},
		{"does not take a date for a hash", publish.RuleSet{}, "report-20240101.pdf", publish.CacheNoCache},
		{"applies a custom rule by base name first", custom, "sw.js", "no-store"},
		{"applies a custom rule with a directory to the whole key", custom, "fonts/inter.woff2", "public, max-age=86400"},
		{"falls back to the defaults when no custom rule matches", custom, "assets/index-Dk3x9QaZ.js", publish.CacheImmutable},
		{"uses a custom fingerprint pattern", publish.RuleSet{Fingerprint: regexp.MustCompile(`^v[0-9]+-`), FingerprintFolders: []string{""}}, "v12-app.js", publish.CacheImmutable},
		{"ignores the default pattern when a custom one is set", publish.RuleSet{Fingerprint: regexp.MustCompile(`^v[0-9]+-`)}, "assets/index-Dk3x9QaZ.js", publish.CacheNoCache},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rules.CacheControl(tt.key); got != tt.want {
				t.Errorf("CacheControl(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestContentType(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want string
	}{
		{"gives HTML a charset", "index.html", "text/html; charset=utf-8"},
		{"gives JavaScript a charset", "assets/index-Dk3x9QaZ.js", "text/javascript; charset=utf-8"},
		{"gives CSS a charset", "a.CSS", "text/css; charset=utf-8"},
		{"gives source maps the JSON type", "a.js.map", "application/json; charset=utf-8"},
		{"gives SVG a charset", "logo.svg", "image/svg+xml; charset=utf-8"},
		{"gives the web manifest its own type", "site.webmanifest", "application/manifest+json; charset=utf-8"},
		{"gives fonts no charset", "f.woff2", "font/woff2"},
		{"gives WebAssembly its type", "app.wasm", "application/wasm"},
		{"falls back to octet-stream", "LICENSE", "application/octet-stream"},
		{"gives the extensionless Apple app-site association JSON", ".well-known/apple-app-site-association", "application/json; charset=utf-8"},
		{"gives subtitles their type", "captions/en.vtt", "text/vtt; charset=utf-8"},
		{"gives binary glTF its type", "models/robot.glb", "model/gltf-binary"},
		{"gives glTF JSON its type", "models/robot.gltf", "model/gltf+json; charset=utf-8"},
		{"gives AAC audio its type", "audio/intro.m4a", "audio/mp4"},
		{"gives Opus audio its type", "audio/intro.opus", "audio/ogg"},
		{"gives FLAC audio its type", "audio/intro.flac", "audio/x-flac"},
		{"gives JSON-LD its type", "data/org.jsonld", "application/ld+json; charset=utf-8"},
		{"gives animated PNG its type", "img/spinner.apng", "image/apng"},
		{"gives JPEG XL its type", "img/photo.jxl", "image/jxl"},
		{"gives the icon its IANA type", "favicon.ico", "image/vnd.microsoft.icon"},
		{"gives ES modules the JavaScript type", "worker.mjs", "text/javascript; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := publish.ContentType(tt.key); got != tt.want {
				t.Errorf("ContentType(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestParseCacheRule(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    publish.CacheRule
		wantErr bool
	}{
		{"parses pattern and value", "sw.js=no-store", publish.CacheRule{Pattern: "sw.js", CacheControl: "no-store"}, false},
		{"keeps commas and equals signs in the value", "fonts/*= public, max-age=60", publish.CacheRule{Pattern: "fonts/*", CacheControl: "public, max-age=60"}, false},
		{"refuses a rule without a value", "sw.js=", publish.CacheRule{}, true},
		{"refuses a rule without '='", "sw.js", publish.CacheRule{}, true},
		{"refuses a malformed pattern", "[=no-cache", publish.CacheRule{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := publish.ParseCacheRule(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCacheRule(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCacheRule(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
