// Package mockaws answers the Pulumi engine's resource registrations and
// invokes the way AWS would, deterministically and without credentials. The
// offline preview and the infra unit tests run the real program under it:
// every registration is recorded with its inputs, computed outputs (ARNs,
// URLs, ids) are derived from the type, name and configured account and
// region, and an invoke it does not know fails loudly.
package mockaws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
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
func (m *Mocks) AvailabilityZones() []string {
	return []string{m.region + "a", m.region + "b", m.region + "c"}
}

// Call answers an invoke (a provider function such as getCallerIdentity).
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.invokes[args.Token]++
	m.mu.Unlock()
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":        m.callerAccountID,
			"accountId": m.callerAccountID,
			"arn":       fmt.Sprintf("arn:aws:sts::%s:assumed-role/offline-preview/deployctl", m.callerAccountID),
			"userId":    "AROAOFFLINEPREVIEW:deployctl",
		}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":          m.region,
			"name":        m.region,
			"region":      m.region,
			"description": "offline preview region",
			"endpoint":    "ec2." + m.region + ".amazonaws.com",
		}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":               "aws",
			"partition":        "aws",
			"dnsSuffix":        "amazonaws.com",
			"reverseDnsPrefix": "com.amazonaws",
		}), nil
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		zones := m.AvailabilityZones()
		ids := make([]any, len(zones))
		names := make([]any, len(zones))
		for i, z := range zones {
			names[i] = z
			ids[i] = fmt.Sprintf("%s-az%d", shortRegion(m.region), i+1)
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":      m.region,
			"names":   names,
			"zoneIds": ids,
		}), nil
	case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
		registry := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", m.accountID, m.region)
		return resource.PropertyMap{
			"id":                 resource.NewProperty(registry),
			"registryId":         resource.NewProperty(m.accountID),
			"userName":           resource.NewProperty("AWS"),
			"password":           resource.MakeSecret(resource.NewProperty("offline-preview-token")),
			"authorizationToken": resource.MakeSecret(resource.NewProperty("QVdTOm9mZmxpbmUtcHJldmlldy10b2tlbg==")),
			"proxyEndpoint":      resource.NewProperty("https://" + registry),
			"expiresAt":          resource.NewProperty("2000-01-01T00:00:00Z"),
		}, nil
	}
	return nil, fmt.Errorf("offline preview has no answer for invoke %s: add it to infra/mockaws", args.Token)
}

// NewResource records a registration and returns its id and state: the
// inputs plus the outputs AWS would compute.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
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

	id, computed := m.compute(args.TypeToken, args.Name, args.Inputs)
	state := args.Inputs.Copy()
	for k, v := range computed {
		if _, set := state[resource.PropertyKey(k)]; !set || k == "arn" || k == "id" {
			state[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
		}
	}
	return id, state, nil
}

// urn builds the URN the way the engine does for a child of parent.
func (m *Mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.stack), tokens.PackageName(m.project), parentType, tokens.Type(typ), name))
}

// hash returns n deterministic hex digits for a resource.
func hash(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])[:n]
}

func str(inputs resource.PropertyMap, key string) string {
	v, ok := inputs[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsOutput() {
		v = v.OutputValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func shortRegion(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	return parts[0] + parts[1][:1] + parts[2]
}

// compute returns the id and computed outputs of a resource of type typ.
func (m *Mocks) compute(typ, name string, in resource.PropertyMap) (string, map[string]any) {
	acct, region := m.accountID, m.region
	physical := str(in, "name")
	if physical == "" {
		physical = name
	}
	h := hash(17, typ, name)
	switch typ {
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		host := strings.TrimPrefix(str(in, "url"), "https://")
		arn := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", acct, host)
		return arn, map[string]any{"arn": arn}
	case "aws:iam/role:Role":
		return physical, map[string]any{
			"arn":      fmt.Sprintf("arn:aws:iam::%s:role/%s", acct, physical),
			"uniqueId": "AROA" + strings.ToUpper(hash(17, typ, name)),
		}
	case "aws:iam/policy:Policy":
		arn := fmt.Sprintf("arn:aws:iam::%s:policy/%s", acct, physical)
		return arn, map[string]any{"arn": arn, "policyId": "ANPA" + strings.ToUpper(h)}
	case "aws:iam/rolePolicy:RolePolicy":
		return str(in, "role") + ":" + physical, nil
	case "aws:ecr/repository:Repository":
		return physical, map[string]any{
			"arn":           fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", region, acct, physical),
			"repositoryUrl": fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", acct, region, physical),
			"registryId":    acct,
		}
	case "aws:ecs/cluster:Cluster":
		arn := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", region, acct, physical)
		return arn, map[string]any{"arn": arn}
	case "aws:ecs/service:Service":
		cluster := str(in, "cluster")
		cluster = cluster[strings.LastIndex(cluster, "/")+1:]
		arn := fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", region, acct, cluster, physical)
		return arn, map[string]any{"arn": arn}
	case "aws:ecs/taskDefinition:TaskDefinition":
		family := str(in, "family")
		base := fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s", region, acct, family)
		return family, map[string]any{"arn": base + ":1", "arnWithoutRevision": base, "revision": 1}
	case "aws:cloudwatch/logGroup:LogGroup":
		return physical, map[string]any{"arn": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, acct, physical)}
	case "aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer":
		suffix := fmt.Sprintf("app/%s/%s", physical, hash(16, typ, name))
		arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s", region, acct, suffix)
		return arn, map[string]any{
			"arn":       arn,
			"arnSuffix": suffix,
			"dnsName":   fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", physical, hash(9, typ, name), region),
			"zoneId":    "Z2IFOLAFXWLO4F",
		}
	case "aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup":
		suffix := fmt.Sprintf("targetgroup/%s/%s", physical, hash(16, typ, name))
		arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", region, acct, suffix)
		return arn, map[string]any{"arn": arn, "arnSuffix": suffix}
	case "aws:lb/listener:Listener", "aws:alb/listener:Listener", "aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule":
		arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener/app/%s/%s", region, acct, name, hash(16, typ, name))
		return arn, map[string]any{"arn": arn}
	case "aws:ec2/securityGroup:SecurityGroup":
		id := "sg-" + h
		return id, map[string]any{"arn": fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, acct, id)}
	case "aws:ec2/vpc:Vpc":
		return "vpc-" + h, nil
	case "awsx:ec2:Vpc":
		return m.awsxVpc(name, in)
	case "aws:s3/bucketV2:BucketV2", "aws:s3/bucket:Bucket":
		bucket := str(in, "bucket")
		if bucket == "" {
			bucket = name
		}
		return bucket, map[string]any{
			"bucket":                   bucket,
			"arn":                      "arn:aws:s3:::" + bucket,
			"bucketDomainName":         bucket + ".s3.amazonaws.com",
			"bucketRegionalDomainName": fmt.Sprintf("%s.s3.%s.amazonaws.com", bucket, region),
			"region":                   region,
		}
	case "aws:cloudfront/distribution:Distribution":
		id := "E" + strings.ToUpper(hash(13, typ, name))
		return id, map[string]any{
			"arn":          fmt.Sprintf("arn:aws:cloudfront::%s:distribution/%s", acct, id),
			"domainName":   "d" + hash(13, "domain", name) + ".cloudfront.net",
			"hostedZoneId": "Z2FDTNDATAQYW2",
			"status":       "Deployed",
		}
	case "aws:cloudfront/function:Function":
		// CloudFront functions are global: their ARN has no region, and
		// their id is their name.
		return physical, map[string]any{
			"arn":           fmt.Sprintf("arn:aws:cloudfront::%s:function/%s", acct, physical),
			"etag":          "E" + strings.ToUpper(hash(13, typ, name)),
			"liveStageEtag": "E" + strings.ToUpper(hash(13, "live", typ, name)),
			"status":        "UNASSOCIATED",
		}
	case "docker:index/image:Image":
		image := str(in, "imageName")
		repo := image
		if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
			repo = image[:i]
		}
		digest := "sha256:" + hash(64, typ, name, image)
		return image, map[string]any{"repoDigest": repo + "@" + digest, "baseImageName": image}
	}
	return name + "-" + hash(8, typ, name), map[string]any{
		"arn": fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", service(typ), region, acct, strings.ToLower(kind(typ)), physical),
	}
}

// awsxVpc fills the outputs of the awsx VPC component, which under mocks is
// one resource with its inputs and no children.
func (m *Mocks) awsxVpc(name string, in resource.PropertyMap) (string, map[string]any) {
	zones := 2
	if v, ok := in["numberOfAvailabilityZones"]; ok && v.IsNumber() {
		zones = int(v.NumberValue())
	}
	var public, private, nats []any
	for i := range zones {
		public = append(public, "subnet-"+hash(17, "public", name, fmt.Sprint(i)))
		private = append(private, "subnet-"+hash(17, "private", name, fmt.Sprint(i)))
	}
	strategy := "Single"
	if gw, ok := in["natGateways"]; ok && gw.IsObject() {
		if s, ok := gw.ObjectValue()["strategy"]; ok && s.IsString() {
			strategy = s.StringValue()
		}
	}
	switch strategy {
	case "OnePerAz":
		for i := range zones {
			nats = append(nats, "nat-"+hash(17, "nat", name, fmt.Sprint(i)))
		}
	case "Single":
		nats = append(nats, "nat-"+hash(17, "nat", name, "0"))
	}
	vpcID := "vpc-" + hash(17, "vpc", name)
	return vpcID, map[string]any{
		"vpcId":             vpcID,
		"publicSubnetIds":   public,
		"privateSubnetIds":  private,
		"isolatedSubnetIds": []any{},
		"natGatewayIds":     nats,
	}
}

// service returns the AWS service of a type token, "ecs" for
// "aws:ecs/service:Service".
func service(typ string) string {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 {
		return "unknown"
	}
	mod, _, _ := strings.Cut(parts[1], "/")
	return mod
}

func kind(typ string) string {
	parts := strings.Split(typ, ":")
	return parts[len(parts)-1]
}
