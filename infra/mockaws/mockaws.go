// Package mockaws answers the Pulumi engine's resource registrations and
// invokes the way AWS would, deterministically and without credentials. The
// offline preview and the infra unit tests run the real program under it:
// every registration is recorded with its inputs, computed outputs (ARNs,
// URLs, ids) are derived from the type, name and configured account and
// region, and an invoke it does not know fails loudly.
package mockaws

import (
	"fmt"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource is one registration the program made.
type Resource struct {
	URN    string
	Type   string
	Name   string
	Parent string // URN of the parent; the stack for top-level resources
	Custom bool   // false for component resources
	Inputs resource.PropertyMap
}

// Mocks implements pulumi.MockResourceMonitor. Create it with New; it is
// safe for the concurrent calls the Pulumi SDK makes.
type Mocks struct {
	project, stack    string
	accountID, region string
	callerAccountID   string

	mu        sync.Mutex
	resources []Resource
	invokes   map[string]int
	// stackOutputs answer StackReference reads, by referenced stack name.
	stackOutputs map[string]map[string]any
}

// New returns mocks for one stack of a project, answering as the given AWS
// account and region.
func New(project, stack, accountID, region string) *Mocks {
	return &Mocks{project: project, stack: stack, accountID: accountID, region: region, callerAccountID: accountID, invokes: map[string]int{}}
}

// WithCallerAccount makes getCallerIdentity answer as another account, as
// when credentials of the wrong environment are in use.
func (m *Mocks) WithCallerAccount(accountID string) *Mocks {
	m.callerAccountID = accountID
	return m
}

// WithStackOutputs makes a StackReference to the stack named name
// ("organization/experts/dev") read outputs. A reference to a stack without
// outputs given here reads none, as a brand-new stack's would.
func (m *Mocks) WithStackOutputs(name string, outputs map[string]any) *Mocks {
	if m.stackOutputs == nil {
		m.stackOutputs = map[string]map[string]any{}
	}
	m.stackOutputs[name] = outputs
	return m
}

// Resources returns the recorded registrations sorted by URN, so that the
// same program and config always give the same list.
func (m *Mocks) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]Resource(nil), m.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// Invokes returns how often each invoke token was called.
func (m *Mocks) Invokes() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.invokes))
	for k, v := range m.invokes {
		out[k] = v
	}
	return out
}

// AvailabilityZones are the zones the mock reports for its region.
func (m *Mocks) AvailabilityZones() []string { return m.answers().AvailabilityZones() }

// Call answers an invoke (a provider function such as getCallerIdentity).
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.invokes[args.Token]++
	m.mu.Unlock()
	out, err := m.answers().Invoke(args.Token, args.Args)
	if err != nil {
		return nil, fmt.Errorf("offline preview: %w", err)
	}
	return out, nil
}

// answers are the fake AWS answers of the mocked account.
func (m *Mocks) answers() Answers {
	return Answers{AccountID: m.accountID, Region: m.region, CallerAccountID: m.callerAccountID}
}

// NewResource records a registration and returns its id and state: the
// inputs plus the outputs AWS would compute.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if args.TypeToken == stackReferenceType {
		// A read of another stack's (or the stack's own previous)
		// outputs, not a resource of the stack: answered, not recorded.
		name := str(args.Inputs, "name")
		m.mu.Lock()
		outs := m.stackOutputs[name]
		m.mu.Unlock()
		if outs == nil {
			outs = map[string]any{}
		}
		return name, resource.PropertyMap{
			"name":              resource.NewProperty(name),
			"outputs":           resource.NewPropertyValue(outs),
			"secretOutputNames": resource.NewProperty([]resource.PropertyValue{}),
		}, nil
	}
	parent := ""
	if args.RegisterRPC != nil {
		parent = args.RegisterRPC.GetParent()
	}
	r := Resource{
		URN:    m.urn(parent, args.TypeToken, args.Name),
		Type:   args.TypeToken,
		Name:   args.Name,
		Parent: parent,
		Custom: args.Custom,
		Inputs: args.Inputs.Copy(),
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()

	id, state := m.answers().Create(args.TypeToken, args.Name, args.Inputs)
	return id, state, nil
}

const stackReferenceType = "pulumi:pulumi:StackReference"

// urn builds the URN the way the engine does for a child of parent.
func (m *Mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.stack), tokens.PackageName(m.project), parentType, tokens.Type(typ), name))
}
