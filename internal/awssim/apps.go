package awssim

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"
)

// app is the HTTP face of one ECS service: what its PRIMARY deployment's
// containers would answer.
type app struct {
	url string
	srv *http.Server
}

func (a *app) close() { _ = a.srv.Close() }

// startApp serves the service's HTTP on loopback; callers hold s.mu.
func (s *Simulator) startApp(svc *service) error {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return &apiError{Code: "ServerException", Message: "listen for service " + svc.name + ": " + err.Error(), Status: http.StatusInternalServerError}
	}
	a := &app{url: "http://" + ln.Addr().String()}
	arn := svc.arn
	a.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveApp(arn, w, r) }), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	s.apps[svc.arn] = a
	return nil
}

// serveApp answers one request to a service as the task definition of its
// PRIMARY deployment would.
func (s *Simulator) serveApp(arn string, w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	svc := s.services[arn]
	var td *taskDef
	unhealthy := false
	if svc != nil {
		if p := svc.primary(); p != nil {
			td = s.taskDefs[p.taskDef]
		}
		unhealthy = s.unhealthy(svc, td)
	}
	s.mu.Unlock()
	if svc == nil || td == nil {
		http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
		return
	}
	version, sha := td.env("VERSION"), td.env("GIT_SHA")
	mcp := false
	for _, name := range td.containers() {
		if name == "mcp" {
			mcp = true
		}
	}
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.URL.Path == "/healthz":
		if unhealthy {
			writeJSON(http.StatusServiceUnavailable, map[string]string{"status": "unhealthy"})
			return
		}
		writeJSON(http.StatusOK, map[string]string{"status": "ok"})
	case r.URL.Path == "/version":
		writeJSON(http.StatusOK, map[string]string{"version": version, "git_sha": sha})
	case r.URL.Path == "/openapi.json" && !mcp:
		writeJSON(http.StatusOK, map[string]any{"openapi": "3.1.0", "info": map[string]string{"title": "experts", "version": version},
			"paths": map[string]any{"/healthz": map[string]any{}, "/version": map[string]any{}, "/api/v1/experts": map[string]any{}}})
	case r.URL.Path == "/api/v1/experts" && !mcp:
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(http.StatusUnauthorized, map[string]string{"detail": "Not authenticated"})
	case r.URL.Path == "/mcp" && mcp:
		serveMCP(w, r, version)
	default:
		writeJSON(http.StatusNotFound, map[string]string{"detail": "Not Found"})
	}
}

// serveMCP answers the streamable HTTP transport of MCP with JSON
// responses: initialize, notifications, tools/list.
func serveMCP(w http.ResponseWriter, r *http.Request, version string) {
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		ID     *json.RawMessage `json:"id"`
		Method string           `json:"method"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "bad json-rpc", http.StatusBadRequest)
		return
	}
	if req.ID == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	var result any
	switch req.Method {
	case "initialize":
		w.Header().Set("Mcp-Session-Id", "simulated-session")
		result = map[string]any{"protocolVersion": "2025-03-26", "capabilities": map[string]any{"tools": map[string]any{}},
			"serverInfo": map[string]string{"name": "experts-mcp", "version": version}}
	case "tools/list":
		result = map[string]any{"tools": []any{map[string]any{"name": "search_experts", "description": "Find experts by topic",
			"inputSchema": map[string]any{"type": "object", "properties": map[string]any{"query": map[string]string{"type": "string"}}}}}}
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32601, "message": "method not found"}})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
}
