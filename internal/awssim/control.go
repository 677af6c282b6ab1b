package awssim

import (
	"encoding/json"
	"net/http"
)

// Faults of a service's deployments.
const (
	// FaultImagePull: the new tasks cannot pull their image; with the
	// circuit breaker on, ECS rolls the deployment back.
	FaultImagePull = "image-pull-failure"
	// FaultNeverStabilizes: the deployment stays IN_PROGRESS.
	FaultNeverStabilizes = "never-stabilizes"
	// FaultCircuitBreaker: the new tasks fail their health checks and the
	// circuit breaker rolls back to the previous deployment.
	FaultCircuitBreaker = "circuit-breaker-rollback"
	// FaultUnhealthy: the deployment completes but /healthz answers 503 and
	// the load balancer reports the targets unhealthy.
	FaultUnhealthy = "unhealthy"
)

// Scenario is what goes wrong, set per test.
type Scenario struct {
	// ExpiredCredentials makes every call fail with ExpiredTokenException
	// (ExpiredToken for STS and ELBv2).
	ExpiredCredentials bool `json:"expiredCredentials,omitempty"`
	// Services, by ECS service name: the fault of its deployments.
	Services map[string]ServiceFault `json:"services,omitempty"`
	// Tasks, by task definition family: how its one-off tasks (RunTask)
	// end. A family without an entry exits 0 after writing one log line.
	Tasks map[string]TaskOutcome `json:"tasks,omitempty"`
	// Throttle, by signing service name ("ecs", "sts", "logs",
	// "elasticloadbalancing", "ecr") or "*" for any: how many calls answer
	// ThrottlingException before calls succeed again.
	Throttle map[string]int `json:"throttle,omitempty"`
}

// ServiceFault is the fault of one service's deployments.
type ServiceFault struct {
	Fault string `json:"fault"`
	// Version limits the fault to deployments of task definitions whose
	// container has this VERSION; empty means every deployment started
	// after the scenario is set.
	Version string `json:"version,omitempty"`
}

// TaskOutcome is how the one-off tasks of a family end.
type TaskOutcome struct {
	ExitCode         int      `json:"exitCode"`
	LogLines         []string `json:"logLines,omitempty"`
	NeverStops       bool     `json:"neverStops,omitempty"`
	ImagePullFailure bool     `json:"imagePullFailure,omitempty"`
}

// SetScenario replaces the scenario.
func (s *Simulator) SetScenario(sc Scenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scenario = sc
	s.throttle = map[string]int{}
	for k, v := range sc.Throttle {
		s.throttle[k] = v
	}
}

// Endpoints are the loopback base URLs of the ECS services, by service
// name.
func (s *Simulator) Endpoints() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for arn, a := range s.apps {
		if svc := s.services[arn]; svc != nil && svc.status == "ACTIVE" {
			out[svc.name] = a.url
		}
	}
	return out
}

// Claim records that owner holds the physical name key
// ("<type>/<account>/<name>"). It fails while anyone holds it, as AWS
// answers "already exists" to a second resource of the same name.
func (s *Simulator) Claim(key, owner string) (ok bool, holder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, taken := s.names[key]; taken {
		return false, h
	}
	s.names[key] = owner
	return true, owner
}

// Release gives up a physical name.
func (s *Simulator) Release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.names, key)
}

// NameRequest is the body of the name claim and release endpoints.
type NameRequest struct {
	Key   string `json:"key"`
	Owner string `json:"owner"`
}

func (s *Simulator) control(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.URL.Path == "/_sim/scenario" && r.Method == http.MethodPost:
		var sc Scenario
		if err := json.NewDecoder(r.Body).Decode(&sc); err != nil {
			reply(http.StatusBadRequest, map[string]string{"message": "scenario: " + err.Error()})
			return
		}
		s.SetScenario(sc)
		reply(http.StatusOK, sc)
	case r.URL.Path == "/_sim/endpoints" && r.Method == http.MethodGet:
		reply(http.StatusOK, s.Endpoints())
	case r.URL.Path == "/_sim/names/claim" && r.Method == http.MethodPost:
		var req NameRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Key == "" || req.Owner == "" {
			reply(http.StatusBadRequest, map[string]string{"message": "claim needs key and owner"})
			return
		}
		if ok, holder := s.Claim(req.Key, req.Owner); !ok {
			reply(http.StatusConflict, map[string]string{"message": req.Key + " already exists (held by " + holder + ")"})
			return
		}
		reply(http.StatusOK, req)
	case r.URL.Path == "/_sim/names/release" && r.Method == http.MethodPost:
		var req NameRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		s.Release(req.Key)
		reply(http.StatusOK, req)
	default:
		reply(http.StatusNotFound, map[string]string{"message": "no control endpoint " + r.Method + " " + r.URL.Path})
	}
}
