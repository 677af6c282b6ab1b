// Package fingerprint decides which files of a built frontend carry a
// content hash in their name and may therefore be cached for ever. The
// publisher uses it to serve those files immutable and the smoke gate to
// require immutable on exactly those files, so the two never disagree.
//
// Names are recognized as real bundlers write them:
//
//   - Vite, Rollup and Rolldown: "[name]-[hash]" with an 8-character
//     url-safe base64 hash ("index-BwJsDzqP.js", "m33-B-65bLgC.js"): "-" and
//     "_" belong to the alphabet and many hashes have no digit;
//   - esbuild and Angular's application builder: "[name]-[hash]" with an
//     8-character base32 hash ("chunk-X7KQ2ZPA.js", "main-2XDDEZXZ.js");
//   - webpack, Create React App, Angular's older builder and Parcel:
//     "[name].[contenthash]" with 8 to 64 hex digits ("main.3f2a1b9c.js",
//     "787.8b0f2c3a.chunk.js", "runtime.a1b2c3d4e5f6a7b8.js",
//     "index.975ef6c8.js").
//
// A human-chosen name can look like a hash ("banner-Winter25.png"), so names
// are only trusted inside the folders a site declares fingerprinted
// (DefaultFolders: "assets/", where Vite writes), and a build manifest that
// lists the bundler's own output (Vite's .vite/manifest.json) is preferred
// to names whenever the build has one.
package fingerprint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultFolders are the folders whose hashed names are trusted when a site
// declares none: Vite's and Rolldown's default assetsDir.
var DefaultFolders = []string{"assets/"}

// ViteManifest is where Vite (5 and later, with build.manifest) writes the
// manifest of its output, relative to the dist directory.
const ViteManifest = ".vite/manifest.json"

// Rule recognizes fingerprinted files by their slash-separated key relative
// to the site root ("assets/index-BwJsDzqP.js"). The zero Rule trusts hashed
// names under DefaultFolders.
type Rule struct {
	// Folders are the key prefixes under which hashed names are trusted,
	// each ending in "/"; "" (or "/") trusts the whole site. Nil means
	// DefaultFolders.
	Folders []string
	// Pattern, when set, replaces the built-in name patterns: it is matched
	// against the base name, and when it has a capture group the group is
	// the hash and must hold a letter and a digit.
	Pattern *regexp.Regexp
	// Listed, when not nil, is the set of keys the bundler's manifest names
	// as its output: only those can be fingerprinted, wherever they are,
	// and a listed file needs only a hash-shaped name (any 8-character
	// url-safe base64 or hex hash), since the bundler vouches for it.
	Listed map[string]bool
}

// Match reports whether key names a fingerprinted file.
func (r Rule) Match(key string) bool {
	key = strings.TrimPrefix(key, "/")
	if r.Listed != nil {
		return r.Listed[key] && r.nameMatches(path.Base(key), true)
	}
	return r.inFolders(key) && r.nameMatches(path.Base(key), false)
}

func (r Rule) inFolders(key string) bool {
	folders := r.Folders
	if folders == nil {
		folders = DefaultFolders
	}
	for _, f := range folders {
		f = strings.TrimPrefix(f, "/")
		if f == "" || strings.HasPrefix(key, f) {
			return true
		}
	}
	return false
}

func (r Rule) nameMatches(base string, listed bool) bool {
	if r.Pattern == nil {
		return HashedName(base, listed)
	}
	m := r.Pattern.FindStringSubmatch(base)
	if m == nil {
		return false
	}
	if len(m) < 2 {
		return true
	}
	return strings.ContainsAny(m[1], digits) && strings.ContainsAny(strings.ToLower(m[1]), lowerLetters)
}

// ValidateFolders checks folders as a user gives them: relative
// slash-separated prefixes ending in "/" (or "" for the whole site).
func ValidateFolders(folders []string) error {
	var errs []error
	for _, f := range folders {
		switch {
		case f == "" || f == "/":
		case !strings.HasSuffix(f, "/"):
			errs = append(errs, fmt.Errorf("fingerprinted folder %q must end in /, such as assets/", f))
		case strings.Contains(f, "\\") || strings.Contains(f, "..") || strings.ContainsAny(f, "*?["):
			errs = append(errs, fmt.Errorf("fingerprinted folder %q must be a plain path such as assets/ or static/js/", f))
		}
	}
	return errors.Join(errs...)
}

const (
	digits       = "0123456789"
	lowerLetters = "abcdefghijklmnopqrstuvwxyz"
	upperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	base64URL    = digits + lowerLetters + upperLetters + "-_"
)

// hexHash is a webpack/Parcel content hash at the end of a name's stem.
var hexHash = regexp.MustCompile(`[.-]([0-9a-f]{8,64})$`)

// HashedName reports whether a base name carries a bundler's content hash.
// Strictly (lenient false) a base64 hash must hold an upper-case letter,
// since a lower-case word of eight letters ("settings") is far likelier to
// be a name than a hash, and a hex hash must hold a letter and a digit (a
// date such as 20240101 is not a hash). A lenient match, for files a build
// manifest vouches for, takes any hash of the right shape.
func HashedName(base string, lenient bool) bool {
	s := stem(base)
	if m := hexHash.FindStringSubmatch(s); m != nil && len(s) > len(m[0]) {
		h := m[1]
		if lenient || (strings.ContainsAny(h, digits) && strings.Trim(h, digits) != "") {
			return true
		}
	}
	// [name]-[hash]: the hash is the last eight characters, after a "-",
	// and may itself hold "-" and "_".
	if len(s) < 10 || s[len(s)-9] != '-' {
		return false
	}
	h := s[len(s)-8:]
	if strings.Trim(h, base64URL) != "" {
		return false
	}
	return lenient || strings.ContainsAny(h, upperLetters)
}

// stem strips a base name's extension, and the ".map" of a source map and
// the ".chunk" of a webpack chunk before it.
func stem(base string) string {
	s := strings.TrimSuffix(base, ".map")
	s = strings.TrimSuffix(s, path.Ext(s))
	s = strings.TrimSuffix(s, ".chunk")
	return s
}

// viteChunk is the part of a Vite manifest entry that names output files.
type viteChunk struct {
	File   string   `json:"file"`
	CSS    []string `json:"css"`
	Assets []string `json:"assets"`
}

// ReadViteManifest reads dir's Vite manifest and returns the output keys it
// lists, or nil (and no error) when the build has none.
func ReadViteManifest(dir string) (map[string]bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ViteManifest))) //nolint:gosec // the dist directory is the one the user asked to publish
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the build manifest: %w", err)
	}
	return ParseViteManifest(data)
}

// ParseViteManifest returns the output keys a Vite manifest lists: every
// entry's file, CSS and assets.
func ParseViteManifest(data []byte) (map[string]bool, error) {
	var chunks map[string]viteChunk
	if err := json.Unmarshal(data, &chunks); err != nil {
		return nil, fmt.Errorf("the build manifest %s is not a Vite manifest: %w", ViteManifest, err)
	}
	listed := map[string]bool{}
	add := func(k string) {
		if k = strings.TrimPrefix(k, "/"); k != "" {
			listed[k] = true
		}
	}
	for _, c := range chunks {
		add(c.File)
		for _, k := range c.CSS {
			add(k)
		}
		for _, k := range c.Assets {
			add(k)
		}
	}
	return listed, nil
}
