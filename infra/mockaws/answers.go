package mockaws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Answers are the fake AWS answers of one account and region: the ids and
// computed outputs (ARNs, URLs, ids) of resources and the results of
// invokes. The offline preview's mocks and the rehearsal's fake provider
// plugins both answer with them, so a rehearsed update and an offline
// preview of the same program agree.
type Answers struct {
	AccountID, Region string
	// CallerAccountID is the account getCallerIdentity reports; the
	// stack's account unless credentials of another are in use.
	CallerAccountID string
}

// AvailabilityZones are the zones reported for the region.
func (a Answers) AvailabilityZones() []string {
	return []string{a.Region + "a", a.Region + "b", a.Region + "c"}
}

// Invoke answers a provider function such as getCallerIdentity. A token it
// does not know is an error that names it.
func (a Answers) Invoke(token string, _ resource.PropertyMap) (resource.PropertyMap, error) {
	switch token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":        a.CallerAccountID,
			"accountId": a.CallerAccountID,
			"arn":       fmt.Sprintf("arn:aws:sts::%s:assumed-role/offline-preview/deployctl", a.CallerAccountID),
			"userId":    "AROAOFFLINEPREVIEW:deployctl",
		}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":          a.Region,
			"name":        a.Region,
			"region":      a.Region,
			"description": "offline preview region",
			"endpoint":    "ec2." + a.Region + ".amazonaws.com",
		}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":               "aws",
			"partition":        "aws",
			"dnsSuffix":        "amazonaws.com",
			"reverseDnsPrefix": "com.amazonaws",
		}), nil
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		zones := a.AvailabilityZones()
		ids := make([]any, len(zones))
		names := make([]any, len(zones))
		for i, z := range zones {
			names[i] = z
			ids[i] = fmt.Sprintf("%s-az%d", shortRegion(a.Region), i+1)
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":      a.Region,
			"names":   names,
			"zoneIds": ids,
		}), nil
	case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
		registry := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", a.AccountID, a.Region)
		return resource.PropertyMap{
			"id":                 resource.NewProperty(registry),
			"registryId":         resource.NewProperty(a.AccountID),
			"userName":           resource.NewProperty("AWS"),
			"password":           resource.MakeSecret(resource.NewProperty("offline-preview-token")),
			"authorizationToken": resource.MakeSecret(resource.NewProperty("QVdTOm9mZmxpbmUtcHJldmlldy10b2tlbg==")),
			"proxyEndpoint":      resource.NewProperty("https://" + registry),
			"expiresAt":          resource.NewProperty("2000-01-01T00:00:00Z"),
		}, nil
	}
	return nil, fmt.Errorf("no answer for invoke %s: add it to infra/mockaws", token)
}

// Create returns the id and state of a newly created resource of type typ
// named name: its inputs plus the outputs AWS would compute.
func (a Answers) Create(typ, name string, inputs resource.PropertyMap) (string, resource.PropertyMap) {
	id, computed := a.compute(typ, name, inputs)
	state := inputs.Copy()
	for k, v := range computed {
		if _, set := state[resource.PropertyKey(k)]; !set || k == "arn" || k == "id" {
			state[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
		}
	}
	return id, state
}

// ClusterARN is the ARN of the ECS cluster named name.
func ClusterARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", region, account, name)
}

// ServiceARN is the ARN of the ECS service named name in cluster (a name or
// an ARN).
func ServiceARN(region, account, cluster, name string) string {
	cluster = cluster[strings.LastIndex(cluster, "/")+1:]
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", region, account, cluster, name)
}

// TaskDefinitionARN is the ARN of revision of a task definition family.
func TaskDefinitionARN(region, account, family string, revision int) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", region, account, family, revision)
}

// TaskDefinitionOutputs are the computed outputs of revision of a task
// definition family.
func TaskDefinitionOutputs(region, account, family string, revision int) map[string]any {
	return map[string]any{
		"arn":                TaskDefinitionARN(region, account, family, revision),
		"arnWithoutRevision": fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s", region, account, family),
		"revision":           revision,
	}
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
func (a Answers) compute(typ, name string, in resource.PropertyMap) (string, map[string]any) {
	acct, region := a.AccountID, a.Region
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
		arn := ClusterARN(region, acct, physical)
		return arn, map[string]any{"arn": arn}
	case "aws:ecs/service:Service":
		arn := ServiceARN(region, acct, str(in, "cluster"), physical)
		return arn, map[string]any{"arn": arn}
	case "aws:ecs/taskDefinition:TaskDefinition":
		family := str(in, "family")
		return family, TaskDefinitionOutputs(region, acct, family, 1)
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
		return AwsxVpc(name, in)
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

// AwsxVpc returns the id and outputs of the awsx VPC component named name:
// under the offline preview's mocks it is one resource with its inputs and
// no children, and the rehearsal's fake awsx plugin constructs it with the
// same outputs.
func AwsxVpc(name string, in resource.PropertyMap) (string, map[string]any) {
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
