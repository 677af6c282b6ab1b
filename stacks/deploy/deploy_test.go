package deploy_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks/deploy"
)

// TestLoadClients talks to a local server through the real SDK client: the
// standard endpoint setting routes the calls, a server error is retried, and
// an expired token is reported as such without a retry.
func TestLoadClientsHonoursEndpointSettingsRetriesAndExpiredTokens(t *testing.T) {
	var (
		mu      sync.Mutex
		targets []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		targets = append(targets, r.Header.Get("X-Amz-Target"))
		n := len(targets)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"__type":"ServerException","message":"try again"}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}`)
	}))
	defer srv.Close()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ECS":        srv.URL,
		"AWS_REGION":                  "eu-west-1",
		"AWS_ACCESS_KEY_ID":           "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}

	clients, err := deploy.LoadClients(t.Context(), "")
	if err != nil {
		t.Fatalf("LoadClients() error = %v", err)
	}
	op := &deploy.Operator{Clients: clients}
	err = op.VerifyDeployment(t.Context(), verifySpec())

	if !errors.Is(err, deploy.ErrCredentialsExpired) || !strings.Contains(err.Error(), "session duration") {
		t.Errorf("VerifyDeployment() error = %v, want expired credentials and what to check", err)
	}
	want := []string{"AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition", "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition"}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, targets); diff != "" {
		t.Errorf("calls the server saw, one retry after the 500 and none after the expired token (-want +got):\n%s", diff)
	}
}
