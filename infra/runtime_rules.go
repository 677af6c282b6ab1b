package infra

import (
	"fmt"
	"regexp"

	"github.com/experts/platform/infra/policy"
)

// Type tokens the runtime rules look at.
const (
	typeECSService        = "aws:ecs/service:Service"
	typeECRRepository     = "aws:ecr/repository:Repository"
	typeLogGroup          = "aws:cloudwatch/logGroup:LogGroup"
	typeIngressRule       = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	typeSecurityGroupRule = "aws:ec2/securityGroupRule:SecurityGroupRule"
	typeLoadBalancer      = "aws:lb/loadBalancer:LoadBalancer"
	typeALB               = "aws:alb/loadBalancer:LoadBalancer"
)

// imageByDigest matches "<repository>@sha256:<64 hex digits>".
var imageByDigest = regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)

// runtimeRules are the mandatory rules of the runtime: safe rollouts,
// private tasks, scanned images, bounded logs.
var runtimeRules = []policy.Rule{
	{
		Name:        "service-circuit-breaker-rollback",
		Description: "Every ECS service has the deployment circuit breaker on, with rollback.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeECSService},
		Check: func(_ *policy.Stack, r policy.Resource) []string {
			cb := policy.InputsOf(r).Object("deploymentCircuitBreaker")
			if !cb.Bool("enable") || !cb.Bool("rollback") {
				return []string{"deploymentCircuitBreaker must be {enable: true, rollback: true}: a failed rollout must roll back by itself"}
			}
			return nil
		},
	},
	{
		Name:        "prod-service-capacity",
		Description: "Prod services run at least two tasks and roll out without dropping below full capacity.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeECSService},
		Check: func(s *policy.Stack, r policy.Resource) []string {
			if !s.IsProd() {
				return nil
			}
			in := policy.InputsOf(r)
			var out []string
			if v, ok := in.Number("deploymentMinimumHealthyPercent"); !ok || v < 100 {
				out = append(out, fmt.Sprintf("deploymentMinimumHealthyPercent is %s, prod needs 100 (%s.<service>.minHealthyPercent)",
					in.Text("deploymentMinimumHealthyPercent"), KeyServices))
			}
			if v, ok := in.Number("desiredCount"); !ok || v < 2 {
				out = append(out, fmt.Sprintf("desiredCount is %s, prod needs at least 2 (%s.<service>.desiredCount)",
					in.Text("desiredCount"), KeyServices))
			}
			return out
		},
	},
	{
		Name:        "service-grace-period",
		Description: "A service behind a load balancer has a health-check grace period, so starting tasks are not killed.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeECSService},
		Check: func(_ *policy.Stack, r policy.Resource) []string {
			in := policy.InputsOf(r)
			if in.Len("loadBalancers") == 0 {
				return nil
			}
			if v, ok := in.Number("healthCheckGracePeriodSeconds"); !ok || v <= 0 {
				return []string{fmt.Sprintf("healthCheckGracePeriodSeconds is %s behind a load balancer; set %s.<service>.healthCheckGracePeriodSeconds",
					in.Text("healthCheckGracePeriodSeconds"), KeyServices)}
			}
			return nil
		},
	},
	{
		Name:        "tasks-without-public-ip",
		Description: "Tasks run in private subnets without public IP addresses.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeECSService},
		Check: func(_ *policy.Stack, r policy.Resource) []string {
			nc := policy.InputsOf(r).Object("networkConfiguration")
			switch {
			case !nc.Set():
				return []string{"no networkConfiguration: Fargate tasks need private subnets and a security group"}
			case nc.Bool("assignPublicIp"):
				return []string{"networkConfiguration.assignPublicIp is true: tasks must not be reachable from the internet"}
			}
			return nil
		},
	},
	{
		Name:        "tasks-ingress-from-load-balancer-only",
		Description: "The tasks' security groups accept traffic only from the load balancer's security group.",
		Enforcement: policy.Mandatory,
		CheckStack:  checkTaskIngress,
	},
	{
		Name:        "ecr-scan-on-push",
		Description: "Every ECR repository scans images on push.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeECRRepository},
		Check: func(_ *policy.Stack, r policy.Resource) []string {
			if !policy.InputsOf(r).Object("imageScanningConfiguration").Bool("scanOnPush") {
				return []string{"imageScanningConfiguration.scanOnPush must be true"}
			}
			return nil
		},
	},
	{
		Name:        "log-retention-set",
		Description: "Every log group expires its events.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeLogGroup},
		Check: func(_ *policy.Stack, r policy.Resource) []string {
			if v, ok := policy.InputsOf(r).Number("retentionInDays"); !ok || v <= 0 {
				return []string{fmt.Sprintf("retentionInDays is not set: logs would be kept forever (%s)", KeyLogRetentionDays)}
			}
			return nil
		},
	},
	{
		Name:        "images-by-digest",
		Description: "Task definitions run images by digest, so that what runs is exactly what was verified and a rollback has a target.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeTaskDefinition},
		Check: func(_ *policy.Stack, r policy.Resource) []string {
			defs, err := ContainerDefinitions(r)
			if err != nil {
				return []string{err.Error()}
			}
			var out []string
			for _, c := range defs {
				if !imageByDigest.MatchString(c.Image) {
					out = append(out, fmt.Sprintf("container %s runs %q: reference the image as <repository>@sha256:<digest>", c.Name, c.Image))
				}
			}
			return out
		},
	},
}

// checkTaskIngress finds the security groups of the ECS services and of
// the load balancers, and refuses any ingress rule on the former whose
// source is not one of the latter.
func checkTaskIngress(s *policy.Stack) []policy.Violation {
	taskGroups, albGroups := map[string]bool{}, map[string]bool{}
	var out []policy.Violation
	for _, r := range s.OfType(typeECSService) {
		groups := policy.InputsOf(r).Object("networkConfiguration").Strings("securityGroups")
		if len(groups) == 0 {
			out = append(out, policy.Violation{URN: r.URN, Message: "no security group: the tasks would get the VPC's default group"})
		}
		for _, g := range groups {
			taskGroups[g] = true
		}
	}
	for _, typ := range []string{typeLoadBalancer, typeALB} {
		for _, r := range s.OfType(typ) {
			for _, g := range policy.InputsOf(r).Strings("securityGroups") {
				albGroups[g] = true
			}
		}
	}
	for _, r := range s.OfType(typeIngressRule) {
		in := policy.InputsOf(r)
		if !taskGroups[in.Text("securityGroupId")] {
			continue
		}
		if src := in.Text("referencedSecurityGroupId"); !albGroups[src] {
			out = append(out, policy.Violation{URN: r.URN, Message: fmt.Sprintf(
				"task security group %s accepts traffic from %s: only the load balancer's security group may reach the tasks",
				in.Text("securityGroupId"), ingressSource(in, "cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"))})
		}
	}
	for _, r := range s.OfType(typeSecurityGroupRule) {
		in := policy.InputsOf(r)
		if in.Text("type") != "ingress" || !taskGroups[in.Text("securityGroupId")] {
			continue
		}
		if src := in.Text("sourceSecurityGroupId"); !albGroups[src] || len(in.Strings("cidrBlocks")) > 0 ||
			len(in.Strings("ipv6CidrBlocks")) > 0 || len(in.Strings("prefixListIds")) > 0 || in.Bool("self") {
			out = append(out, policy.Violation{URN: r.URN, Message: fmt.Sprintf(
				"task security group %s accepts traffic from %s: only the load balancer's security group may reach the tasks",
				in.Text("securityGroupId"), ingressSource(in, "cidrBlocks", "ipv6CidrBlocks", "prefixListIds", "self", "sourceSecurityGroupId"))})
		}
	}
	return out
}

// ingressSource describes where a rule lets traffic in from: the first of keys
// that is set.
func ingressSource(in policy.Inputs, keys ...string) string {
	for _, k := range keys {
		switch v := in.Value(k).(type) {
		case string:
			if v != "" {
				return v
			}
		case []any:
			if len(v) > 0 {
				return fmt.Sprint(v)
			}
		case bool:
			if v {
				return "itself"
			}
		}
	}
	return "nowhere"
}
