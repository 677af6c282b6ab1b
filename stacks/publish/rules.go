package publish

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Cache-Control values of the default rules.
const (
	CacheImmutable = "public, max-age=31536000, immutable"
	CacheNoCache   = "no-cache"
)

// DefaultFingerprint matches file names that carry a content hash just
// before the extension, as Vite, webpack, Create React App, Angular and
// esbuild name their output: "index-4f3a9c1b.js", "main.3f2a1b9c.chunk.css",
// "chunk-X7KQ2ZPA.js", "logo.a1b2c3d4e5f6.svg". The hash is at least 8
// letters, digits or underscores after a "." or "-", and RuleSet.Fingerprinted
// also requires it to hold both a letter and a digit and not to look like a
// size ("1200x630"). A hash that happens to have no digit is not recognized:
// such a file is served no-cache, which is slower but never stale.
var DefaultFingerprint = regexp.MustCompile(`[.-]([A-Za-z0-9_]{8,})(\.chunk)?\.[A-Za-z0-9]+(\.map)?$`)

var dimensions = regexp.MustCompile(`^[0-9]+x[0-9]+$`)

// CacheRule sets the Cache-Control of the files whose key matches Pattern.
// A pattern without "/" is matched against the file's base name, one with
// "/" against the whole key (path.Match syntax: "*", "?", "[...]").
type CacheRule struct {
	Pattern      string `json:"pattern"`
	CacheControl string `json:"cacheControl"`
}

// ParseCacheRule parses "PATTERN=CACHE-CONTROL", the form of the
// --cache-control flag.
func ParseCacheRule(s string) (CacheRule, error) {
	pattern, value, ok := strings.Cut(s, "=")
	pattern, value = strings.TrimSpace(pattern), strings.TrimSpace(value)
	if !ok || pattern == "" || value == "" {
		return CacheRule{}, fmt.Errorf("cache rule %q: want PATTERN=CACHE-CONTROL, such as 'sw.js=no-store'", s)
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return CacheRule{}, fmt.Errorf("cache rule %q: bad pattern: %w", s, err)
	}
	return CacheRule{Pattern: pattern, CacheControl: value}, nil
}

func (r CacheRule) matches(key string) bool {
	name := key
	if !strings.Contains(r.Pattern, "/") {
		name = path.Base(key)
	}
	ok, err := path.Match(r.Pattern, name)
	return err == nil && ok
}

// RuleSet decides the headers of each file. The zero value applies the
// defaults: HTML no-cache, fingerprinted files immutable, the rest no-cache.
type RuleSet struct {
	// Rules are tried first, in order; the first match wins.
	Rules []CacheRule
	// Fingerprint recognizes fingerprinted file names (base name only);
	// nil means DefaultFingerprint. When it has a capture group, the first
	// group is the hash and must hold a letter and a digit.
	Fingerprint *regexp.Regexp
}

// CacheControl returns the Cache-Control header for key.
func (rs RuleSet) CacheControl(key string) string {
	for _, r := range rs.Rules {
		if r.matches(key) {
			return r.CacheControl
		}
	}
	if isHTML(key) {
		return CacheNoCache
	}
	if rs.Fingerprinted(key) {
		return CacheImmutable
	}
	return CacheNoCache
}

// Fingerprinted reports whether the base name of key carries a content hash.
func (rs RuleSet) Fingerprinted(key string) bool {
	re := rs.Fingerprint
	if re == nil {
		re = DefaultFingerprint
	}
	m := re.FindStringSubmatch(path.Base(key))
	if m == nil {
		return false
	}
	if len(m) < 2 {
		return true
	}
	hash := m[1]
	return strings.ContainsAny(hash, "0123456789") &&
		strings.ContainsAny(strings.ToLower(hash), "abcdefghijklmnopqrstuvwxyz") &&
		!dimensions.MatchString(hash)
}

func isHTML(key string) bool {
	ext := strings.ToLower(path.Ext(key))
	return ext == ".html" || ext == ".htm"
}

func isImmutable(cacheControl string) bool {
	return strings.Contains(strings.ToLower(cacheControl), "immutable")
}

// contentTypes maps extensions to Content-Type. The table is ours rather
// than the system's mime database so that a publish sets the same headers
// on every machine. Text types carry charset=utf-8.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".cjs":         "text/javascript; charset=utf-8",
	".json":        "application/json; charset=utf-8",
	".map":         "application/json; charset=utf-8",
	".webmanifest": "application/manifest+json; charset=utf-8",
	".xml":         "application/xml; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".svg":         "image/svg+xml; charset=utf-8",
	".wasm":        "application/wasm",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/vnd.microsoft.icon",
	".bmp":         "image/bmp",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".eot":         "application/vnd.ms-fontobject",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
	".mp3":         "audio/mpeg",
	".ogg":         "audio/ogg",
	".wav":         "audio/wav",
	".pdf":         "application/pdf",
	".zip":         "application/zip",
}

// ContentType returns the Content-Type for key by its extension, and
// application/octet-stream for an extension it does not know.
func ContentType(key string) string {
	if ct, ok := contentTypes[strings.ToLower(path.Ext(key))]; ok {
		return ct
	}
	return "application/octet-stream"
}
