package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

var acceptJSON = http.Header{"Accept": {"application/json"}}

// HealthCheck requires GET URL (a service's /healthz) to answer 2xx
// itself (a redirect is not followed: a health check that redirects, to a
// login or maintenance page, is not the service's), with a body that is not
// HTML (a maintenance or error page served in its place).
type HealthCheck struct {
	Service string // "api" or "mcp"
	URL     string
}

// Name implements Check.
func (h HealthCheck) Name() string { return h.Service + "/healthz" }

// Target implements Check.
func (h HealthCheck) Target() string { return h.URL }

func (h HealthCheck) attempt(ctx context.Context, c *client) (string, error) {
	resp, err := c.fetch(ctx, request{method: http.MethodGet, url: h.URL, noRedirect: true})
	if err != nil {
		return "", err
	}
	if resp.code >= 300 && resp.code < 400 {
		return "", definitivef("%s: answered %d redirecting to %q, want 2xx from the service itself (redirects are not followed)",
			resp.req, resp.code, resp.header.Get("Location"))
	}
	if resp.code < 200 || resp.code > 299 {
		return "", unexpectedStatus(resp.req, resp.finalURL, resp.code, resp.header, resp.body, "2xx")
	}
	if isHTMLBody(resp.header, resp.body) {
		return "", definitivef("%s: answered %d with an HTML page (content type %q, body starts %q), want the service's own health answer (a maintenance page?)",
			resp.req, resp.code, resp.header.Get("Content-Type"), snippet(resp.body))
	}
	return strconv.Itoa(resp.code), nil
}

// isHTMLBody reports whether a response is an HTML page: by its content
// type, or by a body that starts like one.
func isHTMLBody(h http.Header, body []byte) bool {
	if mt := mediaType(h.Get("Content-Type")); mt == "text/html" || mt == "application/xhtml+xml" {
		return true
	}
	start := strings.ToLower(strings.TrimSpace(string(body[:min(len(body), 512)])))
	return strings.HasPrefix(start, "<!doctype html") || strings.HasPrefix(start, "<html")
}

// OpenAPICheck requires GET URL (/openapi.json) to answer 200 with a JSON
// object that has an "openapi" version and "paths".
type OpenAPICheck struct{ URL string }

// Name implements Check.
func (o OpenAPICheck) Name() string { return "api/openapi" }

// Target implements Check.
func (o OpenAPICheck) Target() string { return o.URL }

func (o OpenAPICheck) attempt(ctx context.Context, c *client) (string, error) {
	resp, err := c.fetch(ctx, request{method: http.MethodGet, url: o.URL, header: acceptJSON})
	if err != nil {
		return "", err
	}
	if err := resp.want(http.StatusOK); err != nil {
		return "", err
	}
	var doc map[string]json.RawMessage
	if err := resp.decodeJSON(&doc); err != nil {
		return "", err
	}
	var version string
	if raw, ok := doc["openapi"]; !ok || json.Unmarshal(raw, &version) != nil || version == "" {
		return "", definitivef(`%s: the document has no "openapi" version string (top-level keys: %s)`, resp.req, keysOf(doc))
	}
	var paths map[string]json.RawMessage
	if raw, ok := doc["paths"]; !ok || json.Unmarshal(raw, &paths) != nil || paths == nil {
		return "", definitivef(`%s: the document has no "paths" object (top-level keys: %s)`, resp.req, keysOf(doc))
	}
	return fmt.Sprintf("openapi %s, %s", version, plural(len(paths), "path")), nil
}

// AuthRequiredCheck requires GET URL (an endpoint that needs
// authentication) to answer 401 to a request without credentials. Any 2xx is
// a security failure and is never retried.
type AuthRequiredCheck struct{ URL string }

// Name implements Check.
func (a AuthRequiredCheck) Name() string { return "api/auth-required" }

// Target implements Check.
func (a AuthRequiredCheck) Target() string { return a.URL }

func (a AuthRequiredCheck) attempt(ctx context.Context, c *client) (string, error) {
	resp, err := c.fetch(ctx, request{method: http.MethodGet, url: a.URL, header: acceptJSON})
	if err != nil {
		return "", err
	}
	switch {
	case resp.code == http.StatusUnauthorized:
		return "401 without credentials", nil
	case resp.code >= 200 && resp.code < 300:
		// The body is left out of the message: it may hold the data that
		// should have been protected.
		where := ""
		if resp.finalURL != a.URL {
			where = " after a redirect to " + resp.finalURL
		}
		ct := mediaType(resp.header.Get("Content-Type"))
		if ct == "" {
			ct = "no content type"
		}
		why := "the endpoint is not protected"
		if isHTMLBody(resp.header, resp.body) {
			why = "a maintenance page?"
		}
		return "", definitivef("security: %s without credentials: expected 401, got %d %s%s (%s)",
			resp.req, resp.code, ct, where, why)
	default:
		return "", unexpectedStatus(resp.req, resp.finalURL, resp.code, resp.header, resp.body, "401 without credentials")
	}
}

// VersionCheck requires GET URL (/version) to answer 200 with a JSON object
// that has a "version" and a git sha ("git_sha", "gitSha", "sha" or
// "commit"); a missing field fails at once. The version must be Version and
// the sha match SHA (empty ones are not compared). A mismatch is retried:
// during a rollout the previous tasks still answer.
type VersionCheck struct {
	URL     string
	Version string
	SHA     string
}

// shaKeys are the /version fields read as the git sha, in this order.
var shaKeys = []string{"git_sha", "gitSha", "sha", "commit"}

// Name implements Check.
func (v VersionCheck) Name() string { return "api/version" }

// Target implements Check.
func (v VersionCheck) Target() string { return v.URL }

func (v VersionCheck) attempt(ctx context.Context, c *client) (string, error) {
	resp, err := c.fetch(ctx, request{method: http.MethodGet, url: v.URL, header: acceptJSON})
	if err != nil {
		return "", err
	}
	if err := resp.want(http.StatusOK); err != nil {
		return "", err
	}
	var doc map[string]any
	if err := resp.decodeJSON(&doc); err != nil {
		return "", err
	}
	gotVersion, _ := doc["version"].(string)
	if gotVersion == "" {
		return "", definitivef(`%s: the JSON has no "version" string (top-level keys: %s)`, resp.req, keysOf(doc))
	}
	var gotSHA string
	for _, k := range shaKeys {
		if s, ok := doc[k].(string); ok && s != "" {
			gotSHA = s
			break
		}
	}
	if gotSHA == "" {
		return "", definitivef(`%s: the JSON has version %q but no git sha: want one of the fields "git_sha", "gitSha", "sha" or "commit" (top-level keys: %s)`,
			resp.req, gotVersion, keysOf(doc))
	}
	got := describeVersion(gotVersion, gotSHA)
	if (v.Version != "" && !sameVersion(gotVersion, v.Version)) || (v.SHA != "" && !sameSHA(gotSHA, v.SHA)) {
		return "", fmt.Errorf("%s: serves %s, want %s (the previous release may still be answering)",
			resp.req, got, describeVersion(v.Version, v.SHA))
	}
	return got, nil
}

func describeVersion(version, sha string) string {
	if version == "" {
		version = "any version"
	}
	if sha == "" {
		return version + " (no sha)"
	}
	return version + " sha " + sha
}

func sameVersion(got, want string) bool {
	return strings.TrimPrefix(got, "v") == strings.TrimPrefix(want, "v")
}

// sameSHA compares git shas case-insensitively, a short sha (7 digits or
// more) matching the full one it abbreviates.
func sameSHA(got, want string) bool {
	got, want = strings.ToLower(got), strings.ToLower(want)
	short, long := got, want
	if len(short) > len(long) {
		short, long = long, short
	}
	return len(short) >= 7 && strings.HasPrefix(long, short)
}

// decodeJSON unmarshals the body into v; anything else is a definitive
// failure that shows what the server sent instead.
func (r *response) decodeJSON(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		ct := r.header.Get("Content-Type")
		if ct == "" {
			ct = "none"
		}
		return definitivef("%s: the body is not the JSON object wanted (content type %s, body starts %q): %w",
			r.req, ct, snippet(r.body), err)
	}
	return nil
}

// mediaType returns the lower-case media type of a Content-Type header, or
// "" when it is absent or malformed.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

func keysOf[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strconv.Quote(k))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
