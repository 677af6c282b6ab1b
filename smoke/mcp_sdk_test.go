package smoke

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/experts/platform/internal/npmtest"
)

// TestMCPCheckAgainstTheOfficialSDK runs the MCP gate against servers built
// with the official TypeScript SDK (@modelcontextprotocol/sdk, pinned in
// testdata/mcp-servers/package-lock.json), stateful and stateless, answering
// with JSON and with server-sent events.
func TestMCPCheckAgainstTheOfficialSDK(t *testing.T) {
	node := npmtest.Node(t)
	fixture := filepath.Join("testdata", "mcp-servers")
	dir := npmtest.CopyFixture(t, fixture)
	for _, mode := range []string{"stateful", "stateless"} {
		for _, reply := range []string{"json", "sse"} {
			t.Run(mode+" server answering with "+reply, func(t *testing.T) {
				base := startMCPServer(t, node, dir, mode, reply)
				checks, err := Plan(Targets{MCPURL: base})
				if err != nil {
					t.Fatal(err)
				}
				report, err := (&Runner{Policy: testPolicy()}).Run(t.Context(), checks)
				if err != nil {
					t.Fatal(err)
				}
				if len(report.Results) != 2 {
					t.Fatalf("%d checks ran, want mcp/healthz and mcp/tools", len(report.Results))
				}
				for _, res := range report.Results {
					if !res.Passed {
						t.Errorf("%s failed: %v", res.Check, res.Err)
					}
				}
				if tools := report.Results[1]; !strings.Contains(tools.Detail, "find_experts") {
					t.Errorf("mcp/tools detail %q does not name the server's tool", tools.Detail)
				}
			})
		}
	}
}

// startMCPServer starts the fixture server and returns its base URL.
func startMCPServer(t *testing.T, node, dir, mode, reply string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "server.mjs", mode, reply)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	ports := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if port, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				ports <- port
			}
		}
	}()
	select {
	case port := <-ports:
		return fmt.Sprintf("http://127.0.0.1:%s", port)
	case <-time.After(60 * time.Second):
		t.Fatalf("the MCP server did not start within a minute: %s", stderr.String())
		return ""
	}
}
