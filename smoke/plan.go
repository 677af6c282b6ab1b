package smoke

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/experts/platform/stacks/publish/fingerprint"
)

// Check is one smoke check. Plan builds them; Runner.Run runs them.
type Check interface {
	// Name identifies the check in reports, such as "api/healthz".
	Name() string
	// Target is the URL the check starts from.
	Target() string
	// attempt runs the check once and returns a short detail of what it
	// saw on success. A definitive failure stops the check; any other is
	// retried within the policy.
	attempt(ctx context.Context, c *client) (detail string, err error)
}

// Paths probed under the target URLs.
const (
	PathHealth    = "/healthz"
	PathOpenAPI   = "/openapi.json"
	PathProtected = "/api/v1/experts"
	PathVersion   = "/version"
	// DefaultMCPEndpoint is where the MCP server speaks Streamable HTTP.
	DefaultMCPEndpoint = "/mcp"
)

// Targets says what to check. Empty URLs are skipped; at least one is
// required. URLs are bases: an API at https://api.example.com has its
// health at https://api.example.com/healthz.
type Targets struct {
	APIURL      string
	MCPURL      string
	FrontendURL string
	// MCPEndpoint is the path of the MCP Streamable HTTP endpoint under
	// MCPURL ("": DefaultMCPEndpoint). Whenever MCPURL is given, the MCP
	// server must complete initialize and tools/list there and offer at
	// least one tool: a /healthz alone passes for a maintenance page.
	MCPEndpoint string
	// Fingerprint is the publisher's rule of which files are fingerprinted
	// (the zero rule: hashed names under assets/); only those must be
	// served immutable.
	Fingerprint fingerprint.Rule
	// ExpectVersion and ExpectSHA are what the API's /version must report
	// (semver, with or without a leading v; a git sha of 7 to 64 hex
	// digits, compared as a prefix either way).
	ExpectVersion string
	ExpectSHA     string
}

var (
	semverRE = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
		`(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?` +
		`(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`)
	shaRE = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)
)

// Plan validates t and returns its checks, API first, then MCP, then
// frontend. The error lists every problem in t.
func Plan(t Targets) ([]Check, error) {
	var (
		checks []Check
		errs   []error
	)
	if t.APIURL == "" && t.MCPURL == "" && t.FrontendURL == "" {
		errs = append(errs, errors.New("no target: give at least one of the API, MCP and frontend URLs"))
	}
	if t.APIURL != "" {
		base, err := parseBaseURL("API", t.APIURL)
		if err != nil {
			errs = append(errs, err)
		} else {
			checks = append(checks,
				HealthCheck{Service: "api", URL: joinPath(base, PathHealth)},
				OpenAPICheck{URL: joinPath(base, PathOpenAPI)},
				AuthRequiredCheck{URL: joinPath(base, PathProtected)},
				VersionCheck{URL: joinPath(base, PathVersion), Version: t.ExpectVersion, SHA: t.ExpectSHA},
			)
		}
	} else if t.ExpectVersion != "" || t.ExpectSHA != "" {
		errs = append(errs, errors.New("an expected version or sha needs the API URL: /version is served by the API"))
	}
	if t.ExpectVersion != "" && !semverRE.MatchString(t.ExpectVersion) {
		errs = append(errs, fmt.Errorf("expected version %q is not a semantic version such as 1.4.2", t.ExpectVersion))
	}
	if t.ExpectSHA != "" && !shaRE.MatchString(t.ExpectSHA) {
		errs = append(errs, fmt.Errorf("expected sha %q is not a git sha (7 to 64 hex digits)", t.ExpectSHA))
	}
	if t.MCPURL != "" {
		base, err := parseBaseURL("MCP", t.MCPURL)
		if err != nil {
			errs = append(errs, err)
		} else {
			checks = append(checks, HealthCheck{Service: "mcp", URL: joinPath(base, PathHealth)})
			endpoint := t.MCPEndpoint
			if endpoint == "" {
				endpoint = DefaultMCPEndpoint
			}
			if !strings.HasPrefix(endpoint, "/") || strings.ContainsAny(endpoint, "?# ") {
				errs = append(errs, fmt.Errorf("MCP endpoint %q is not a path such as /mcp", endpoint))
			} else {
				checks = append(checks, MCPToolsCheck{URL: joinPath(base, endpoint)})
			}
		}
	} else if t.MCPEndpoint != "" {
		errs = append(errs, errors.New("an MCP endpoint needs the MCP URL"))
	}
	if t.FrontendURL != "" {
		base, err := parseBaseURL("frontend", t.FrontendURL)
		if err != nil {
			errs = append(errs, err)
		} else {
			page := joinPath(base, "/")
			if err := fingerprint.ValidateFolders(t.Fingerprint.Folders); err != nil {
				errs = append(errs, err)
			}
			checks = append(checks, FrontendEntryCheck{URL: page}, FrontendAssetsCheck{URL: page, Fingerprint: t.Fingerprint})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return checks, nil
}

// parseBaseURL accepts an absolute http or https URL with a host, no
// credentials, no query and no fragment. Its messages never repeat a
// password, even of a URL that does not parse.
func parseBaseURL(what, raw string) (*url.URL, error) {
	shown := redactURL(raw)
	if strings.TrimSpace(raw) != raw {
		return nil, fmt.Errorf("%s URL %q has leading or trailing space", what, shown)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s URL %q is not a URL: %w", what, shown, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%s URL %q: scheme must be https or http", what, shown)
	case u.Opaque != "" || u.Hostname() == "":
		return nil, fmt.Errorf("%s URL %q has no host (want a URL such as https://api.example.com)", what, shown)
	case u.User != nil:
		return nil, fmt.Errorf("%s URL %q must not carry credentials", what, u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%s URL %q must not have a query or fragment", what, shown)
	}
	return u, nil
}

// redactURL replaces the password of raw's user info with "xxxxx", as
// url.URL.Redacted does, reading the user info as text so that it works on
// a URL that does not parse: the authority is what follows "//" up to "?"
// or "#", and the user info what comes before its last "@".
func redactURL(raw string) string {
	_, rest, ok := strings.Cut(raw, "//")
	if !ok {
		return raw
	}
	from := len(raw) - len(rest)
	if end := strings.IndexAny(rest, "?#"); end >= 0 {
		rest = rest[:end]
	}
	at := strings.LastIndex(rest, "@")
	colon := strings.Index(rest[:max(at, 0)], ":")
	if at < 0 || colon < 0 {
		return raw
	}
	return raw[:from+colon+1] + "xxxxx" + raw[from+at:]
}

// joinPath appends path to the path of base.
func joinPath(base *url.URL, path string) string {
	u := *base
	u.Path = strings.TrimSuffix(base.Path, "/") + path
	u.RawPath = ""
	return u.String()
}
