// Package fakeprovider is the rehearsal's stand-in for the pulumi-aws,
// pulumi-awsx and pulumi-docker provider plugins: one gRPC resource
// provider (the real protocol, served by the Pulumi SDK's provider.Main)
// that the engine loads from PATH as pulumi-resource-aws, -awsx and
// -docker.
//
// It checks inputs the way the real providers refuse them (required
// properties and the value rules the program depends on), diffs old and
// new inputs and replaces where the real provider replaces (replace.go,
// with its sources), answers ids and computed outputs with the offline
// preview's fake AWS answers (infra/mockaws), and makes its ECS, ECR and
// name changes through the local AWS simulator (internal/awssim) named by
// AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS and
// EXPERTS_AWS_SIMULATOR_URL, so that what an update did is what deployctl
// sees. docker images are "built" into a digest of their context's files
// and build args, with no Docker engine, and pushed to the simulator's
// ECR.
package fakeprovider

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/experts/platform/infra/mockaws"
)

// Packages are the packages the plugin serves, by the name it runs under
// (pulumi-resource-<package>), with the Go SDK module whose version it
// reports.
var Packages = map[string]string{
	"aws":    "github.com/pulumi/pulumi-aws/sdk/v6",
	"awsx":   "github.com/pulumi/pulumi-awsx/sdk/v2",
	"docker": "github.com/pulumi/pulumi-docker/sdk/v4",
}

// Version is the version of the Go SDK module of pkg linked into this
// binary: the version go.mod pins, which the engine asks the plugin for.
func Version(pkg string) (string, error) {
	mod, ok := Packages[pkg]
	if !ok {
		return "", fmt.Errorf("the fake provider serves aws, awsx and docker, not %q", pkg)
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", fmt.Errorf("read build info for the %s version", pkg)
	}
	for _, dep := range info.Deps {
		if dep.Path == mod {
			return strings.TrimPrefix(dep.Version, "v"), nil
		}
	}
	return "", fmt.Errorf("%s is not linked into the fake provider: import it in its main package", mod)
}

// Main serves package pkg until the engine is done with the plugin.
func Main(pkg string) error {
	version, err := Version(pkg)
	if err != nil {
		return err
	}
	return provider.Main(pkg, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return New(pkg, version, host), nil
	})
}

// Provider is one package's provider.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	pkg, version string
	host         *provider.HostClient

	mu      sync.Mutex
	sim     *simClient
	answers mockaws.Answers
}

// New returns the provider of package pkg ("aws", "awsx" or "docker").
func New(pkg, version string, host *provider.HostClient) *Provider {
	return &Provider{pkg: pkg, version: version, host: host}
}

var marshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, marshal)
}

func marshalMap(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshal)
}

// GetPluginInfo reports the version go.mod pins.
func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

// GetSchema answers an empty schema: the program's Go SDKs carry theirs.
func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, p.pkg, p.version)}, nil
}

// CheckConfig accepts the provider configuration as given.
func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig compares provider configurations; a change never replaces
// the provider.
func (p *Provider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	changed := changedKeys(olds, news)
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed}, nil
}

// Configure reads the region and asks the simulator's STS whose
// credentials these are.
func (p *Provider) Configure(ctx context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	region := plainString(args["region"])
	if region == "" {
		region = req.GetVariables()["aws:config:region"] //nolint:staticcheck // engines before args still send variables
	}
	sim, err := newSimClient(region)
	if err != nil {
		return nil, err
	}
	account := ""
	if p.pkg == "aws" {
		if account, err = sim.callerAccount(ctx); err != nil {
			return nil, fmt.Errorf("configure the fake aws provider: %w", err)
		}
	}
	p.mu.Lock()
	p.sim = sim
	p.answers = mockaws.Answers{AccountID: account, Region: sim.region, CallerAccountID: account}
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *Provider) state() (*simClient, mockaws.Answers, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sim == nil {
		return nil, mockaws.Answers{}, fmt.Errorf("the fake %s provider was not configured", p.pkg)
	}
	return p.sim, p.answers, nil
}

// Invoke answers a provider function with the offline preview's answers;
// one it does not know fails, naming it.
func (p *Provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	sim, answers, err := p.state()
	if err != nil {
		return nil, err
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	if req.GetTok() == "aws:index/getCallerIdentity:getCallerIdentity" {
		// Asked again, so that credentials that expired since Configure
		// fail here as they would against AWS.
		account, err := sim.callerAccount(ctx)
		if err != nil {
			return nil, err
		}
		answers.CallerAccountID = account
	}
	out, err := answers.Invoke(req.GetTok(), args)
	if err != nil {
		return nil, fmt.Errorf("fake %s provider: %w", p.pkg, err)
	}
	ret, err := marshalMap(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// Check validates inputs the way the real provider would refuse them.
func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	typ := req.GetType()
	if typ == "" {
		typ = string(resource.URN(req.GetUrn()).Type())
	}
	if _, known := replacements[typ]; !known {
		return nil, fmt.Errorf("the fake %s provider does not know resource type %s: add it to internal/fakeprovider/replace.go with its ForceNew properties", p.pkg, typ)
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, f := range checkInputs(typ, news) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: f.Property, Reason: f.Reason})
	}
	if typ == "docker:index/image:Image" && len(failures) == 0 {
		if err := addContextDigest(news); err != nil {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "build", Reason: err.Error()})
		}
	}
	inputs, err := marshalMap(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// Diff compares old and new inputs; a change of a property of the
// replacement table replaces the resource.
func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	typ := req.GetType()
	if typ == "" {
		typ = string(resource.URN(req.GetUrn()).Type())
	}
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	return diff(typ, olds, news, req.GetIgnoreChanges()), nil
}

// diff is Diff on decoded inputs.
func diff(typ string, olds, news resource.PropertyMap, ignore []string) *pulumirpc.DiffResponse {
	rep := replacements[typ]
	changed := changedKeys(olds, news)
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true, DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, k := range changed {
		if contains(ignore, k) {
			continue
		}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
		resp.Diffs = append(resp.Diffs, k)
		_, had := olds[resource.PropertyKey(k)]
		_, has := news[resource.PropertyKey(k)]
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !had:
			kind = pulumirpc.PropertyDiff_ADD
		case !has:
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if rep.replaces(k) {
			resp.Replaces = append(resp.Replaces, k)
			kind += pulumirpc.PropertyDiff_ADD_REPLACE - pulumirpc.PropertyDiff_ADD
		}
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(resp.Replaces) > 0 && rep.Name != "" && plainString(news[resource.PropertyKey(rep.Name)]) != "" {
		resp.DeleteBeforeReplace = true
	}
	return resp
}

// changedKeys are the top-level keys whose values differ, sorted; a value
// not known yet counts as changed.
func changedKeys(olds, news resource.PropertyMap) []string {
	keys := map[string]bool{}
	for k := range olds {
		keys[string(k)] = true
	}
	for k := range news {
		keys[string(k)] = true
	}
	var out []string
	for k := range keys {
		if strings.HasPrefix(k, "__") {
			continue
		}
		o, n := olds[resource.PropertyKey(k)], news[resource.PropertyKey(k)]
		if n.ContainsUnknowns() || !unwrap(o).DeepEquals(unwrap(n)) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// unwrap strips secret and output wrappers, recursively.
func unwrap(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return unwrap(v.SecretValue().Element)
	case v.IsOutput():
		return unwrap(v.OutputValue().Element)
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = unwrap(e)
		}
		return resource.NewProperty(arr)
	case v.IsObject():
		m := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			if e.IsNull() {
				continue
			}
			m[k] = unwrap(e)
		}
		return resource.NewProperty(m)
	}
	return v
}

func plainString(v resource.PropertyValue) string {
	v = unwrap(v)
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Create makes a resource (or, in a preview, says which outputs are not
// known yet).
func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn := resource.URN(req.GetUrn())
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := marshalMap(inputs)
		return &pulumirpc.CreateResponse{Properties: props}, err
	}
	sim, answers, err := p.state()
	if err != nil {
		return nil, err
	}
	id, state, err := p.create(ctx, sim, answers, urn, inputs)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", urn.Name(), err)
	}
	props, err := marshalMap(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Read returns the recorded state: the simulator keeps no drift.
func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// Update changes a resource in place.
func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	urn := resource.URN(req.GetUrn())
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := marshalMap(news)
		return &pulumirpc.UpdateResponse{Properties: props}, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	sim, answers, err := p.state()
	if err != nil {
		return nil, err
	}
	state, err := p.update(ctx, sim, answers, urn, req.GetId(), olds, news)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", urn.Name(), err)
	}
	props, err := marshalMap(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete removes a resource.
func (p *Provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	urn := resource.URN(req.GetUrn())
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	sim, answers, err := p.state()
	if err != nil {
		return nil, err
	}
	if err := p.delete(ctx, sim, answers, urn, req.GetId(), state); err != nil {
		return nil, fmt.Errorf("delete %s: %w", urn.Name(), err)
	}
	return &emptypb.Empty{}, nil
}

// Cancel has nothing in flight to stop.
func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
