package smoke_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/experts/platform/smoke"
)

// The release driver plans the checks from the stack's URLs and the
// release it expects, runs them, and promotes only when the error is nil.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/healthz":
			fmt.Fprint(w, `{"status":"ok"}`)
		case "/openapi.json":
			fmt.Fprint(w, `{"openapi":"3.1.0","paths":{"/api/v1/experts":{}}}`)
		case "/api/v1/experts":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"detail":"Not authenticated"}`)
		case "/version":
			fmt.Fprint(w, `{"version":"1.4.2","git_sha":"3f2c9e1b7d0a"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()

	checks, err := smoke.Plan(smoke.Targets{APIURL: api.URL, ExpectVersion: "1.4.2", ExpectSHA: "3f2c9e1"})
	if err != nil {
		fmt.Println("bad targets:", err)
		return
	}
	runner := &smoke.Runner{Policy: smoke.DefaultPolicy()}
	report, err := runner.Run(context.Background(), checks)
	switch {
	case errors.Is(err, smoke.ErrFailed):
		fmt.Println("roll back:", err)
	case err != nil:
		fmt.Println("interrupted:", err)
	default:
		fmt.Println("promote")
	}
	for _, r := range report.Results {
		fmt.Printf("%-18s %-5v %s\n", r.Check, r.Passed, r.Detail)
	}
	// report.WriteText, WriteJSON, WriteJUnit and WriteMarkdown write it
	// for people, machines, CI test views and job summaries.

	// Output:
	// promote
	// api/healthz        true  200
	// api/openapi        true  openapi 3.1.0, 1 path
	// api/auth-required  true  401 without credentials
	// api/version        true  1.4.2 sha 3f2c9e1b7d0a
}
