// Package awssim is a local AWS for rehearsals: one loopback HTTP server
// that speaks the wire protocols aws-sdk-go-v2 uses (awsJson1_1 for ECS,
// ECR and CloudWatch Logs, awsQuery for STS and Elastic Load Balancing v2)
// for the calls deployctl and the rehearsal's fake provider plugins make,
// so that what `pulumi up` changed is what deployctl sees afterwards.
//
// Point a client at it with the environment Env returns
// (AWS_ENDPOINT_URL_<SERVICE>, static credentials whose access key id names
// the account: "AKIA" + the 12-digit account id). Time is simulated: every
// DescribeServices or DescribeTasks call advances the state it describes by
// one step, so a deployment goes IN_PROGRESS → COMPLETED in a few polls and
// no test waits for real minutes.
//
// Each ECS service answers HTTP on its own loopback port (Endpoints) as the
// task definition of its PRIMARY deployment would: /healthz, /version with
// that definition's VERSION and GIT_SHA, /openapi.json, a 401 on
// /api/v1/experts, and MCP on /mcp for services whose container is "mcp".
//
// Faults are set per test with SetScenario or POST /_sim/scenario: image
// pull failures, migration exit codes and log lines, tasks that never stop,
// deployments that never stabilize, circuit-breaker rollbacks, /healthz 503
// on a version, throttling bursts, expired credentials. GET /_sim/endpoints
// lists the services' URLs.
//
// This is a simulated AWS: nothing it answers comes from Amazon.
package awssim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Banner is what every start of a simulator says, first.
const Banner = "SIMULATED AWS: this is a local simulator on loopback, not Amazon Web Services; nothing here reaches or changes AWS"

// Options configure a simulator.
type Options struct {
	// Region is the region it answers for; eu-west-1 if empty.
	Region string
	// DefaultAccountID is the account of requests whose access key id does
	// not name one.
	DefaultAccountID string
	// Addr is the listen address; 127.0.0.1:0 if empty.
	Addr string
}

// Simulator is one local AWS. Create it with Start.
type Simulator struct {
	region, defaultAccount string
	ln                     net.Listener
	srv                    *http.Server
	url                    string

	mu       sync.Mutex
	now      time.Time
	seq      uint64
	scenario Scenario
	throttle map[string]int // service → calls still to throttle

	clusters map[string]*cluster // by ARN
	taskDefs map[string]*taskDef // by ARN
	families map[string]int      // account/region/family → last revision
	services map[string]*service // by ARN
	tasks    map[string]*task    // by ARN
	repos    map[string]*repo    // account/region/name
	logs     map[string]map[string][]logEvent
	names    map[string]string // claimed physical names: key → owner
	apps     map[string]*app   // service ARN → HTTP server
}

// Start listens on loopback and serves until Close.
func Start(opts Options) (*Simulator, error) {
	if opts.Region == "" {
		opts.Region = "eu-west-1"
	}
	if opts.DefaultAccountID == "" {
		opts.DefaultAccountID = "000000000000"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the aws simulator: %w", err)
	}
	s := &Simulator{
		region: opts.Region, defaultAccount: opts.DefaultAccountID, ln: ln,
		url:      "http://" + ln.Addr().String(),
		now:      time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		throttle: map[string]int{},
		clusters: map[string]*cluster{}, taskDefs: map[string]*taskDef{}, families: map[string]int{},
		services: map[string]*service{}, tasks: map[string]*task{}, repos: map[string]*repo{},
		logs: map[string]map[string][]logEvent{}, names: map[string]string{}, apps: map[string]*app{},
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the simulator's base URL.
func (s *Simulator) URL() string { return s.url }

// Region is the region it answers for.
func (s *Simulator) Region() string { return s.region }

// Close stops the simulator and every service's HTTP server.
func (s *Simulator) Close() error {
	s.mu.Lock()
	apps := make([]*app, 0, len(s.apps))
	for _, a := range s.apps {
		apps = append(apps, a)
	}
	s.apps = map[string]*app{}
	s.mu.Unlock()
	for _, a := range apps {
		a.close()
	}
	return s.srv.Close()
}

// AccessKeyID is the access key id that makes the simulator answer as
// account.
func AccessKeyID(account string) string { return "AKIA" + account }

// Env is the environment that points aws-sdk-go-v2 (and the rehearsal's
// fake provider plugins) at the simulator, with credentials of account.
func (s *Simulator) Env(account string) map[string]string {
	env := map[string]string{
		"AWS_ACCESS_KEY_ID":         AccessKeyID(account),
		"AWS_SECRET_ACCESS_KEY":     "simulated-secret-access-key",
		"AWS_SESSION_TOKEN":         "",
		"AWS_REGION":                s.region,
		"AWS_DEFAULT_REGION":        s.region,
		"AWS_EC2_METADATA_DISABLED": "true",
		"AWS_MAX_ATTEMPTS":          "5",
		EnvSimulatorURL:             s.url,
	}
	for _, svc := range []string{"ECS", "ECR", "CLOUDWATCH_LOGS", "ELASTIC_LOAD_BALANCING_V2", "STS"} {
		env["AWS_ENDPOINT_URL_"+svc] = s.url
	}
	return env
}

// EnvSimulatorURL names the variable that carries the simulator's base URL
// to processes that use its control API (the fake provider plugins).
const EnvSimulatorURL = "EXPERTS_AWS_SIMULATOR_URL"

// ServeHTTP dispatches a request to the service it is for.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.control(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	account := s.accountOf(r)
	service := credentialService(r.Header.Get("Authorization"))
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		if fault := s.fault(service); fault != nil {
			writeJSONError(w, fault.status, fault.code, fault.message)
			return
		}
		s.serveJSON(w, prefix, op, account, body)
		return
	}
	if fault := s.fault(service); fault != nil {
		writeQueryError(w, fault.status, queryCode(fault.code), fault.message)
		return
	}
	s.serveQuery(w, service, account, body)
}

var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/[0-9]{8}/[^/]+/([^/]+)/aws4_request`)

// credentialService is the service a SigV4 Authorization header signs for.
func credentialService(auth string) string {
	m := credentialRE.FindStringSubmatch(auth)
	if m == nil {
		return ""
	}
	return m[2]
}

var accountKeyRE = regexp.MustCompile(`^AKIA([0-9]{12})$`)

// accountOf is the account of the request's credentials.
func (s *Simulator) accountOf(r *http.Request) string {
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m != nil {
		if a := accountKeyRE.FindStringSubmatch(m[1]); a != nil {
			return a[1]
		}
	}
	return s.defaultAccount
}

type fault struct {
	status        int
	code, message string
}

// fault is the error a scenario makes the next call to service fail with.
func (s *Simulator) fault(service string) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scenario.ExpiredCredentials {
		return &fault{http.StatusBadRequest, "ExpiredTokenException", "The security token included in the request is expired"}
	}
	for _, key := range []string{service, "*"} {
		if n := s.throttle[key]; n > 0 {
			s.throttle[key] = n - 1
			return &fault{http.StatusBadRequest, "ThrottlingException", "Rate exceeded"}
		}
	}
	return nil
}

// queryCode is the awsQuery spelling of an error code.
func queryCode(code string) string {
	switch code {
	case "ExpiredTokenException":
		return "ExpiredToken"
	case "ThrottlingException":
		return "Throttling"
	}
	return code
}

func (s *Simulator) serveJSON(w http.ResponseWriter, prefix, op, account string, body []byte) {
	var in obj
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeJSONError(w, http.StatusBadRequest, "SerializationException", err.Error())
			return
		}
	}
	var (
		out any
		err error
	)
	switch prefix {
	case "AmazonEC2ContainerServiceV20141113":
		out, err = s.ecs(op, account, in)
	case "AmazonEC2ContainerRegistry_V20150921":
		out, err = s.ecr(op, account, in)
	case "Logs_20140328":
		out, err = s.cwlogs(op, account, in)
	default:
		err = &apiError{Code: "UnknownOperationException", Message: "the aws simulator does not serve " + prefix}
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{Code: "ServerException", Message: err.Error(), Status: http.StatusInternalServerError}
		}
		status := ae.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		writeJSONError(w, status, ae.Code, ae.Message)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// apiError is an AWS error answer.
type apiError struct {
	Code, Message string
	Status        int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) error {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}

// obj is a decoded JSON request.
type obj map[string]any

func (o obj) str(key string) string {
	v, _ := o[key].(string)
	return v
}

func (o obj) num(key string) (int, bool) {
	v, ok := o[key].(float64)
	return int(v), ok
}

func (o obj) boolean(key string) bool {
	v, _ := o[key].(bool)
	return v
}

func (o obj) obj(key string) obj {
	v, _ := o[key].(map[string]any)
	return v
}

func (o obj) strs(key string) []string {
	raw, _ := o[key].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (o obj) objs(key string) []obj {
	raw, _ := o[key].([]any)
	out := make([]obj, 0, len(raw))
	for _, v := range raw {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// epoch is a timestamp as awsJson sends it.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// tick advances the simulated clock; callers hold s.mu.
func (s *Simulator) tick() time.Time {
	s.now = s.now.Add(5 * time.Second)
	return s.now
}

// id returns a new identifier of n hex digits; callers hold s.mu.
func (s *Simulator) id(n int) string {
	s.seq++
	v := fmt.Sprintf("%032x", s.seq*0x9E3779B97F4A7C15)
	return v[len(v)-n:]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
