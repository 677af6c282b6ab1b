package infra

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/experts/platform/infra/policy"
)

const (
	typeAwsxVpc       = "awsx:ec2:Vpc"
	typeSecurityGroup = "aws:ec2/securityGroup:SecurityGroup"
	typeEgressRule    = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
)

func TestNetworkCreatesAVpcSizedPerEnvironment(t *testing.T) {
	tests := []struct {
		stack string
		want  map[string]any
	}{
		{stack: "dev", want: map[string]any{
			"cidrBlock": "10.20.0.0/16", "numberOfAvailabilityZones": 2.0, "natGateways": map[string]any{"strategy": "Single"},
		}},
		{stack: "prod", want: map[string]any{
			"cidrBlock": "10.30.0.0/16", "numberOfAvailabilityZones": 3.0, "natGateways": map[string]any{"strategy": "OnePerAz"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			rr := runRuntime(t, tt.stack, nil)
			vpc := rr.one(t, typeAwsxVpc, "runtime-network-vpc")
			got := map[string]any{}
			for k := range tt.want {
				got[k] = vpc.Inputs[k]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("vpc (-want +got):\n%s", diff)
			}
			wantSpecs := []any{
				map[string]any{"type": "Private", "name": "private", "cidrMask": 19.0},
				map[string]any{"type": "Public", "name": "public", "cidrMask": 22.0},
			}
			if diff := cmp.Diff(wantSpecs, vpc.Inputs["subnetSpecs"]); diff != "" {
				t.Errorf("subnet specs (-want +got):\n%s", diff)
			}
			if vpc.Inputs["subnetStrategy"] != "Auto" {
				t.Errorf("subnetStrategy = %v, want Auto", vpc.Inputs["subnetStrategy"])
			}
			subnets := rr.outputStrings(t, "taskSubnetIds")
			if len(subnets) != int(tt.want["numberOfAvailabilityZones"].(float64)) {
				t.Errorf("tasks run in %d subnets, want one per availability zone", len(subnets))
			}
		})
	}
}

func TestNetworkUsesAnExistingVpc(t *testing.T) {
	private := []string{"subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"}
	public := []string{"subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"}
	rr := runRuntime(t, "prod", func(v map[string]string) {
		for _, k := range []string{"cidr", "availabilityZones", "natGateways"} {
			setJSON(t, v, KeyNetwork, k, nil)
		}
		setJSON(t, v, KeyNetwork, "vpcId", "vpc-0ccccccccccccccc1")
		setJSON(t, v, KeyNetwork, "privateSubnetIds", private)
		setJSON(t, v, KeyNetwork, "publicSubnetIds", public)
	})
	if got := rr.ofType(typeAwsxVpc); len(got) != 0 {
		t.Errorf("declares %d VPCs with an existing one configured", len(got))
	}
	if diff := cmp.Diff(private, rr.outputStrings(t, "taskSubnetIds")); diff != "" {
		t.Errorf("task subnets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(public, policy.InputsOf(rr.one(t, typeLoadBalancer, "runtime-alb")).Strings("subnets")); diff != "" {
		t.Errorf("load balancer subnets (-want +got):\n%s", diff)
	}
	for _, sg := range rr.ofType(typeSecurityGroup) {
		if sg.Inputs["vpcId"] != "vpc-0ccccccccccccccc1" {
			t.Errorf("%s in %v, want the configured VPC", sg.Name, sg.Inputs["vpcId"])
		}
	}
}

// ruleView is a security group rule as the tests compare it.
type ruleView struct {
	Group, Protocol, From, Source string
	Port                          float64
}

func TestNetworkLetsOnlyTheLoadBalancerReachTheTasks(t *testing.T) {
	rr := runRuntime(t, "dev", nil)
	albSG := policy.InputsOf(rr.one(t, typeLoadBalancer, "runtime-alb")).Strings("securityGroups")
	taskSG := rr.output(t, "taskSecurityGroupId").(string)
	if len(albSG) != 1 || albSG[0] == taskSG {
		t.Fatalf("load balancer groups %v, task group %s: want one group of its own", albSG, taskSG)
	}
	name := map[string]string{albSG[0]: "alb", taskSG: "tasks"}
	view := func(in policy.Inputs, direction string) ruleView {
		src := ingressSource(in, "cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")
		if n, ok := name[src]; ok {
			src = n
		}
		port, _ := in.Number("fromPort")
		if to, _ := in.Number("toPort"); to != port {
			t.Errorf("rule on %s covers ports %v to %v, want one port", in.Text("securityGroupId"), port, to)
		}
		return ruleView{Group: name[in.Text("securityGroupId")], Protocol: in.Text("ipProtocol"), From: direction, Source: src, Port: port}
	}
	var got []ruleView
	for _, r := range rr.ofType(typeIngressRule) {
		got = append(got, view(policy.InputsOf(r), "in"))
	}
	for _, r := range rr.ofType(typeEgressRule) {
		got = append(got, view(policy.InputsOf(r), "out"))
	}
	want := []ruleView{
		{Group: "alb", Protocol: "tcp", From: "in", Source: "0.0.0.0/0", Port: 443},
		{Group: "alb", Protocol: "tcp", From: "in", Source: "0.0.0.0/0", Port: 80},
		{Group: "tasks", Protocol: "tcp", From: "in", Source: "alb", Port: 8000},
		{Group: "tasks", Protocol: "tcp", From: "in", Source: "alb", Port: 8080},
		{Group: "alb", Protocol: "tcp", From: "out", Source: "tasks", Port: 8000},
		{Group: "alb", Protocol: "tcp", From: "out", Source: "tasks", Port: 8080},
		{Group: "tasks", Protocol: "-1", From: "out", Source: "0.0.0.0/0", Port: 0},
	}
	less := func(a, b ruleView) int {
		if c := strings.Compare(a.Group+a.From+a.Source, b.Group+b.From+b.Source); c != 0 {
			return c
		}
		return int(a.Port - b.Port)
	}
	slices.SortFunc(want, less)
	slices.SortFunc(got, less)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("security group rules (-want +got):\n%s", diff)
	}
	for _, sg := range rr.ofType(typeSecurityGroup) {
		if sg.Inputs["ingress"] != nil || sg.Inputs["egress"] != nil {
			t.Errorf("%s has inline rules; rules are separate resources", sg.Name)
		}
	}
}
