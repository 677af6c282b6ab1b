package infra

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	awsxec2 "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Network is where the services run: public subnets for the load
// balancer, private subnets for the tasks, and the two security groups
// that allow exactly internet → load balancer → tasks.
type Network struct {
	pulumi.ResourceState

	VpcID            pulumi.StringOutput
	PublicSubnetIDs  pulumi.StringArrayOutput
	PrivateSubnetIDs pulumi.StringArrayOutput
	// AlbSecurityGroupID accepts HTTPS (and HTTP, which only redirects)
	// from the internet and may reach the tasks on their ports.
	AlbSecurityGroupID pulumi.StringOutput
	// TaskSecurityGroupID accepts traffic only from the load balancer's
	// security group. One-off tasks (migrations) run in it too.
	TaskSecurityGroupID pulumi.StringOutput
}

// NetworkArgs configures the network.
type NetworkArgs struct {
	// Name prefixes physical names, such as "experts-dev".
	Name string
	// Network is the stack's network config: a VPC to create or an
	// existing one.
	Network NetworkConfig
	// ServicePorts are the container ports the load balancer forwards to.
	ServicePorts []int
}

// Ports of the public listeners.
const (
	httpsPort = 443
	httpPort  = 80
)

// NewNetwork declares the VPC (or adopts an existing one) and the
// security groups of the load balancer and the tasks.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	if args == nil || args.Name == "" || len(args.ServicePorts) == 0 {
		return nil, fmt.Errorf("network %s: name and service ports are required", name)
	}
	n := &Network{}
	if err := ctx.RegisterComponentResource("experts:infra:Network", name, n, opts...); err != nil {
		return nil, fmt.Errorf("register network %s: %w", name, err)
	}
	parent := pulumi.Parent(n)

	if args.Network.Existing() {
		n.VpcID = pulumi.String(args.Network.VpcID).ToStringOutput()
		n.PublicSubnetIDs = pulumi.ToStringArray(args.Network.PublicSubnetIDs).ToStringArrayOutput()
		n.PrivateSubnetIDs = pulumi.ToStringArray(args.Network.PrivateSubnetIDs).ToStringArrayOutput()
	} else {
		vpcArgs, err := awsxVpcArgs(args.Name, args.Network)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", name, err)
		}
		v, err := awsxec2.NewVpc(ctx, name+"-vpc", vpcArgs, parent)
		if err != nil {
			return nil, fmt.Errorf("declare vpc: %w", err)
		}
		n.VpcID = v.VpcId
		n.PublicSubnetIDs = v.PublicSubnetIds
		n.PrivateSubnetIDs = v.PrivateSubnetIds
	}

	// Name prefixes, not names: a replaced group is created before the old
	// one is deleted (the services and the load balancer move over to it),
	// and two groups of one name cannot exist in a VPC.
	albSG, err := ec2.NewSecurityGroup(ctx, name+"-alb", &ec2.SecurityGroupArgs{
		NamePrefix:  pulumi.String(args.Name + "-alb-"),
		Description: pulumi.String("Load balancer of " + args.Name + ": HTTPS from the internet, forwards to the tasks"),
		VpcId:       n.VpcID,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("declare load balancer security group: %w", err)
	}
	taskSG, err := ec2.NewSecurityGroup(ctx, name+"-tasks", &ec2.SecurityGroupArgs{
		NamePrefix:  pulumi.String(args.Name + "-tasks-"),
		Description: pulumi.String("ECS tasks of " + args.Name + ": reachable from the load balancer only"),
		VpcId:       n.VpcID,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("declare task security group: %w", err)
	}
	n.AlbSecurityGroupID = albSG.ID().ToStringOutput()
	n.TaskSecurityGroupID = taskSG.ID().ToStringOutput()

	// Rules are separate resources, never inline blocks, so that each one
	// is visible to the policy rules and can change without replacing the
	// group.
	for _, port := range []int{httpsPort, httpPort} {
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, fmt.Sprintf("%s-alb-in-%d", name, port), &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: albSG.ID(),
			Description:     pulumi.String(fmt.Sprintf("Clients on port %d", port)),
			IpProtocol:      pulumi.String("tcp"),
			FromPort:        pulumi.Int(port),
			ToPort:          pulumi.Int(port),
			CidrIpv4:        pulumi.String("0.0.0.0/0"),
		}, parent); err != nil {
			return nil, fmt.Errorf("declare load balancer ingress %d: %w", port, err)
		}
	}
	for _, port := range uniqueInts(args.ServicePorts) {
		p := strconv.Itoa(port)
		if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-alb-to-tasks-"+p, &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId:           albSG.ID(),
			Description:               pulumi.String("To the tasks on port " + p),
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(port),
			ToPort:                    pulumi.Int(port),
			ReferencedSecurityGroupId: taskSG.ID(),
		}, parent); err != nil {
			return nil, fmt.Errorf("declare load balancer egress %d: %w", port, err)
		}
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-tasks-from-alb-"+p, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId:           taskSG.ID(),
			Description:               pulumi.String("From the load balancer on port " + p),
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(port),
			ToPort:                    pulumi.Int(port),
			ReferencedSecurityGroupId: albSG.ID(),
		}, parent); err != nil {
			return nil, fmt.Errorf("declare task ingress %d: %w", port, err)
		}
	}
	// Tasks pull images, read secrets, write logs and reach the database:
	// outbound is open, through the NAT gateways.
	if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-tasks-out", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: taskSG.ID(),
		Description:     pulumi.String("Outbound from the tasks"),
		IpProtocol:      pulumi.String("-1"),
		CidrIpv4:        pulumi.String("0.0.0.0/0"),
	}, parent); err != nil {
		return nil, fmt.Errorf("declare task egress: %w", err)
	}

	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":               n.VpcID,
		"publicSubnetIds":     n.PublicSubnetIDs,
		"privateSubnetIds":    n.PrivateSubnetIDs,
		"albSecurityGroupId":  n.AlbSecurityGroupID,
		"taskSecurityGroupId": n.TaskSecurityGroupID,
	}); err != nil {
		return nil, fmt.Errorf("register network outputs: %w", err)
	}
	return n, nil
}

// awsxVpcArgs sizes a new VPC: in every availability zone a private subnet
// of an eighth of the block for tasks and a public subnet of a
// sixty-fourth for the load balancer and the NAT gateways.
func awsxVpcArgs(name string, n NetworkConfig) (*awsxec2.VpcArgs, error) {
	prefix, err := netip.ParsePrefix(n.CIDR)
	if err != nil {
		return nil, fmt.Errorf("parse %s.cidr: %w", KeyNetwork, err)
	}
	strategy := awsxec2.NatGatewayStrategySingle
	if n.NATGateways == NATOnePerAZ {
		strategy = awsxec2.NatGatewayStrategyOnePerAz
	}
	cidr := prefix.String()
	zones := n.AvailabilityZones
	subnets := awsxec2.SubnetAllocationStrategyAuto
	privateMask, publicMask := prefix.Bits()+3, prefix.Bits()+6
	privateName, publicName := "private", "public"
	return &awsxec2.VpcArgs{
		CidrBlock:                 &cidr,
		NumberOfAvailabilityZones: &zones,
		NatGateways:               &awsxec2.NatGatewayConfigurationArgs{Strategy: strategy},
		SubnetStrategy:            &subnets,
		SubnetSpecs: []awsxec2.SubnetSpecArgs{
			{Type: awsxec2.SubnetTypePrivate, Name: &privateName, CidrMask: &privateMask},
			{Type: awsxec2.SubnetTypePublic, Name: &publicName, CidrMask: &publicMask},
		},
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               pulumi.StringMap{"Name": pulumi.String(name)},
	}, nil
}

// uniqueInts returns vs without repeats, in first-seen order.
func uniqueInts(vs []int) []int {
	seen := make(map[int]bool, len(vs))
	var out []int
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
