package fingerprint_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks/publish/fingerprint"
)

func TestRuleMatch(t *testing.T) {
	everywhere := fingerprint.Rule{Folders: []string{""}}
	tests := []struct {
		name string
		rule fingerprint.Rule
		key  string
		want bool
	}{
		// Vite 5-8 (Rollup 4 and Rolldown): 8-character url-safe base64.
		{"takes a Vite entry chunk", fingerprint.Rule{}, "assets/index-BwJsDzqP.js", true},
		{"takes a Vite chunk whose hash holds a dash", fingerprint.Rule{}, "assets/m33-B-65bLgC.js", true},
		{"takes a Rolldown chunk from a real build", fingerprint.Rule{}, "assets/src-XWsjz-dU.js", true},
		{"takes a Vite chunk whose name holds dashes", fingerprint.Rule{}, "assets/_plugin-vue_export-helper-DlAUqK2U.js", true},
		{"takes a Vite chunk whose hash starts with a digit", fingerprint.Rule{}, "assets/_plugin-vue_export-helper-1tPrXgE0.js", true},
		{"takes a Vite legacy chunk", fingerprint.Rule{}, "assets/polyfills-legacy-B97CwC2N.js", true},
		{"takes Vite CSS", fingerprint.Rule{}, "assets/AttachmentDescription-C7xANxVD.css", true},
		{"takes a Vite 4 hex hash", fingerprint.Rule{}, "assets/TextInput-14bc0530.js", true},
		{"takes a hashed source map", fingerprint.Rule{}, "assets/index-BwJsDzqP.js.map", true},
		// esbuild and Angular's application builder: 8 base32 characters.
		{"takes an esbuild chunk", fingerprint.Rule{}, "assets/chunk-X7KQ2ZPA.js", true},
		{"takes an Angular main bundle", everywhere, "main-BS2T3UKF.js", true},
		{"takes Angular polyfills", everywhere, "polyfills-FFHMD2TL.js", true},
		// webpack, Create React App, Next.js, Parcel: hex after "." or "-".
		{"takes a Create React App bundle", fingerprint.Rule{Folders: []string{"static/"}}, "static/js/main.bb9c9b53.js", true},
		{"takes Create React App CSS", fingerprint.Rule{Folders: []string{"static/"}}, "static/css/main.9363e7f5.css", true},
		{"takes a webpack numbered chunk", everywhere, "static/js/787.8b0f2c3a.chunk.js", true},
		{"takes a webpack 5 contenthash", everywhere, "main.6f1b0c2d9e8a7b3c4d5e.js", true},
		{"takes an Angular webpack bundle", everywhere, "runtime.a1b2c3d4e5f6a7b8.js", true},
		{"takes a Next.js chunk", fingerprint.Rule{Folders: []string{"_next/static/"}}, "_next/static/chunks/polyfills-42372ed130431b0a.js", true},
		{"takes a Parcel bundle", everywhere, "index.975ef6c8.js", true},
		{"takes a long hex media hash", everywhere, "media/logo.5d5d9eefa31e5e13a6610d9fa7a283bb.svg", true},
		// Human names.
		{"leaves a human-named banner", everywhere, "assets/banner-winter2025.png", false},
		{"leaves a human name of eight lower-case letters", everywhere, "js/app-settings.js", false},
		{"leaves a name with a short year", everywhere, "assets/banner-winter25.png", false},
		{"leaves a font variant", everywhere, "fonts/roboto-v30-latin-regular.woff2", false},
		{"leaves image dimensions", everywhere, "og-image-1200x630.png", false},
		{"leaves a date", everywhere, "report-20240101.pdf", false},
		{"leaves a dotted date", everywhere, "report.20240101.pdf", false},
		{"leaves a hex-looking word", everywhere, "cafe.deadbeef.png", false},
		{"leaves an unhashed entry file", everywhere, "sw.js", false},
		{"leaves a bare hash without a name", everywhere, "BwJsDzqP.js", false},
		// Folders.
		{"leaves a hashed name outside the fingerprinted folders", fingerprint.Rule{}, "env-config-BwJsDzqP.js", false},
		{"leaves a hashed name outside a stack's own folders", fingerprint.Rule{Folders: []string{"static/"}}, "assets/index-BwJsDzqP.js", false},
		{"reads a key with a leading slash", fingerprint.Rule{}, "/assets/index-BwJsDzqP.js", true},
		// The build manifest.
		{"trusts a listed file with a lower-case hash", fingerprint.Rule{Listed: map[string]bool{"assets/index-abcdqxyz.js": true}}, "assets/index-abcdqxyz.js", true},
		{"leaves an unlisted hashed name when the build has a manifest", fingerprint.Rule{Listed: map[string]bool{"assets/a-BwJsDzqP.js": true}}, "assets/b-BwJsDzqP.js", false},
		{"leaves a listed file without a hash", fingerprint.Rule{Listed: map[string]bool{"assets/main.js": true}}, "assets/main.js", false},
		// A custom pattern.
		{"uses a custom pattern", fingerprint.Rule{Folders: []string{""}, Pattern: regexp.MustCompile(`^v[0-9]+-`)}, "v12-app.js", true},
		{"ignores the built-in patterns when a custom one is set", fingerprint.Rule{Pattern: regexp.MustCompile(`^v[0-9]+-`)}, "assets/index-BwJsDzqP.js", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.Match(tt.key); got != tt.want {
				t.Errorf("Match(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestReadViteManifest(t *testing.T) {
	dir := t.TempDir()
	if got, err := fingerprint.ReadViteManifest(dir); err != nil || got != nil {
		t.Fatalf("ReadViteManifest of a build without a manifest = %v, %v; want nil, nil", got, err)
	}
	manifest := `{
  "index.html": {"file": "assets/index-BwJsDzqP.js", "name": "index", "src": "index.html", "isEntry": true,
    "css": ["assets/index-DiwrgTda.css"], "assets": ["assets/logo-Cz2x1Xd4.svg"], "dynamicImports": ["src/lazy.ts"]},
  "src/lazy.ts": {"file": "assets/lazy-m-3Kq9Zb.js", "name": "lazy", "src": "src/lazy.ts", "isDynamicEntry": true}
}`
	if err := os.MkdirAll(filepath.Join(dir, ".vite"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".vite", "manifest.json"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := fingerprint.ReadViteManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"assets/index-BwJsDzqP.js": true, "assets/index-DiwrgTda.css": true,
		"assets/logo-Cz2x1Xd4.svg": true, "assets/lazy-m-3Kq9Zb.js": true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed keys (-want +got):\n%s", diff)
	}
	if err := os.WriteFile(filepath.Join(dir, ".vite", "manifest.json"), []byte("[1]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fingerprint.ReadViteManifest(dir); err == nil {
		t.Error("ReadViteManifest of a manifest that is not Vite's returned no error")
	}
}

func TestValidateFolders(t *testing.T) {
	if err := fingerprint.ValidateFolders([]string{"assets/", "static/js/", ""}); err != nil {
		t.Errorf("ValidateFolders of good folders: %v", err)
	}
	for _, bad := range []string{"assets", "../x/", "a*/"} {
		if err := fingerprint.ValidateFolders([]string{bad}); err == nil {
			t.Errorf("ValidateFolders(%q) returned no error", bad)
		}
	}
}
