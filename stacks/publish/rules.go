package publish

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/experts/platform/stacks/publish/fingerprint"
)

// Cache-Control values of the default rules.
const (
	CacheImmutable = "public, max-age=31536000, immutable"
	CacheNoCache   = "no-cache"
)

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
	// Fingerprint, when set, replaces the built-in patterns of hashed
	// names (see fingerprint.Rule.Pattern).
	Fingerprint *regexp.Regexp
	// FingerprintFolders are the folders whose hashed names are trusted
	// (nil: fingerprint.DefaultFolders, assets/).
	FingerprintFolders []string

	// listed is the build manifest's output, set by Plan when the dist
	// has one (fingerprint.ViteManifest).
	listed map[string]bool
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

// Fingerprinted reports whether key carries a content hash.
func (rs RuleSet) Fingerprinted(key string) bool {
	return rs.FingerprintRule().Match(key)
}

// FingerprintRule is the rule that decides which files are fingerprinted,
// for the smoke gate to require immutable on the same files. (A build
// manifest, read during Plan, is part of it there.)
func (rs RuleSet) FingerprintRule() fingerprint.Rule {
	return fingerprint.Rule{Folders: rs.FingerprintFolders, Pattern: rs.Fingerprint, Listed: rs.listed}
}

func isHTML(key string) bool {
	ext := strings.ToLower(path.Ext(key))
	return ext == ".html" || ext == ".htm"
}

func isImmutable(cacheControl string) bool {
	return strings.Contains(strings.ToLower(cacheControl), "immutable")
}

//go:generate bash internal/mimegen/gen.sh

// contentTypeOverrides are the names whose type the extension does not
// tell: Apple's app-site association file has none and must be JSON.
var contentTypeOverrides = map[string]string{
	"apple-app-site-association": "application/json",
}

// mimeType is an entry of mimeDB (contenttypes_table.go, generated from
// mime-db).
type mimeType struct {
	name string
	utf8 bool
}

// ContentType returns the Content-Type for key: by its base name for the
// few files without an extension that browsers and platforms fetch
// (apple-app-site-association), else by extension from mime-db (pinned,
// see contenttypes_table.go), and application/octet-stream for an
// extension it does not know. Text types, JSON, XML and SVG carry
// charset=utf-8, so that the same headers are set on every machine.
func ContentType(key string) string {
	name, ok := contentTypeOverrides[path.Base(key)]
	utf8 := false
	if !ok {
		t, known := mimeDB[strings.ToLower(path.Ext(key))]
		if !known {
			return "application/octet-stream"
		}
		name, utf8 = t.name, t.utf8
	}
	if utf8 || strings.HasPrefix(name, "text/") || name == "application/json" || name == "application/xml" ||
		strings.HasSuffix(name, "+json") || strings.HasSuffix(name, "+xml") {
		return name + "; charset=utf-8"
	}
	return name
}
