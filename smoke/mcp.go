package smoke

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// mcpProtocolVersion is the MCP revision the check asks for; the server
// answers with the one it speaks, which later requests carry.
const mcpProtocolVersion = "2025-06-18"

// MCPToolsCheck speaks MCP over Streamable HTTP to URL (the MCP endpoint,
// such as https://mcp.example.com/mcp): initialize, the initialized
// notification, then tools/list, which must return at least one tool.
// Responses may be JSON or a server-sent event stream; the session id from
// initialize is carried on every later request, and the session is ended
// with DELETE.
type MCPToolsCheck struct{ URL string }

// Name implements Check.
func (m MCPToolsCheck) Name() string { return "mcp/tools" }

// Target implements Check.
func (m MCPToolsCheck) Target() string { return m.URL }

func (m MCPToolsCheck) attempt(ctx context.Context, c *client) (string, error) {
	s := &mcpSession{c: c, url: m.URL}
	var initResult struct {
		ProtocolVersion string `json:"protocolVersion"`
		ServerInfo      struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"serverInfo"`
	}
	params := map[string]any{
		"protocolVersion": mcpProtocolVersion,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]string{"name": "deployctl-smoke", "version": "1"},
	}
	if err := s.call(ctx, 1, "initialize", params, &initResult); err != nil {
		return "", err
	}
	defer s.end(ctx)
	if initResult.ProtocolVersion == "" {
		return "", definitivef("POST %s: the initialize result has no protocolVersion", m.URL)
	}
	s.protocol = initResult.ProtocolVersion
	if err := s.notify(ctx, "notifications/initialized"); err != nil {
		return "", err
	}
	var list struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := s.call(ctx, 2, "tools/list", nil, &list); err != nil {
		return "", err
	}
	if len(list.Tools) == 0 {
		return "", definitivef("POST %s: tools/list returned no tools", m.URL)
	}
	names := make([]string, 0, len(list.Tools))
	for _, t := range list.Tools {
		names = append(names, t.Name)
	}
	server := strings.TrimSpace(initResult.ServerInfo.Name + " " + initResult.ServerInfo.Version)
	if server == "" {
		server = "server"
	}
	return fmt.Sprintf("%s, protocol %s, %s: %s", server, s.protocol, plural(len(names), "tool"), strings.Join(names, ", ")), nil
}

// mcpSession is one MCP session over Streamable HTTP.
type mcpSession struct {
	c        *client
	url      string
	id       string // Mcp-Session-Id, when the server assigned one
	protocol string // negotiated protocol version
}

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      int    `json:"id,omitempty"`
	Method  string `json:"method"`
	Params  any    `json:"params,omitempty"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Result  json.RawMessage `json:"result"`
	Error   *rpcError       `json:"error"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *mcpSession) header() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	if s.id != "" {
		h.Set("Mcp-Session-Id", s.id)
	}
	if s.protocol != "" {
		h.Set("Mcp-Protocol-Version", s.protocol)
	}
	return h
}

// call sends a JSON-RPC request and unmarshals the result of its response
// into result.
func (s *mcpSession) call(ctx context.Context, id int, method string, params, result any) error {
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		return definitivef("encode %s request: %w", method, err)
	}
	req := request{method: http.MethodPost, url: s.url, header: s.header(), body: body}
	var got *rpcResponse
	err = s.c.stream(ctx, req, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			body, err := io.ReadAll(s.c.body(req, resp))
			if err != nil {
				return err
			}
			return unexpectedStatus(req, resp.Request.URL.String(), resp.StatusCode, resp.Header, body, "200 to "+method)
		}
		if method == "initialize" {
			s.id = resp.Header.Get("Mcp-Session-Id")
		}
		var err error
		switch ct := mediaType(resp.Header.Get("Content-Type")); ct {
		case "application/json":
			got, err = readJSONResponse(s.c.body(req, resp), id)
		case "text/event-stream":
			got, err = readEventStreamResponse(s.c.body(req, resp), id)
		default:
			return definitivef("%s: answered %s with content type %q, want application/json or text/event-stream",
				req, method, resp.Header.Get("Content-Type"))
		}
		if err != nil {
			var re *bodyReadError
			if isDefinitive(err) || errors.As(err, &re) {
				return err
			}
			return definitivef("%s: %s: %w", req, method, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if got.Error != nil {
		return definitivef("%s: %s returned JSON-RPC error %d: %s", req, method, got.Error.Code, got.Error.Message)
	}
	if len(got.Result) == 0 || string(got.Result) == "null" {
		return definitivef("%s: the %s response has no result", req, method)
	}
	if err := json.Unmarshal(got.Result, result); err != nil {
		return definitivef("%s: decode the %s result: %w", req, method, err)
	}
	return nil
}

// notify sends a JSON-RPC notification, which servers accept with 202.
func (s *mcpSession) notify(ctx context.Context, method string) error {
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", Method: method})
	if err != nil {
		return definitivef("encode %s: %w", method, err)
	}
	resp, err := s.c.fetch(ctx, request{method: http.MethodPost, url: s.url, header: s.header(), body: body})
	if err != nil {
		return err
	}
	if resp.code < 200 || resp.code > 299 {
		return unexpectedStatus(resp.req, resp.finalURL, resp.code, resp.header, resp.body, "202 to "+method)
	}
	return nil
}

// end asks the server to drop the session. It is a courtesy: the verdict
// is already made, servers may refuse it (405), and its failure changes
// nothing, so its outcome is ignored.
func (s *mcpSession) end(ctx context.Context) {
	if s.id == "" {
		return
	}
	_, _ = s.c.fetch(ctx, request{method: http.MethodDelete, url: s.url, header: s.header()})
}

// readJSONResponse reads a JSON body holding the response with id, alone
// or in a batch.
func readJSONResponse(r io.Reader, id int) (*rpcResponse, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	resp, err := findResponse(data, id)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("the JSON body holds no response with id %d (body starts %q)", id, snippet(data))
	}
	return resp, nil
}

// readEventStreamResponse reads server-sent events until the data of a
// message event holds the response with id; other messages (notifications,
// server requests) are skipped. It stops reading there: servers may hold
// the stream open.
func readEventStreamResponse(r io.Reader, id int) (*rpcResponse, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), bufio.MaxScanTokenSize<<6)
	var (
		data    bytes.Buffer
		hasData bool
		event   string
		events  int
	)
	dispatch := func() (*rpcResponse, error) {
		defer func() { data.Reset(); hasData = false; event = "" }()
		if !hasData || (event != "" && event != "message") {
			return nil, nil
		}
		events++
		return findResponse(data.Bytes(), id)
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			resp, err := dispatch()
			if err != nil || resp != nil {
				return resp, err
			}
			continue
		}
		if line[0] == ':' {
			continue // a comment, often a keep-alive
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "event":
			event = string(value)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	resp, err := dispatch()
	if err != nil || resp != nil {
		return resp, err
	}
	return nil, fmt.Errorf("the event stream ended after %d message events without the response with id %d", events, id)
}

// findResponse returns the response with id in a JSON-RPC message or
// batch, or nil when there is none.
func findResponse(data []byte, id int) (*rpcResponse, error) {
	data = bytes.TrimSpace(data)
	var msgs []rpcResponse
	if bytes.HasPrefix(data, []byte("[")) {
		if err := json.Unmarshal(data, &msgs); err != nil {
			return nil, fmt.Errorf("invalid JSON-RPC batch (starts %q): %w", snippet(data), err)
		}
	} else {
		var one rpcResponse
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, fmt.Errorf("invalid JSON-RPC message (starts %q): %w", snippet(data), err)
		}
		msgs = append(msgs, one)
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Method != "" {
			continue // a request or notification from the server
		}
		var got any
		if json.Unmarshal(m.ID, &got) != nil {
			continue
		}
		switch v := got.(type) {
		case float64:
			if v == float64(id) {
				return m, nil
			}
		case string:
			if v == fmt.Sprint(id) {
				return m, nil
			}
		}
	}
	return nil, nil
}
