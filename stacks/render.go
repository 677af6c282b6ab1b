package stacks

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/experts/platform/infra"
	"github.com/experts/platform/infra/policy"
)

// reviewKeys are the inputs a reviewer looks at, in the order shown. Any
// other input is in the JSON document.
var reviewKeys = []string{
	"name", "namePrefix", "family", "bucket", "url", "clientIdLists", "cidrBlock",
	"numberOfAvailabilityZones", "natGateways", "internal", "loadBalancerType",
	"port", "protocol", "certificateArn", "sslPolicy", "defaultActions", "conditions",
	"healthCheck", "deregistrationDelay", "targetType",
	"imageTagMutability", "imageScanningConfiguration", "encryptionConfigurations",
	"retentionInDays", "settings", "cpu", "memory", "networkMode", "requiresCompatibilities",
	"desiredCount", "launchType", "deploymentMinimumHealthyPercent", "deploymentMaximumPercent",
	"deploymentCircuitBreaker", "healthCheckGracePeriodSeconds", "enableExecuteCommand",
	"networkConfiguration", "loadBalancers", "ingress", "egress",
	"maxSessionDuration", "managedPolicyArns", "policyArn",
	"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets",
	"rule", "versioningConfiguration", "aliases", "priceClass", "defaultRootObject",
	"defaultCacheBehavior", "orderedCacheBehaviors", "viewerCertificate", "httpVersion",
	"originAccessControlOriginType", "signingBehavior", "securityHeadersConfig",
	"imageName", "build", "registry",
}

// policyKeys hold JSON policy documents, summarized one statement a line.
var policyKeys = []string{"assumeRolePolicy", "policy"}

// WriteText writes the plan for a reviewer: resources as a tree under their
// components with the inputs that matter, the outputs, then the verdicts.
func (p *Plan) WriteText(w io.Writer) error {
	pw := &printer{w: w}
	pw.printf("Offline preview of %s/%s: %d resources, no AWS calls (ids and ARNs are computed by deterministic mocks)\n",
		p.Project, p.Stack, len(p.Resources))

	children := map[string][]policy.Resource{}
	known := map[string]bool{}
	for _, r := range p.Resources {
		known[r.URN] = true
	}
	for _, r := range p.Resources {
		parent := r.Parent
		if !known[parent] {
			parent = ""
		}
		children[parent] = append(children[parent], r)
	}
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		list := children[parent]
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].Type != list[j].Type {
				return list[i].Type < list[j].Type
			}
			return list[i].Name < list[j].Name
		})
		for _, r := range list {
			indent := strings.Repeat("    ", depth)
			pw.printf("\n%s+ %s  %s\n", indent, r.Name, r.Type)
			writeInputs(pw, indent+"      ", r)
			walk(r.URN, depth+1)
		}
	}
	walk("", 0)

	pw.printf("\nOutputs:\n")
	keys := make([]string, 0, len(p.Outputs))
	for k := range p.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pw.printf("    %-32s %s\n", k, compact(p.Outputs[k], 100))
	}

	mandatory := p.Mandatory()
	pw.printf("\nPolicies: %d rules, %d mandatory and %d advisory violations\n",
		p.Rules, len(mandatory), len(p.Violations)-len(mandatory))
	for _, v := range p.Violations {
		pw.printf("    [%s] %s: %s\n        %s\n", v.Enforcement, v.Policy, v.Message, v.URN)
	}
	if len(mandatory) > 0 {
		pw.printf("\nResult: BLOCKED by %d mandatory violation(s)\n", len(mandatory))
	} else {
		pw.printf("\nResult: no mandatory violations\n")
	}
	return pw.err
}

func writeInputs(pw *printer, indent string, r policy.Resource) {
	for _, k := range policyKeys {
		text, ok := r.Inputs[k].(string)
		if !ok {
			continue
		}
		pw.printf("%s%s:\n", indent, k)
		for _, line := range summarizePolicy(text) {
			pw.printf("%s    %s\n", indent, line)
		}
	}
	if text, ok := r.Inputs["containerDefinitions"].(string); ok {
		defs, err := infra.ContainerDefinitions(r)
		if err != nil {
			pw.printf("%scontainerDefinitions: %s\n", indent, compact(text, 100))
		}
		for _, d := range defs {
			pw.printf("%scontainer %s: image %s", indent, d.Name, d.Image)
			if len(d.Command) > 0 {
				pw.printf(", command %s", strings.Join(d.Command, " "))
			}
			var secrets []string
			for _, s := range d.Secrets {
				secrets = append(secrets, s.Name)
			}
			if len(secrets) > 0 {
				pw.printf(", secrets %s", strings.Join(secrets, ","))
			}
			pw.printf("\n")
		}
	}
	for _, k := range reviewKeys {
		if v, ok := r.Inputs[k]; ok && v != nil {
			pw.printf("%s%s: %s\n", indent, k, compact(v, 160))
		}
	}
}

// summarizePolicy renders each statement of a policy document on one line:
// "Allow a, b on r1, r2 if StringEquals k=v".
func summarizePolicy(text string) []string {
	doc, err := infra.ParsePolicyDocument(text)
	if err != nil {
		return []string{compact(text, 160)}
	}
	var lines []string
	for _, s := range doc.Statement {
		var b strings.Builder
		b.WriteString(s.Effect)
		if s.Sid != "" {
			fmt.Fprintf(&b, " (%s)", s.Sid)
		}
		if len(s.Principal) > 0 {
			fmt.Fprintf(&b, " principal %s", compact(s.Principal, 200))
		}
		if len(s.Action) > 0 {
			fmt.Fprintf(&b, " %s", strings.Join(s.Action, ", "))
		}
		if len(s.NotAction) > 0 {
			fmt.Fprintf(&b, " all but %s", strings.Join(s.NotAction, ", "))
		}
		if len(s.Resource) > 0 {
			fmt.Fprintf(&b, " on %s", strings.Join(s.Resource, ", "))
		}
		if len(s.Condition) > 0 {
			fmt.Fprintf(&b, " if %s", compact(s.Condition, 300))
		}
		lines = append(lines, b.String())
	}
	return lines
}

// compact renders v as one line of JSON, cut at limit characters.
func compact(v any, limit int) string {
	var s string
	if str, ok := v.(string); ok {
		s = str
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			s = fmt.Sprint(v)
		} else {
			s = string(b)
		}
	}
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}

// printer keeps the first write error so that rendering code stays linear.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format, args...)
}
