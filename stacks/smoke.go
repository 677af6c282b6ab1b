package stacks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/smoke"
)

// SmokeGate is the Smoker of a release: the smoke package's checks of one
// service against its public URL; the api's /version must report the
// release's version and sha.
type SmokeGate struct {
	Policy smoke.Policy
	Logger *slog.Logger
	// MCPEndpoint is the path of the MCP endpoint ("/mcp"); empty checks
	// the MCP server's health only.
	MCPEndpoint string
	// ArtifactsDir receives smoke-<service>-<version>.txt. Empty writes
	// nothing.
	ArtifactsDir string
}

// Smoke implements Smoker.
func (g *SmokeGate) Smoke(ctx context.Context, service, url string, want infra.Release) error {
	var t smoke.Targets
	switch service {
	case infra.ServiceAPI:
		t = smoke.Targets{APIURL: url, ExpectVersion: want.Version, ExpectSHA: want.GitSha}
	case infra.ServiceMCP:
		t = smoke.Targets{MCPURL: url, MCPEndpoint: g.MCPEndpoint}
	default:
		return fmt.Errorf("no smoke checks for service %q", service)
	}
	checks, err := smoke.Plan(t)
	if err != nil {
		return fmt.Errorf("plan smoke checks: %w", err)
	}
	report, err := (&smoke.Runner{Policy: g.Policy, Logger: g.Logger}).Run(ctx, checks)
	if g.ArtifactsDir != "" && report != nil {
		var b bytes.Buffer
		if werr := report.WriteText(&b); werr == nil {
			path := filepath.Join(g.ArtifactsDir, fmt.Sprintf("smoke-%s-%s.txt", service, want.Version))
			if mkErr := os.MkdirAll(g.ArtifactsDir, 0o750); mkErr == nil {
				_ = os.WriteFile(path, b.Bytes(), 0o600)
			}
		}
	}
	if err == nil {
		return nil
	}
	if report != nil {
		var parts []string
		for _, f := range report.Failed() {
			parts = append(parts, f.Check+": "+oneLine(f.Err))
		}
		if len(parts) > 0 && errors.Is(err, smoke.ErrFailed) {
			return fmt.Errorf("%w: %s", smoke.ErrFailed, strings.Join(parts, "; "))
		}
	}
	return err
}
