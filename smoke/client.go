package smoke

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	userAgent              = "deployctl-smoke/1"
	maxResponseHeaderBytes = 64 << 10
)

// client sends the requests of one run: no cookies, no credentials, bounded
// redirects that never leave HTTPS, every body read through a size limit,
// and a timeout on each request from dialing to the last byte of the body.
type client struct {
	http       *http.Client
	noRedirect *http.Client // answers a redirect as the response
	transport  *http.Transport
	timeout    time.Duration
	maxBody    int64
}

func newClient(p Policy) *client {
	// No dial, TLS or header timeouts on the transport: the per-request
	// context bounds all of them, so that every timeout reads the same.
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        30 * time.Second,
	}
	return &client{
		http: &http.Client{Transport: tr, CheckRedirect: checkRedirect(p.MaxRedirects)},
		noRedirect: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		transport: tr,
		timeout:   p.Timeout,
		maxBody:   p.MaxBodyBytes,
	}
}

func (c *client) closeIdle() { c.transport.CloseIdleConnections() }

// request is one HTTP request of a check.
type request struct {
	method string
	url    string
	header http.Header
	body   []byte
	// noRedirect takes a redirect as the answer instead of following it.
	noRedirect bool
}

func (r request) String() string { return r.method + " " + r.url }

// response is a response whose body has been read in full.
type response struct {
	req      request
	finalURL string // after redirects
	code     int
	header   http.Header
	body     []byte
}

// stream sends req and hands the response to read while its body is open.
// read must take the body from c.body, so that reads are limited and their
// failures are told apart from the check's own verdicts.
func (c *client) stream(ctx context.Context, req request, read func(*http.Response) error) error {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(rctx, req.method, req.url, body)
	if err != nil {
		return definitivef("%s: %w", req, err)
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	hr.Header.Set("User-Agent", userAgent)
	hc := c.http
	if req.noRedirect {
		hc = c.noRedirect
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return c.transportError(ctx, rctx, req, false, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := read(resp); err != nil {
		var re *bodyReadError
		if ctx.Err() != nil || errors.As(err, &re) {
			return c.transportError(ctx, rctx, req, true, err)
		}
		return err
	}
	return nil
}

// fetch sends req and reads the whole body.
func (c *client) fetch(ctx context.Context, req request) (*response, error) {
	var out *response
	err := c.stream(ctx, req, func(resp *http.Response) error {
		body, err := io.ReadAll(c.body(req, resp))
		if err != nil {
			return err
		}
		out = &response{req: req, finalURL: resp.Request.URL.String(), code: resp.StatusCode, header: resp.Header, body: body}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// body returns the body of resp read through the size limit. A read error
// comes back as a *bodyReadError; going past the limit as a definitive
// failure.
func (c *client) body(req request, resp *http.Response) io.Reader {
	return &limitedBody{r: resp.Body, left: c.maxBody, limit: c.maxBody, req: req}
}

// want returns nil when r has status code, and otherwise a failure that is
// retried when the status may change by itself (408, 429, 5xx).
func (r *response) want(code int) error {
	if r.code == code {
		return nil
	}
	return unexpectedStatus(r.req, r.finalURL, r.code, r.header, r.body, strconv.Itoa(code))
}

func unexpectedStatus(req request, finalURL string, code int, header http.Header, body []byte, want string) error {
	se := &statusError{
		method:   req.method,
		url:      req.url,
		finalURL: finalURL,
		code:     code,
		snippet:  snippet(body),
		want:     want,
	}
	if !retryableStatus(code) {
		return definitive(se)
	}
	se.retryAfter = parseRetryAfter(header.Get("Retry-After"), time.Now())
	if se.retryAfter > 0 {
		return &retryAfterError{err: se, after: se.retryAfter}
	}
	return se
}

// transportError names what went wrong below HTTP and decides whether it
// is worth another attempt. afterHeaders tells a stall in the body from one
// before the response headers.
func (c *client) transportError(ctx, rctx context.Context, req request, afterHeaders bool, err error) error {
	if ctx.Err() != nil {
		waiting := "the response headers"
		if afterHeaders {
			waiting = "the body"
		}
		return definitivef("%s: stopped waiting for %s: %w", req, waiting, context.Cause(ctx))
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		if afterHeaders {
			return fmt.Errorf("%s: response headers arrived but the body did not complete within the %s request timeout (server stalled)", req, c.timeout)
		}
		return fmt.Errorf("%s: no response within the %s request timeout", req, c.timeout)
	}
	var redirect *redirectError
	if errors.As(err, &redirect) {
		return definitivef("%s: %w", req, redirect)
	}
	if tlsErr := tlsFailure(err); tlsErr != nil {
		return definitivef("%s: TLS handshake failed: %w", req, tlsErr)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var re *bodyReadError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: read body: %w", req, re.err)
	}
	return fmt.Errorf("%s: %w", req, err)
}

// tlsFailure returns the TLS error in err that retrying cannot fix: a
// certificate that does not verify, a server that does not speak TLS, or a
// handshake the server refused.
func tlsFailure(err error) error {
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		return verify
	}
	var header tls.RecordHeaderError
	if errors.As(err, &header) {
		return header
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return alert
	}
	// net/http turns a tls.RecordHeaderError into an untyped error.
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return errors.New("the server answered in plain HTTP on an https URL")
	}
	return nil
}

// redirectError is a redirect the client refused to follow.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

func checkRedirect(maxRedirects int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		prev := via[len(via)-1].URL
		if prev.Scheme == "https" && req.URL.Scheme != "https" {
			return &redirectError{msg: fmt.Sprintf("refused redirect from %s to %s: it leaves HTTPS", prev, req.URL)}
		}
		if len(via) > maxRedirects {
			return &redirectError{msg: fmt.Sprintf("stopped after %d redirects, the last to %s (redirect loop?)", maxRedirects, req.URL)}
		}
		return nil
	}
}

// bodyReadError is a failure to read a response body.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "read body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// limitedBody reads at most limit bytes of a body; one byte more is a
// definitive failure (an endless or oversized body).
type limitedBody struct {
	r     io.Reader
	left  int64
	limit int64
	req   request
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.overLimit()
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n - 1, l.overLimit()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, &bodyReadError{err: err}
	}
	return n, err
}

func (l *limitedBody) overLimit() error {
	return definitivef("%s: body exceeds the %s limit", l.req, formatBytes(l.limit))
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
