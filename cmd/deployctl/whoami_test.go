package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/stacks"
)

const (
	whoamiTestAccount = "210987654321"
	whoamiTestArn     = "arn:aws:sts::210987654321:assumed-role/experts-dev-api-deploy/GitHubActions"
)

// whoamiFake answers GetCallerIdentity with out or err.
type whoamiFake struct {
	out   *sts.GetCallerIdentityOutput
	err   error
	calls int
}

func (f *whoamiFake) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	f.calls++
	return f.out, f.err
}

func whoamiAs(account, arn string) *whoamiFake {
	return &whoamiFake{out: &sts.GetCallerIdentityOutput{Account: aws.String(account), Arn: aws.String(arn), UserId: aws.String("AROAEXAMPLE:GitHubActions")}}
}

// runWhoamiCmd runs deployctl whoami with api as STS (or loadErr when
// the client cannot be built).
func runWhoamiCmd(t *testing.T, api stacks.CallerIdentityAPI, loadErr error, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	c := newTestCLI(t)
	c.F.CallerIdentity = func(context.Context) (stacks.CallerIdentityAPI, error) { return api, loadErr }
	code = c.run(t.Context(), append([]string{"whoami"}, args...)...)
	return code, c.Stdout(), c.Stderr()
}

func TestWhoamiPrintsTheAccountAndArn(t *testing.T) {
	t.Parallel()
	code, out, errOut := runWhoamiCmd(t, whoamiAs(whoamiTestAccount, whoamiTestArn), nil, "--expect-account", whoamiTestAccount)
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, errOut)
	}
	want := "account  210987654321\narn      " + whoamiTestArn + "\nuser id  AROAEXAMPLE:GitHubActions\nexpected 210987654321 (matches)\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if errOut != "" {
		t.Errorf("stderr = %q, want nothing", errOut)
	}
}

func TestWhoamiExitsOneOnAnotherAccount(t *testing.T) {
	t.Parallel()
	api := whoamiAs("123456789012", "arn:aws:sts::123456789012:assumed-role/experts-prod-infra/GitHubActions")
	code, out, errOut := runWhoamiCmd(t, api, nil, "--expect-account", whoamiTestAccount)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(out, "account  123456789012") || !strings.Contains(out, "DOES NOT MATCH") {
		t.Errorf("stdout does not show whose credentials these are: %q", out)
	}
	for _, want := range []string{"deployctl whoami: credentials are for account 123456789012", "not the expected account " + whoamiTestAccount, "role-to-assume"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q: %s", want, errOut)
		}
	}
}

func TestWhoamiJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		api    *whoamiFake
		code   int
		result map[string]any
	}{
		{"reports a match", []string{"--json", "--expect-account", whoamiTestAccount}, whoamiAs(whoamiTestAccount, whoamiTestArn), exitOK,
			map[string]any{"account": whoamiTestAccount, "arn": whoamiTestArn, "userId": "AROAEXAMPLE:GitHubActions",
				"expectedAccount": whoamiTestAccount, "matches": true}},
		{"reports a mismatch", []string{"--json", "--expect-account", "123456789012"}, whoamiAs(whoamiTestAccount, whoamiTestArn), exitFailed,
			map[string]any{"account": whoamiTestAccount, "arn": whoamiTestArn, "userId": "AROAEXAMPLE:GitHubActions",
				"expectedAccount": "123456789012", "matches": false}},
		{"reports only the caller without an expectation", []string{"--json"}, whoamiAs(whoamiTestAccount, whoamiTestArn), exitOK,
			map[string]any{"account": whoamiTestAccount, "arn": whoamiTestArn, "userId": "AROAEXAMPLE:GitHubActions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWhoamiCmd(t, tt.api, nil, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, out)
			}
			if diff := cmp.Diff(tt.result, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWhoamiFailures(t *testing.T) {
	t.Parallel()
	expired := &smithy.OperationError{ServiceID: "STS", OperationName: "GetCallerIdentity",
		Err: &smithy.GenericAPIError{Code: "ExpiredToken", Message: "The security token included in the request is expired"}}
	tests := []struct {
		name    string
		args    []string
		api     *whoamiFake
		loadErr error
		code    int
		want    []string
		called  bool
	}{
		{"says expired credentials are expired and what to check", []string{"--expect-account", whoamiTestAccount},
			&whoamiFake{err: expired}, nil, exitFailed,
			[]string{"AWS credentials expired (ExpiredToken)", "role-duration-seconds", "MaxSessionDuration"}, true},
		{"fails when the AWS config cannot be loaded", nil, &whoamiFake{}, errors.New("load aws config: bad profile"), exitFailed,
			[]string{"load aws config: bad profile"}, false},
		{"refuses an account id that is not 12 digits", []string{"--expect-account", "12345"}, whoamiAs(whoamiTestAccount, whoamiTestArn), nil,
			exitUsage, []string{"--expect-account", "not 12 digits"}, false},
		{"refuses positional arguments", []string{whoamiTestAccount}, whoamiAs(whoamiTestAccount, whoamiTestArn), nil,
			exitUsage, []string{"unexpected argument"}, false},
		{"refuses unknown flags", []string{"--account", whoamiTestAccount}, whoamiAs(whoamiTestAccount, whoamiTestArn), nil,
			exitUsage, []string{"unknown flag: --account\nsee 'deployctl whoami --help'"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWhoamiCmd(t, tt.api, tt.loadErr, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			for _, want := range tt.want {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q: %s", want, errOut)
				}
			}
			if called := tt.api.calls > 0; called != tt.called {
				t.Errorf("STS called = %v, want %v", called, tt.called)
			}
		})
	}
}

func TestWhoamiHelp(t *testing.T) {
	t.Parallel()
	api := whoamiAs(whoamiTestAccount, whoamiTestArn)
	code, out, _ := runWhoamiCmd(t, api, nil, "--help")
	if code != exitOK || !strings.Contains(out, "--expect-account") || api.calls != 0 {
		t.Errorf("exit %d, calls %d, usage:\n%s", code, api.calls, out)
	}
}

// TestWhoamiUsesTheSDKDefaultConfiguration runs the real client against a
// local STS reached through the SDK's standard endpoint variable.
func TestWhoamiUsesTheSDKDefaultConfiguration(t *testing.T) {
	var gotAction string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gotAction = r.Form.Get("Action")
		if !strings.Contains(r.Header.Get("Authorization"), "AKIDWHOAMI") {
			http.Error(w, "unsigned", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		if r.Header.Get("X-Amz-Security-Token") == "expired" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`+
				`<Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error>`+
				`<RequestId>1</RequestId></ErrorResponse>`)
			return
		}
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
			`<Arn>%s</Arn><UserId>AROAEXAMPLE:GitHubActions</UserId><Account>%s</Account></GetCallerIdentityResult>`+
			`<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, whoamiTestArn, whoamiTestAccount)
	}))
	t.Cleanup(srv.Close)
	home := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_STS":        srv.URL,
		"AWS_ACCESS_KEY_ID":           "AKIDWHOAMI",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_PROFILE":                 "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_MAX_ATTEMPTS":            "1",
	} {
		t.Setenv(k, v)
	}

	realWhoami := func() (int, string, string) {
		c := newTestCLI(t)
		c.F.CallerIdentity = loadCallerIdentity
		code := c.run(t.Context(), "whoami", "--expect-account", whoamiTestAccount)
		return code, c.Stdout(), c.Stderr()
	}
	code, out, errOut := realWhoami()
	if code != exitOK || !strings.Contains(out, whoamiTestArn) {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if gotAction != "GetCallerIdentity" {
		t.Errorf("action = %q", gotAction)
	}

	t.Setenv("AWS_SESSION_TOKEN", "expired")
	code, _, errOut = realWhoami()
	if code != exitFailed || !strings.Contains(errOut, "AWS credentials expired (ExpiredToken)") {
		t.Errorf("with an expired token: exit %d, stderr: %s", code, errOut)
	}
}
