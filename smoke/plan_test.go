package smoke

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks/publish/fingerprint"
)

func TestPlan(t *testing.T) {
	type planned struct{ Name, Target string }
	tests := []struct {
		name    string
		targets Targets
		want    []planned
	}{
		{
			name: "plans every check for every target",
			targets: Targets{
				APIURL:        "https://api.example.com",
				MCPURL:        "https://mcp.example.com/",
				MCPEndpoint:   "/mcp",
				FrontendURL:   "https://app.example.com",
				ExpectVersion: "1.4.2",
				ExpectSHA:     "3f2c9e1",
			},
			want: []planned{
				{"api/healthz", "https://api.example.com/healthz"},
				{"api/openapi", "https://api.example.com/openapi.json"},
				{"api/auth-required", "https://api.example.com/api/v1/experts"},
				{"api/version", "https://api.example.com/version"},
				{"mcp/healthz", "https://mcp.example.com/healthz"},
				{"mcp/tools", "https://mcp.example.com/mcp"},
				{"frontend/entry", "https://app.example.com/"},
				{"frontend/assets", "https://app.example.com/"},
			},
		},
		{
			name:    "keeps a path prefix of the base URL and checks MCP at the default endpoint",
			targets: Targets{MCPURL: "http://10.0.0.7:8080/experts/"},
			want:    []planned{{"mcp/healthz", "http://10.0.0.7:8080/experts/healthz"}, {"mcp/tools", "http://10.0.0.7:8080/experts/mcp"}},
		},
		{
			name:    "plans only the frontend when only its URL is given",
			targets: Targets{FrontendURL: "https://app.example.com/"},
			want:    []planned{{"frontend/entry", "https://app.example.com/"}, {"frontend/assets", "https://app.example.com/"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks, err := Plan(tt.targets)
			if err != nil {
				t.Fatal(err)
			}
			var got []planned
			for _, c := range checks {
				got = append(got, planned{c.Name(), c.Target()})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanPassesExpectationsToTheVersionCheck(t *testing.T) {
	checks, err := Plan(Targets{APIURL: "https://api.example.com", ExpectVersion: "v1.4.2", ExpectSHA: "3f2c9e1"})
	if err != nil {
		t.Fatal(err)
	}
	want := VersionCheck{URL: "https://api.example.com/version", Version: "v1.4.2", SHA: "3f2c9e1"}
	if diff := cmp.Diff(Check(want), checks[3]); diff != "" {
		t.Errorf("version check (-want +got):\n%s", diff)
	}
}

func TestPlanRefusesBadTargets(t *testing.T) {
	tests := []struct {
		name    string
		targets Targets
		wantErr []string
	}{
		{name: "refuses no target at all", wantErr: []string{"no target"}},
		{name: "refuses a URL without a scheme", targets: Targets{APIURL: "api.example.com"}, wantErr: []string{`API URL "api.example.com": scheme must be https or http`}},
		{name: "refuses an ftp URL", targets: Targets{FrontendURL: "ftp://app.example.com"}, wantErr: []string{"frontend URL", "scheme must be https or http"}},
		{name: "refuses a URL without a host", targets: Targets{MCPURL: "https:///mcp"}, wantErr: []string{"has no host"}},
		{name: "refuses a URL that does not parse", targets: Targets{APIURL: "https://api.example.com:port"}, wantErr: []string{"is not a URL", "invalid port"}},
		{name: "refuses surrounding space", targets: Targets{APIURL: " https://api.example.com"}, wantErr: []string{"leading or trailing space"}},
		{
			name:    "refuses credentials in a URL without repeating the password",
			targets: Targets{APIURL: "https://admin:hunter2@api.example.com"},
			wantErr: []string{"must not carry credentials", "admin:xxxxx@"},
		},
		{
			name:    "refuses an ftp URL with credentials without repeating the password",
			targets: Targets{FrontendURL: "ftp://admin:hunter2@app.example.com"},
			wantErr: []string{"scheme must be https or http", "admin:xxxxx@"},
		},
		{
			name:    "refuses surrounding space without repeating the password",
			targets: Targets{APIURL: "https://admin:hunter2@api.example.com\n"},
			wantErr: []string{"leading or trailing space", "admin:xxxxx@"},
		},
		{
			name:    "refuses a URL that does not parse without repeating the password",
			targets: Targets{MCPURL: "https://admin:hunter2@mcp.example.com:port/x?y=@"},
			wantErr: []string{"is not a URL", "admin:xxxxx@mcp.example.com:port/x?y=@"},
		},
		{name: "refuses a query", targets: Targets{APIURL: "https://api.example.com/?x=1"}, wantErr: []string{"must not have a query or fragment"}},
		{name: "refuses a version that is not semver", targets: Targets{APIURL: "https://a.example.com", ExpectVersion: "1.4"}, wantErr: []string{`expected version "1.4" is not a semantic version`}},
		{name: "refuses a sha that is not hex", targets: Targets{APIURL: "https://a.example.com", ExpectSHA: "main"}, wantErr: []string{`expected sha "main" is not a git sha`}},
		{name: "refuses a version without the API", targets: Targets{FrontendURL: "https://app.example.com", ExpectVersion: "1.4.2"}, wantErr: []string{"needs the API URL"}},
		{name: "refuses a fingerprinted folder without a trailing slash", targets: Targets{FrontendURL: "https://app.example.com", Fingerprint: fingerprint.Rule{Folders: []string{"static"}}}, wantErr: []string{`fingerprinted folder "static" must end in /`}},
		{name: "refuses an MCP endpoint without the MCP URL", targets: Targets{APIURL: "https://a.example.com", MCPEndpoint: "/mcp"}, wantErr: []string{"needs the MCP URL"}},
		{name: "refuses an MCP endpoint that is not a path", targets: Targets{MCPURL: "https://m.example.com", MCPEndpoint: "mcp"}, wantErr: []string{`MCP endpoint "mcp" is not a path`}},
		{
			name:    "reports every problem at once",
			targets: Targets{APIURL: "ftp://a", FrontendURL: "b", ExpectSHA: "zz"},
			wantErr: []string{"API URL", "frontend URL", "expected sha"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks, err := Plan(tt.targets)
			if err == nil {
				t.Fatalf("Plan returned %d checks and no error", len(checks))
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}
