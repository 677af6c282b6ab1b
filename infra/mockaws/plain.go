package mockaws

import (
	"github.com/experts/platform/infra/policy"
)

// Markers that replace values a reviewer must not see or that are not known
// until the resource exists.
const (
	SecretMarker  = policy.SecretMarker
	UnknownMarker = policy.UnknownMarker
)

// PlainResources returns the recorded registrations as policy resources:
// sorted by URN, inputs as plain values.
func (m *Mocks) PlainResources() []policy.Resource {
	rs := m.Resources()
	out := make([]policy.Resource, len(rs))
	for i, r := range rs {
		out[i] = policy.Resource{URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent, Inputs: policy.PlainMap(r.Inputs)}
	}
	return out
}
