package fakeprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/experts/platform/internal/awssim"
)

// simClient calls the local AWS simulator on the wire protocols AWS uses.
type simClient struct {
	region, accessKey string
	control           string            // the simulator's base URL
	endpoints         map[string]string // signing service → endpoint
	http              *http.Client
}

// newSimClient reads the simulator's endpoints from the environment the
// engine passes to plugins.
func newSimClient(region string) (*simClient, error) {
	if region == "" {
		region = os.Getenv("AWS_REGION")
	}
	c := &simClient{region: region, accessKey: os.Getenv("AWS_ACCESS_KEY_ID"), control: os.Getenv(awssim.EnvSimulatorURL),
		endpoints: map[string]string{}, http: &http.Client{Timeout: 30 * time.Second}}
	var missing []string
	for service, env := range map[string]string{"ecs": "AWS_ENDPOINT_URL_ECS", "ecr": "AWS_ENDPOINT_URL_ECR", "sts": "AWS_ENDPOINT_URL_STS"} {
		c.endpoints[service] = os.Getenv(env)
		if c.endpoints[service] == "" {
			missing = append(missing, env)
		}
	}
	if c.control == "" {
		missing = append(missing, awssim.EnvSimulatorURL)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the fake provider plugins run only against the local AWS simulator, and %s is not set: run them through internal/rehearsal or under `deployctl rehearse`", strings.Join(missing, ", "))
	}
	return c, nil
}

// apiError is an error answer of the simulator.
type apiError struct {
	Code, Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func (c *simClient) auth(service string) string {
	return fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/20260101/%s/%s/aws4_request, SignedHeaders=host, Signature=simulated", c.accessKey, c.region, service)
}

// json1 calls an awsJson1_1 operation.
func (c *simClient) json1(ctx context.Context, service, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoints[service]+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Authorization", c.auth(service))
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		return &apiError{Code: e.Type, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// ecs calls an ECS operation.
func (c *simClient) ecs(ctx context.Context, op string, in, out any) error {
	return c.json1(ctx, "ecs", "AmazonEC2ContainerServiceV20141113."+op, in, out)
}

// ecr calls an ECR operation.
func (c *simClient) ecr(ctx context.Context, op string, in, out any) error {
	return c.json1(ctx, "ecr", "AmazonEC2ContainerRegistry_V20150921."+op, in, out)
}

// callerAccount asks STS whose credentials are in use.
func (c *simClient) callerAccount(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoints["sts"]+"/",
		strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", c.auth("sts"))
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("sts GetCallerIdentity: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Code    string `xml:"Code"`
				Message string `xml:"Message"`
			} `xml:"Error"`
		}
		_ = xml.Unmarshal(data, &e)
		return "", fmt.Errorf("sts GetCallerIdentity: %w", &apiError{Code: e.Error.Code, Message: e.Error.Message})
	}
	var out struct {
		Account string `xml:"GetCallerIdentityResult>Account"`
	}
	if err := xml.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("sts GetCallerIdentity: %w", err)
	}
	return out.Account, nil
}

// claim takes a physical name; it fails as AWS does when the name exists.
func (c *simClient) claim(ctx context.Context, key, owner string) error {
	return c.control1(ctx, "/_sim/names/claim", awssim.NameRequest{Key: key, Owner: owner})
}

// release gives a physical name up.
func (c *simClient) release(ctx context.Context, key string) error {
	return c.control1(ctx, "/_sim/names/release", awssim.NameRequest{Key: key})
}

func (c *simClient) control1(ctx context.Context, path string, in any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.control+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("aws simulator %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return &apiError{Code: "AlreadyExists", Message: e.Message}
	}
	return nil
}
