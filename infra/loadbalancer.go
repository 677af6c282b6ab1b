package infra

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LoadBalancer is the public application load balancer in front of the
// services: HTTPS with the environment's certificate, HTTP redirected to
// HTTPS, one target group per service selected by host name.
type LoadBalancer struct {
	pulumi.ResourceState

	Arn     pulumi.StringOutput
	DNSName pulumi.StringOutput
	// TargetGroupArns are keyed by service.
	TargetGroupArns map[string]pulumi.StringOutput
	// Routes are the listener rules keyed by service. A service must be
	// created after its rule: ECS refuses a target group that no load
	// balancer forwards to.
	Routes map[string]pulumi.Resource
}

// LoadBalancerArgs configures the load balancer.
type LoadBalancerArgs struct {
	// Name is the physical name, such as "experts-dev" (at most 32
	// characters).
	Name string
	// DeletionProtection makes AWS refuse to delete the load balancer.
	DeletionProtection bool
	// CertificateArn is the regional ACM certificate of the HTTPS listener.
	CertificateArn  string
	VpcID           pulumi.StringInput
	SubnetIDs       pulumi.StringArrayInput
	SecurityGroupID pulumi.StringInput
	// Targets are the services behind the load balancer, in rule order.
	Targets []LoadBalancerTarget
}

// LoadBalancerTarget is one service behind the load balancer.
type LoadBalancerTarget struct {
	Service             string
	Host                string
	Port                int
	HealthCheckPath     string
	DeregistrationDelay int
}

// Target group health checks: a new task is healthy after two passing
// checks (20 s), a broken one is out after three failures (30 s), instead
// of the defaults of 30 s × 5.
const (
	healthCheckIntervalSeconds = 10
	healthCheckTimeoutSeconds  = 5
	healthyThreshold           = 2
	unhealthyThreshold         = 3
)

// tlsPolicy accepts TLS 1.3 and 1.2 with forward secrecy only: the "Res"
// policy offers only TLS_* and ECDHE-* ciphers, unlike
// ELBSecurityPolicy-TLS13-1-2-2021-06, which also offers AES*-GCM-SHA*
// with RSA key exchange.
const tlsPolicy = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"

// NewLoadBalancer declares the load balancer, its listeners, target groups
// and host rules.
func NewLoadBalancer(ctx *pulumi.Context, name string, args *LoadBalancerArgs, opts ...pulumi.ResourceOption) (*LoadBalancer, error) {
	if args == nil || args.Name == "" || args.CertificateArn == "" || len(args.Targets) == 0 {
		return nil, fmt.Errorf("load balancer %s: name, certificate and targets are required", name)
	}
	l := &LoadBalancer{TargetGroupArns: map[string]pulumi.StringOutput{}, Routes: map[string]pulumi.Resource{}}
	if err := ctx.RegisterComponentResource("experts:infra:LoadBalancer", name, l, opts...); err != nil {
		return nil, fmt.Errorf("register load balancer %s: %w", name, err)
	}
	parent := pulumi.Parent(l)

	alb, err := lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		Name:                     pulumi.String(args.Name),
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		Subnets:                  args.SubnetIDs,
		SecurityGroups:           pulumi.StringArray{args.SecurityGroupID},
		DropInvalidHeaderFields:  pulumi.Bool(true),
		EnableDeletionProtection: pulumi.Bool(args.DeletionProtection),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("declare load balancer: %w", err)
	}
	l.Arn, l.DNSName = alb.Arn, alb.DnsName

	https, err := lb.NewListener(ctx, name+"-https", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(httpsPort),
		Protocol:        pulumi.String("HTTPS"),
		SslPolicy:       pulumi.String(tlsPolicy),
		CertificateArn:  pulumi.String(args.CertificateArn),
		// A host the rules do not know gets a 404, not a service.
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("fixed-response"),
			FixedResponse: &lb.ListenerDefaultActionFixedResponseArgs{
				ContentType: pulumi.String("text/plain"),
				MessageBody: pulumi.String("not found"),
				StatusCode:  pulumi.String("404"),
			},
		}},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("declare https listener: %w", err)
	}
	if _, err := lb.NewListener(ctx, name+"-http", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(httpPort),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Protocol:   pulumi.String("HTTPS"),
				Port:       pulumi.String(strconv.Itoa(httpsPort)),
				StatusCode: pulumi.String("HTTP_301"),
			},
		}},
	}, parent); err != nil {
		return nil, fmt.Errorf("declare http redirect listener: %w", err)
	}

	for i, t := range args.Targets {
		tg, err := lb.NewTargetGroup(ctx, name+"-"+t.Service, &lb.TargetGroupArgs{
			// The port is part of the name: a new port replaces the
			// target group, and the replacement needs a free name.
			Name:                pulumi.String(fmt.Sprintf("%s-%s-%d", args.Name, t.Service, t.Port)),
			TargetType:          pulumi.String("ip"),
			Protocol:            pulumi.String("HTTP"),
			Port:                pulumi.Int(t.Port),
			VpcId:               args.VpcID,
			DeregistrationDelay: pulumi.Int(t.DeregistrationDelay),
			HealthCheck: &lb.TargetGroupHealthCheckArgs{
				Enabled:            pulumi.Bool(true),
				Protocol:           pulumi.String("HTTP"),
				Port:               pulumi.String("traffic-port"),
				Path:               pulumi.String(t.HealthCheckPath),
				Matcher:            pulumi.String("200"),
				Interval:           pulumi.Int(healthCheckIntervalSeconds),
				Timeout:            pulumi.Int(healthCheckTimeoutSeconds),
				HealthyThreshold:   pulumi.Int(healthyThreshold),
				UnhealthyThreshold: pulumi.Int(unhealthyThreshold),
			},
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("declare target group %s: %w", t.Service, err)
		}
		rule, err := lb.NewListenerRule(ctx, name+"-"+t.Service+"-host", &lb.ListenerRuleArgs{
			ListenerArn: https.Arn,
			Priority:    pulumi.Int(10 * (i + 1)),
			Conditions: lb.ListenerRuleConditionArray{&lb.ListenerRuleConditionArgs{
				HostHeader: &lb.ListenerRuleConditionHostHeaderArgs{Values: pulumi.StringArray{pulumi.String(t.Host)}},
			}},
			Actions: lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{
				Type:           pulumi.String("forward"),
				TargetGroupArn: tg.Arn,
			}},
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("declare host rule %s: %w", t.Service, err)
		}
		l.TargetGroupArns[t.Service] = tg.Arn
		l.Routes[t.Service] = rule
	}

	outputs := pulumi.Map{"arn": l.Arn, "dnsName": l.DNSName}
	for svc, arn := range l.TargetGroupArns {
		outputs[svc+"TargetGroupArn"] = arn
	}
	if err := ctx.RegisterResourceOutputs(l, outputs); err != nil {
		return nil, fmt.Errorf("register load balancer outputs: %w", err)
	}
	return l, nil
}
