package fakeprovider

// This file is the fake providers' replacement table: for every resource
// type the program declares, the input properties whose change makes the
// real provider replace the resource instead of updating it.
//
// Source: the resource schemas of hashicorp/terraform-provider-aws, which
// pulumi-aws v6 bridges (ForceNew / RequiresReplace attributes), in
// internal/service/<service>/<resource>.go (ecs/service.go, ecs/cluster.go,
// ecs/task_definition.go, ecr/repository.go, ecr/lifecycle_policy.go,
// elbv2/load_balancer.go, elbv2/target_group.go, elbv2/listener.go,
// elbv2/listener_rule.go, ec2/vpc_security_group.go,
// ec2/vpc_security_group_ingress_rule.go, logs/group.go, iam/role.go,
// iam/role_policy.go, iam/openid_connect_provider.go, s3/bucket*.go,
// cloudfront/function.go, ...); for docker:index/tag:Tag and
// docker:index/registryImage:RegistryImage the schemas of
// kreuzwerker/terraform-provider-docker that pulumi-docker v4 bridges; and
// for docker:index/image:Image pulumi-docker's native provider, whose Diff
// updates (rebuilds) and never replaces. Terraform attribute names appear
// here in Pulumi's camelCase.

// replacement is how one resource type is replaced.
type replacement struct {
	// Props are the top-level input properties whose change replaces the
	// resource.
	Props []string
	// AllBut, when set, replaces on a change of any property but these
	// (ECS task definitions: every argument is ForceNew but tags,
	// skip_destroy and track_latest).
	AllBut []string
	// Name is the property that holds the resource's physical name when
	// the program gives one, "" for types without a unique name. pulumi-aws
	// autonames these properties, and the bridge deletes before it
	// replaces a resource whose name the program set
	// (pulumi-terraform-bridge nameRequiresDeleteBeforeReplace).
	Name string
}

// replacements is the table, by Pulumi type token. A type the program
// declares that is missing here is refused by Check.
var replacements = map[string]replacement{
	// aws: identity
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider": {Props: []string{"url"}},
	"aws:iam/role:Role":             {Props: []string{"name", "namePrefix", "path"}, Name: "name"},
	"aws:iam/rolePolicy:RolePolicy": {Props: []string{"name", "namePrefix", "role"}, Name: "name"},
	"aws:iam/policy:Policy":         {Props: []string{"name", "namePrefix", "path", "description"}, Name: "name"},

	// aws: registry
	"aws:ecr/repository:Repository":                             {Props: []string{"name", "encryptionConfigurations"}, Name: "name"},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                   {Props: []string{"repository"}},
	"aws:ecr/registryPolicy:RegistryPolicy":                     {},
	"aws:ecr/replicationConfiguration:ReplicationConfiguration": {},

	// aws: network and load balancer
	"aws:ec2/securityGroup:SecurityGroup":                                                        {Props: []string{"name", "namePrefix", "description", "vpcId"}, Name: "name"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":                                  {Props: []string{"securityGroupId"}},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":                                    {Props: []string{"securityGroupId"}},
	"aws:lb/loadBalancer:LoadBalancer":                                                           {Props: []string{"name", "namePrefix", "internal", "loadBalancerType", "customerOwnedIpv4Pool"}, Name: "name"},
	"aws:lb/targetGroup:TargetGroup":                                                             {Props: []string{"name", "namePrefix", "port", "protocol", "protocolVersion", "vpcId", "targetType", "ipAddressType"}, Name: "name"},
	"aws:lb/listener:Listener":                                                                   {Props: []string{"loadBalancerArn"}},
	"aws:lb/listenerRule:ListenerRule":                                                           {Props: []string{"listenerArn"}},
	"aws:cloudwatch/logGroup:LogGroup":                                                           {Props: []string{"name", "namePrefix", "logGroupClass"}, Name: "name"},
	"aws:ecs/cluster:Cluster":                                                                    {Props: []string{"name"}, Name: "name"},
	"aws:ecs/service:Service":                                                                    {Props: []string{"name", "cluster", "launchType", "iamRole", "schedulingStrategy", "deploymentController"}, Name: "name"},
	"aws:ecs/taskDefinition:TaskDefinition":                                                      {AllBut: []string{"tags", "tagsAll", "skipDestroy", "trackLatest"}},
	"aws:s3/bucketV2:BucketV2":                                                                   {Props: []string{"bucket", "bucketPrefix", "objectLockEnabled"}, Name: "bucket"},
	"aws:s3/bucketPolicy:BucketPolicy":                                                           {Props: []string{"bucket"}},
	"aws:s3/bucketObjectv2:BucketObjectv2":                                                       {Props: []string{"bucket", "key"}},
	"aws:s3/bucketLoggingV2:BucketLoggingV2":                                                     {Props: []string{"bucket", "expectedBucketOwner"}},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                     {Props: []string{"bucket"}},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                                     {Props: []string{"bucket"}},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {Props: []string{"bucket", "expectedBucketOwner"}},
	"aws:s3/bucketVersioningV2:BucketVersioningV2":                                               {Props: []string{"bucket", "expectedBucketOwner", "mfa"}},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":                       {Props: []string{"bucket", "expectedBucketOwner"}},
	"aws:cloudfront/function:Function":                                                           {Props: []string{"name"}, Name: "name"},
	"aws:cloudfront/distribution:Distribution":                                                   {},
	"aws:cloudfront/originAccessControl:OriginAccessControl":                                     {},
	"aws:cloudfront/cachePolicy:CachePolicy":                                                     {},
	"aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy":                                 {},

	// docker
	"docker:index/image:Image":                 {},
	"docker:index/tag:Tag":                     {Props: []string{"sourceImage", "targetImage", "tagTriggers"}},
	"docker:index/registryImage:RegistryImage": {Props: []string{"name", "triggers", "insecureSkipVerify"}},
}

// replaces reports whether a change of property prop replaces a resource
// of type typ.
func (r replacement) replaces(prop string) bool {
	if r.AllBut != nil {
		for _, p := range r.AllBut {
			if p == prop {
				return false
			}
		}
		return true
	}
	for _, p := range r.Props {
		if p == prop {
			return true
		}
	}
	return false
}
