// Package publishtest runs local stand-ins for the AWS APIs that the
// frontend publisher calls: a real S3 server (gofakes3, in memory) wrapped
// in a recorder that keeps every request as it arrived on the wire, and a
// CloudFront invalidation API. Tests, the deployctl command tests and the
// benchmark program use them; nothing here reimplements publisher logic.
package publishtest

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Request is one request as the S3 server received it.
type Request struct {
	Method string
	Bucket string
	Key    string
	Query  url.Values
	Header http.Header
	Status int // the status the server answered with
	// Started and Finished order requests by arrival and by completion on
	// one counter: a request that Started after another Finished was sent
	// after that one's answer arrived.
	Started, Finished int
}

// Op names the S3 operation of a request in the terms the tests use:
// "PUT", "GET", "HEAD", "LIST", "DELETE" (one object) or "DELETE-MULTI".
func (r Request) Op() string {
	switch {
	case r.Method == http.MethodGet && r.Key == "":
		return "LIST"
	case r.Method == http.MethodPost && r.Query.Has("delete"):
		return "DELETE-MULTI"
	default:
		return r.Method
	}
}

// Fault makes the server answer matching requests with an S3 error instead
// of handling them. Times is how many matching requests fail (0: all).
type Fault struct {
	Method string // HTTP method; empty matches any
	Key    string // object key; empty matches any, a trailing "*" matches a prefix
	Status int    // HTTP status, such as 503 or 403
	Code   string // S3 error code, such as "SlowDown" or "AccessDenied"
	Times  int
	// Stall, instead of an error, holds matching requests unanswered until
	// the client gives up (cancels or times out). Arrived, when not nil,
	// receives the key of each stalled request as it arrives, unless it is
	// full.
	Stall   bool
	Arrived chan<- string
}

func (f *Fault) matches(method, key string) bool {
	if f.Method != "" && f.Method != method {
		return false
	}
	if p, ok := strings.CutSuffix(f.Key, "*"); ok {
		return strings.HasPrefix(key, p)
	}
	return f.Key == "" || f.Key == key
}

// Object is an object as stored, with the headers it was written with.
type Object struct {
	Body         []byte
	ContentType  string
	CacheControl string
	LastModified time.Time
}

// Clock is the server's time source. A fixed clock only moves when told
// to, so tests can order writes in time without sleeping; a live clock
// follows the real time (plus what it was advanced by).
type Clock struct {
	mu     sync.Mutex
	live   bool
	base   time.Time
	offset time.Duration
}

// Now implements gofakes3.TimeSource.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live {
		return time.Now().UTC().Add(c.offset)
	}
	return c.base.Add(c.offset)
}

// Since implements gofakes3.TimeSource.
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// S3 is a local S3 server (path-style addressing).
type S3 struct {
	URL   string
	Clock *Clock

	srv     *httptest.Server
	backend *s3mem.Backend

	// cond serializes conditional requests (If-Match, If-None-Match), so
	// that a conditional delete, which gofakes3 does not implement, is as
	// atomic against conditional writes as on S3.
	cond sync.Mutex

	mu       sync.Mutex
	requests []Request
	seq      int
	faults   []*Fault
	headers  map[string]http.Header // "bucket/key" → Cache-Control as last written
}

// NewS3 starts a server holding the given (empty) buckets. Its clock is
// fixed at start, or live when start is zero. Close it when done.
func NewS3(start time.Time, buckets ...string) (*S3, error) {
	clock := &Clock{live: start.IsZero(), base: start.UTC()}
	backend := s3mem.New(s3mem.WithTimeSource(clock))
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	faker := gofakes3.New(backend,
		gofakes3.WithTimeSource(clock),
		gofakes3.WithTimeSkewLimit(0),
		gofakes3.WithIntegrityCheck(true),
		gofakes3.WithLogger(gofakes3.DiscardLog()),
	)
	s := &S3{Clock: clock, backend: backend, headers: map[string]http.Header{}}
	s.srv = httptest.NewServer(s.wrap(faker.Server()))
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *S3) Close() { s.srv.Close() }

// Inject adds a fault; faults are tried in the order they were added.
func (s *S3) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *S3) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns the requests received so far, in arrival order.
func (s *S3) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the requests received so far.
func (s *S3) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Objects returns every object in bucket by key.
func (s *S3) Objects(bucket string) (map[string]Object, error) {
	list, err := s.backend.ListBucket(bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	out := make(map[string]Object, len(list.Contents))
	for _, c := range list.Contents {
		obj, err := s.backend.GetObject(bucket, c.Key, nil)
		if err != nil {
			return nil, fmt.Errorf("get %s/%s: %w", bucket, c.Key, err)
		}
		body, err := io.ReadAll(obj.Contents)
		_ = obj.Contents.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", bucket, c.Key, err)
		}
		s.mu.Lock()
		cc := s.headers[bucket+"/"+c.Key].Get("Cache-Control")
		s.mu.Unlock()
		out[c.Key] = Object{
			Body:         body,
			ContentType:  obj.Metadata["Content-Type"],
			CacheControl: cc,
			LastModified: time.Time(c.LastModified.Time),
		}
	}
	return out, nil
}

// Keys returns the sorted keys of bucket.
func (s *S3) Keys(bucket string) ([]string, error) {
	objs, err := s.Objects(bucket)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(objs))
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// Put stores an object directly (not through the recorder), as a previous
// tool would have left it.
func (s *S3) Put(bucket, key string, body []byte, contentType, cacheControl string) error {
	meta := map[string]string{}
	if contentType != "" {
		meta["Content-Type"] = contentType
	}
	if _, err := s.backend.PutObject(bucket, key, meta, bytes.NewReader(body), int64(len(body)), nil); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.headers[bucket+"/"+key] = http.Header{"Cache-Control": {cacheControl}}
	return nil
}

// wrap records each request, applies faults, remembers the Cache-Control of
// each object written (gofakes3 drops it) and serves it back on GET and HEAD.
func (s *S3) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, key := splitPath(r.URL.Path)
		req := Request{
			Method:  r.Method,
			Bucket:  bucket,
			Key:     key,
			Query:   r.URL.Query(),
			Header:  r.Header.Clone(),
			Started: s.next(),
		}
		if f := s.takeFault(r.Method, key); f != nil && f.Stall {
			// Read the body first: the server notices the client going
			// away only once it has.
			_, _ = io.Copy(io.Discard, r.Body)
			if f.Arrived != nil {
				select {
				case f.Arrived <- key:
				default:
				}
			}
			<-r.Context().Done()
			s.record(req)
			return
		} else if f != nil {
			req.Status = f.Status
			s.record(req)
			writeError(w, f.Status, f.Code, r.URL.Path)
			return
		}
		if r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "" {
			s.cond.Lock()
			defer s.cond.Unlock()
			if r.Method == http.MethodDelete && key != "" {
				if status, code := s.checkDeleteMatch(bucket, key, r.Header.Get("If-Match")); status != 0 {
					req.Status = status
					s.record(req)
					writeError(w, status, code, r.URL.Path)
					return
				}
			}
		}
		if key != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.mu.Lock()
			if cc := s.headers[bucket+"/"+key].Get("Cache-Control"); cc != "" {
				w.Header().Set("Cache-Control", cc)
			}
			s.mu.Unlock()
		}
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		req.Status = rec.status
		if rec.status < 300 && key != "" {
			s.mu.Lock()
			switch r.Method {
			case http.MethodPut:
				s.headers[bucket+"/"+key] = http.Header{"Cache-Control": {r.Header.Get("Cache-Control")}}
			case http.MethodDelete:
				delete(s.headers, bucket+"/"+key)
			}
			s.mu.Unlock()
		}
		s.record(req)
	})
}

// checkDeleteMatch applies a DeleteObject If-Match header as S3 does: 404
// NoSuchKey for a missing object, 412 PreconditionFailed for another ETag.
func (s *S3) checkDeleteMatch(bucket, key, ifMatch string) (int, string) {
	if ifMatch == "" {
		return 0, ""
	}
	obj, err := s.backend.HeadObject(bucket, key)
	if err != nil {
		return http.StatusNotFound, "NoSuchKey"
	}
	if ifMatch != "*" && strings.Trim(ifMatch, `"`) != hex.EncodeToString(obj.Hash) {
		return http.StatusPreconditionFailed, "PreconditionFailed"
	}
	return 0, ""
}

func (s *S3) takeFault(method, key string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !f.matches(method, key) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}

func (s *S3) next() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

func (s *S3) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	r.Finished = s.seq
	s.requests = append(s.requests, r)
}

func splitPath(p string) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return bucket, key
}

func writeError(w http.ResponseWriter, status int, code, resource string) {
	var res bytes.Buffer
	_ = xml.EscapeText(&res, []byte(resource))
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>injected %s</Message><Resource>%s</Resource><RequestId>fault</RequestId></Error>`,
		code, code, res.String())
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Site serves bucket's objects over HTTP as CloudFront in front of the
// site bucket would, for tests of what visitors get: GET and HEAD of a key
// answer its body with the Content-Type and Cache-Control it was written
// with, "/" (and any path ending in "/") its index.html, a missing key 404.
// It routes no app paths: the site's CloudFront function does that.
func (s *S3) Site(bucket string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		key := strings.TrimPrefix(r.URL.Path, "/")
		if key == "" || strings.HasSuffix(key, "/") {
			key += "index.html"
		}
		objs, err := s.Objects(bucket)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		obj, ok := objs[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", obj.ContentType)
		if obj.CacheControl != "" {
			w.Header().Set("Cache-Control", obj.CacheControl)
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(obj.Body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(obj.Body)
		}
	})
}
