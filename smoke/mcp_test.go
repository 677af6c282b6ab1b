package smoke

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeMCP is an MCP server over Streamable HTTP that holds clients to the
// protocol: initialize first, the session id and protocol version on every
// later request, the initialized notification before tools/list.
type fakeMCP struct {
	mcpScript
	t testing.TB

	mu          sync.Mutex
	posts       int
	initialized bool
	deleted     bool
}

// mcpScript is how a fakeMCP behaves.
type mcpScript struct {
	sessionID string // "" for a stateless server
	stream    bool   // answer requests with an event stream
	holdOpen  bool   // keep the event stream open after the response
	tools     []string
	initError bool // answer initialize with a JSON-RPC error
	// before answers the nth POST (from 1) when it returns true.
	before func(n int, w http.ResponseWriter) bool
}

func (f *fakeMCP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodDelete {
		if r.Header.Get("Mcp-Session-Id") != f.sessionID || f.sessionID == "" {
			http.Error(w, "unknown session", http.StatusNotFound)
			return
		}
		f.deleted = true
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f.posts++
	if f.before != nil && f.before(f.posts, w) {
		return
	}
	accept := r.Header.Get("Accept")
	if !strings.Contains(accept, "application/json") || !strings.Contains(accept, "text/event-stream") {
		http.Error(w, "Accept must list application/json and text/event-stream", http.StatusNotAcceptable)
		return
	}
	var msg struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || msg.JSONRPC != "2.0" {
		http.Error(w, "not JSON-RPC 2.0", http.StatusBadRequest)
		return
	}
	if msg.Method != "initialize" {
		if r.Header.Get("Mcp-Session-Id") != f.sessionID {
			http.Error(w, "missing or unknown Mcp-Session-Id", http.StatusBadRequest)
			return
		}
		if got := r.Header.Get("Mcp-Protocol-Version"); got != "2025-06-18" {
			http.Error(w, "bad MCP-Protocol-Version "+got, http.StatusBadRequest)
			return
		}
	}
	switch msg.Method {
	case "initialize":
		var p struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		if err := json.Unmarshal(msg.Params, &p); err != nil || p.ProtocolVersion == "" {
			http.Error(w, "initialize without protocolVersion", http.StatusBadRequest)
			return
		}
		if f.sessionID != "" {
			w.Header().Set("Mcp-Session-Id", f.sessionID)
		}
		if f.initError {
			f.answer(w, r, msg.ID, nil, map[string]any{"code": -32602, "message": "unsupported protocol version"})
			return
		}
		f.answer(w, r, msg.ID, map[string]any{
			"protocolVersion": "2025-06-18",
			"capabilities":    map[string]any{"tools": map[string]any{}},
			"serverInfo":      map[string]any{"name": "experts-mcp", "version": "1.4.2"},
		}, nil)
	case "notifications/initialized":
		f.initialized = true
		w.WriteHeader(http.StatusAccepted)
	case "tools/list":
		if !f.initialized {
			f.answer(w, r, msg.ID, nil, map[string]any{"code": -32600, "message": "not initialized"})
			return
		}
		tools := []map[string]any{}
		for _, name := range f.tools {
			tools = append(tools, map[string]any{"name": name, "inputSchema": map[string]any{"type": "object"}})
		}
		f.answer(w, r, msg.ID, map[string]any{"tools": tools}, nil)
	default:
		f.answer(w, r, msg.ID, nil, map[string]any{"code": -32601, "message": "method not found"})
	}
}

func (f *fakeMCP) answer(w http.ResponseWriter, r *http.Request, id json.RawMessage, result, rpcErr any) {
	resp := map[string]any{"jsonrpc": "2.0", "id": id}
	if rpcErr != nil {
		resp["error"] = rpcErr
	} else {
		resp["result"] = result
	}
	data, err := json.Marshal(resp)
	if err != nil {
		f.t.Error(err)
		return
	}
	if !f.stream {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	// A keep-alive comment and a server notification come first; the
	// client must skip both.
	fmt.Fprint(w, ": ping\n\n")
	fmt.Fprint(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\n")
	fmt.Fprint(w, "data: \"params\":{\"level\":\"info\",\"data\":\"warming up\"}}\n\n")
	fmt.Fprintf(w, "id: 7\nevent: message\ndata: %s\n\n", data)
	w.(http.Flusher).Flush()
	if f.holdOpen {
		f.mu.Unlock()
		stall(f.t, r)
		f.mu.Lock()
	}
}

func TestMCPToolsCheck(t *testing.T) {
	tests := []struct {
		name        string
		server      mcpScript
		want        outcome
		wantText    []string
		wantDeleted bool
	}{
		{
			name:        "passes over JSON responses and ends the session",
			server:      mcpScript{sessionID: "s-1", tools: []string{"search_experts", "get_expert"}},
			want:        outcome{Passed: true, Attempts: 1},
			wantText:    []string{"experts-mcp 1.4.2", "protocol 2025-06-18", "2 tools: search_experts, get_expert"},
			wantDeleted: true,
		},
		{
			name:        "passes over event streams that stay open after the response",
			server:      mcpScript{sessionID: "s-2", stream: true, holdOpen: true, tools: []string{"search_experts"}},
			want:        outcome{Passed: true, Attempts: 1},
			wantText:    []string{"1 tool: search_experts"},
			wantDeleted: true,
		},
		{
			name:     "passes on a stateless server without a session id",
			server:   mcpScript{tools: []string{"search_experts"}},
			want:     outcome{Passed: true, Attempts: 1},
			wantText: []string{"search_experts"},
		},
		{
			name:        "fails at once when the server offers no tools",
			server:      mcpScript{sessionID: "s-3"},
			want:        outcome{Attempts: 1, Definitive: true},
			wantText:    []string{"tools/list returned no tools"},
			wantDeleted: true,
		},
		{
			name:     "fails at once on a JSON-RPC error to initialize",
			server:   mcpScript{sessionID: "s-4", initError: true, tools: []string{"x"}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"initialize returned JSON-RPC error -32602: unsupported protocol version"},
		},
		{
			name: "retries a 503 to initialize",
			server: mcpScript{sessionID: "s-5", tools: []string{"x"}, before: func(n int, w http.ResponseWriter) bool {
				if n == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return true
				}
				return false
			}},
			want:        outcome{Passed: true, Attempts: 2},
			wantDeleted: true,
		},
		{
			name: "fails at once when the endpoint answers HTML",
			server: mcpScript{before: func(_ int, w http.ResponseWriter) bool {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html>"))
				return true
			}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{`answered initialize with content type "text/html", want application/json or text/event-stream`},
		},
		{
			name: "fails at once when the event stream ends without the response",
			server: mcpScript{before: func(_ int, w http.ResponseWriter) bool {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n")
				return true
			}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"event stream ended after 1 message events without the response with id 1"},
		},
		{
			name: "fails at once on invalid JSON in the response",
			server: mcpScript{before: func(_ int, w http.ResponseWriter) bool {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":`))
				return true
			}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"initialize: invalid JSON-RPC message"},
		},
		{
			name: "fails at once when the endpoint is not there",
			server: mcpScript{before: func(_ int, w http.ResponseWriter) bool {
				http.Error(w, "404 page not found", http.StatusNotFound)
				return true
			}},
			want:     outcome{Attempts: 1, Definitive: true},
			wantText: []string{"404 Not Found, want 200 to initialize"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeMCP{mcpScript: tt.server, t: t}
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			res := runOne(t.Context(), t, testPolicy(), MCPToolsCheck{URL: srv.URL + "/mcp"})
			assertResult(t, res, tt.want, tt.wantText...)
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if fake.deleted != tt.wantDeleted {
				t.Errorf("session deleted is %v, want %v", fake.deleted, tt.wantDeleted)
			}
		})
	}
}

func TestFindResponse(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantOK  bool
		wantErr bool
	}{
		{name: "finds a single response", data: `{"jsonrpc":"2.0","id":2,"result":{}}`, wantOK: true},
		{name: "finds a response by a string id", data: `{"jsonrpc":"2.0","id":"2","result":{}}`, wantOK: true},
		{name: "finds a response in a batch", data: `[{"jsonrpc":"2.0","method":"ping","id":9},{"jsonrpc":"2.0","id":2,"result":{}}]`, wantOK: true},
		{name: "skips a server request that reuses the id", data: `{"jsonrpc":"2.0","method":"sampling/createMessage","id":2}`},
		{name: "skips a response to another id", data: `{"jsonrpc":"2.0","id":1,"result":{}}`},
		{name: "fails on invalid JSON", data: `{"jsonrpc":`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findResponse([]byte(tt.data), 2)
			if (err != nil) != tt.wantErr {
				t.Fatalf("findResponse error = %v, want error %v", err, tt.wantErr)
			}
			if (got != nil) != tt.wantOK {
				t.Errorf("findResponse found %+v, want found %v", got, tt.wantOK)
			}
		})
	}
}

func TestReadEventStreamResponse(t *testing.T) {
	tests := []struct {
		name       string
		stream     string
		wantResult string
		wantErr    string
	}{
		{
			name:       "reads the response in a message event",
			stream:     "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}\n\n",
			wantResult: `{"ok":true}`,
		},
		{
			name:       "reads an event without a type as a message",
			stream:     "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}\n\n",
			wantResult: `1`,
		},
		{
			name:       "joins data lines and accepts CRLF line ends",
			stream:     "data: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":1,\"result\":2}\r\n\r\n",
			wantResult: `2`,
		},
		{
			name:       "skips events of other types",
			stream:     "event: endpoint\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"wrong\"}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"right\"}\n\n",
			wantResult: `"right"`,
		},
		{
			name:       "takes a last event that the stream ends without a blank line",
			stream:     "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":3}",
			wantResult: `3`,
		},
		{
			name:    "fails when the stream ends without the response",
			stream:  ": ping\n\n",
			wantErr: "ended after 0 message events",
		},
		{
			name:    "fails on invalid JSON in an event",
			stream:  "data: {oops}\n\n",
			wantErr: "invalid JSON-RPC message",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readEventStreamResponse(strings.NewReader(tt.stream), 1)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Result) != tt.wantResult {
				t.Errorf("result = %s, want %s", got.Result, tt.wantResult)
			}
		})
	}
}
