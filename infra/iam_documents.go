package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PolicyDocument is an IAM (or bucket, or repository) policy document. The
// program builds every policy as a value of this type and marshals it with
// encoding/json; policy rules parse registered documents back into it.
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy document.
type Statement struct {
	Sid          string                    `json:"Sid,omitempty"`
	Effect       string                    `json:"Effect"`
	Principal    map[string]StringOrList   `json:"Principal,omitempty"`
	NotPrincipal map[string]StringOrList   `json:"NotPrincipal,omitempty"`
	Action       StringOrList              `json:"Action,omitempty"`
	NotAction    StringOrList              `json:"NotAction,omitempty"`
	Resource     StringOrList              `json:"Resource,omitempty"`
	NotResource  StringOrList              `json:"NotResource,omitempty"`
	Condition    map[string]map[string]any `json:"Condition,omitempty"`
}

// PolicyVersion is the current IAM policy language version.
const PolicyVersion = "2012-10-17"

// StringOrList is a policy element that IAM accepts as a string or a list of
// strings. It always marshals as a list.
type StringOrList []string

// UnmarshalJSON accepts a string or a list of strings.
func (s *StringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StringOrList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// NewPolicyDocument returns a document of the current version.
func NewPolicyDocument(statements ...Statement) PolicyDocument {
	return PolicyDocument{Version: PolicyVersion, Statement: statements}
}

// JSON marshals the document.
func (d PolicyDocument) JSON() (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("marshal policy document: %w", err)
	}
	return string(b), nil
}

// ParsePolicyDocument parses a policy document as registered.
func ParsePolicyDocument(text string) (PolicyDocument, error) {
	var d PolicyDocument
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		return d, fmt.Errorf("parse policy document: %w", err)
	}
	return d, nil
}

// PolicyJSON builds a policy document from resolved inputs and returns it as
// JSON text: the one way the program turns resource ARNs into a policy.
// build receives the resolved values of inputs in order. No resource may be
// created inside build.
func PolicyJSON(build func(values []any) PolicyDocument, inputs ...any) pulumi.StringOutput {
	return pulumi.All(inputs...).ApplyT(func(values []any) (string, error) {
		return build(values).JSON()
	}).(pulumi.StringOutput)
}
