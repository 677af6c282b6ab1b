package infra

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/experts/platform/infra/policy"
)

// Policies returns every rule the stack must pass: config sanity here, and
// the rules of the identity, runtime and site components in their files.
func Policies() []policy.Rule {
	var rules []policy.Rule
	for _, set := range [][]policy.Rule{configRules, identityRules, runtimeRules, siteRules} {
		rules = append(rules, set...)
	}
	return rules
}

// Type tokens the config rules look at.
const (
	typeDockerImage    = "docker:index/image:Image"
	typeTaskDefinition = "aws:ecs/taskDefinition:TaskDefinition"
)

// credentialName matches environment variable names that hold credentials.
var credentialName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|ACCESS_KEY|API_KEY|CREDENTIAL|DATABASE_URL|DSN)`)

var configRules = []policy.Rule{
	{
		Name:        "prod-deploys-verified-digests",
		Description: "Prod never builds images: it deploys the digest that dev verified.",
		Enforcement: policy.Mandatory,
		CheckStack: func(s *policy.Stack) []policy.Violation {
			if !s.IsProd() {
				return nil
			}
			var out []policy.Violation
			for _, r := range s.OfType(typeDockerImage) {
				out = append(out, policy.Violation{URN: r.URN,
					Message: "prod builds an image; give the release an imageDigest (" + KeyRelease + ") instead"})
			}
			return out
		},
	},
	{
		Name:        "no-plaintext-credentials",
		Description: "Credentials reach containers through ECS secrets, never as plain environment values.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeTaskDefinition},
		Check: func(_ *policy.Stack, r policy.Resource) []string {
			defs, err := ContainerDefinitions(r)
			if err != nil {
				return []string{err.Error()}
			}
			var out []string
			for _, c := range defs {
				for _, env := range c.Environment {
					if credentialName.MatchString(env.Name) {
						out = append(out, fmt.Sprintf("container %s sets %s as a plain environment value: move it to %s.<service>.secrets",
							c.Name, env.Name, KeyServices))
					}
				}
			}
			return out
		},
	},
	{
		Name:        "names-carry-environment",
		Description: "Physical names include the environment, so that dev and prod never collide in one account.",
		Enforcement: policy.Advisory,
		Check: func(s *policy.Stack, r policy.Resource) []string {
			name, ok := r.Inputs["name"].(string)
			if !ok || !strings.HasPrefix(r.Type, "aws:") || strings.Contains(name, s.Environment) {
				return nil
			}
			if r.Type == typeECRRepository {
				// ECR replication keeps repository names, so a repository is
				// named alike in every account: its account separates dev
				// from prod, and the digest dev verified lands under the
				// same name in prod.
				return nil
			}
			return []string{fmt.Sprintf("physical name %q does not mention the environment %q", name, s.Environment)}
		},
	},
}

// ContainerDefinition is the part of an ECS container definition that
// policy rules and tests read.
type ContainerDefinition struct {
	Name        string            `json:"name"`
	Image       string            `json:"image"`
	Essential   bool              `json:"essential"`
	Command     []string          `json:"command,omitempty"`
	Environment []KeyValuePair    `json:"environment,omitempty"`
	Secrets     []ContainerSecret `json:"secrets,omitempty"`
}

// KeyValuePair is a container environment entry.
type KeyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ContainerSecret is a container secret entry.
type ContainerSecret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// ContainerDefinitions parses the containerDefinitions input of a
// registered task definition.
func ContainerDefinitions(r policy.Resource) ([]ContainerDefinition, error) {
	text, ok := r.Inputs["containerDefinitions"].(string)
	if !ok {
		return nil, fmt.Errorf("containerDefinitions of %s is not known", r.Name)
	}
	var defs []ContainerDefinition
	if err := json.Unmarshal([]byte(text), &defs); err != nil {
		return nil, fmt.Errorf("parse containerDefinitions of %s: %w", r.Name, err)
	}
	return defs, nil
}
