package fakeprovider

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// failure is one input the real provider would refuse.
type failure struct {
	Property, Reason string
}

// required are the required input properties of each type (terraform
// Required: true, or the docker provider's own checks).
var required = map[string][]string{
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider": {"url"},
	"aws:iam/role:Role":                                         {"assumeRolePolicy"},
	"aws:iam/rolePolicy:RolePolicy":                             {"role", "policy"},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                   {"repository", "policy"},
	"aws:ecr/registryPolicy:RegistryPolicy":                     {"policy"},
	"aws:ecr/replicationConfiguration:ReplicationConfiguration": {},
	"aws:ec2/securityGroup:SecurityGroup":                       {},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"securityGroupId", "ipProtocol"},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   {"securityGroupId", "ipProtocol"},
	"aws:lb/listener:Listener":                                  {"loadBalancerArn", "defaultActions"},
	"aws:lb/listenerRule:ListenerRule":                          {"listenerArn", "actions", "conditions"},
	"aws:ecs/service:Service":                                   {"name"},
	"aws:ecs/taskDefinition:TaskDefinition":                     {"family", "containerDefinitions"},
	"aws:s3/bucketPolicy:BucketPolicy":                          {"bucket", "policy"},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":    {"bucket"},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":    {"bucket", "rule"},
	"aws:s3/bucketLoggingV2:BucketLoggingV2":                    {"bucket", "targetBucket", "targetPrefix"},
	"aws:s3/bucketObjectv2:BucketObjectv2":                      {"bucket", "key"},
	"aws:cloudfront/function:Function":                          {"runtime", "code"},
	"aws:cloudfront/distribution:Distribution":                  {"enabled", "origins", "defaultCacheBehavior", "restrictions", "viewerCertificate"},
	"aws:cloudfront/originAccessControl:OriginAccessControl":    {"originAccessControlOriginType", "signingBehavior", "signingProtocol"},
	"aws:cloudfront/cachePolicy:CachePolicy":                    {"parametersInCacheKeyAndForwardedToOrigin"},
	"docker:index/image:Image":                                  {"imageName"},
	"docker:index/tag:Tag":                                      {"sourceImage", "targetImage"},
	"docker:index/registryImage:RegistryImage":                  {"name"},
}

// nameRule is the pattern and length limit of a physical name.
type nameRule struct {
	re  *regexp.Regexp
	max int
}

// names are the rules AWS (and terraform's validation) applies to the
// names the program gives.
var names = map[string]nameRule{
	"aws:iam/role:Role":                   {regexp.MustCompile(`^[\w+=,.@-]+$`), 64},
	"aws:iam/rolePolicy:RolePolicy":       {regexp.MustCompile(`^[\w+=,.@-]+$`), 128},
	"aws:ecr/repository:Repository":       {regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`), 256},
	"aws:ec2/securityGroup:SecurityGroup": {regexp.MustCompile(`^[^\x00-\x1f]+$`), 255},
	"aws:lb/loadBalancer:LoadBalancer":    {regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`), 32},
	"aws:lb/targetGroup:TargetGroup":      {regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`), 32},
	"aws:cloudwatch/logGroup:LogGroup":    {regexp.MustCompile(`^[.\-_/#A-Za-z0-9]+$`), 512},
	"aws:ecs/cluster:Cluster":             {regexp.MustCompile(`^[A-Za-z0-9_-]+$`), 255},
	"aws:ecs/service:Service":             {regexp.MustCompile(`^[A-Za-z0-9_-]+$`), 255},
	"aws:s3/bucketV2:BucketV2":            {regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`), 63},
	"aws:cloudfront/function:Function":    {regexp.MustCompile(`^[A-Za-z0-9_-]+$`), 64},
}

var familyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// retentionDays are the values CloudWatch Logs accepts for retentionInDays.
var retentionDays = map[int]bool{0: true, 1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
	150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true, 2922: true,
	3288: true, 3653: true}

// fargateMemory are the memory sizes (MiB) Fargate runs with each cpu size.
func fargateMemory(cpu, memory int) bool {
	switch cpu {
	case 256:
		return memory == 512 || memory == 1024 || memory == 2048
	case 512:
		return memory >= 1024 && memory <= 4096 && memory%1024 == 0
	case 1024:
		return memory >= 2048 && memory <= 8192 && memory%1024 == 0
	case 2048:
		return memory >= 4096 && memory <= 16384 && memory%1024 == 0
	case 4096:
		return memory >= 8192 && memory <= 30720 && memory%1024 == 0
	case 8192:
		return memory >= 16384 && memory <= 61440 && memory%4096 == 0
	case 16384:
		return memory >= 32768 && memory <= 122880 && memory%8192 == 0
	}
	return false
}

// checkInputs returns the inputs of a resource of type typ that the real
// provider refuses. Values not known yet (in a preview) pass.
func checkInputs(typ string, in resource.PropertyMap) []failure {
	var out []failure
	fail := func(prop, format string, args ...any) {
		out = append(out, failure{Property: prop, Reason: fmt.Sprintf(format, args...)})
	}
	known := func(k string) (resource.PropertyValue, bool) {
		v, ok := in[resource.PropertyKey(k)]
		if !ok || v.IsNull() {
			return v, false
		}
		return v, !v.ContainsUnknowns()
	}
	for _, k := range required[typ] {
		if v, ok := in[resource.PropertyKey(k)]; !ok || v.IsNull() {
			fail(k, "Missing required argument: The argument %q is required, but no definition was found.", k)
		}
	}
	rep := replacements[typ]
	if rule, ok := names[typ]; ok && rep.Name != "" {
		if v, ok := known(rep.Name); ok {
			name := plainString(v)
			if len(name) > rule.max || !rule.re.MatchString(name) {
				fail(rep.Name, "%q is not a valid %s name: at most %d characters matching %s", name, kindOf(typ), rule.max, rule.re)
			}
		}
	}
	port := func(k string) {
		if v, ok := known(k); ok {
			if n := number(v); n != nil && (n.(int) < 1 || n.(int) > 65535) {
				fail(k, "expected %s to be in the range (1 - 65535), got %d", k, n)
			}
		}
	}
	switch typ {
	case "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener":
		port("port")
	case "aws:cloudwatch/logGroup:LogGroup":
		if v, ok := known("retentionInDays"); ok {
			if n := number(v); n != nil && !retentionDays[n.(int)] {
				fail("retentionInDays", "expected retention_in_days to be one of %v, got %d", sortedInts(retentionDays), n)
			}
		}
	case "aws:iam/role:Role":
		if v, ok := known("maxSessionDuration"); ok {
			if n := number(v); n != nil && (n.(int) < 3600 || n.(int) > 43200) {
				fail("maxSessionDuration", "expected max_session_duration to be in the range (3600 - 43200), got %d", n)
			}
		}
	case "aws:ecs/service:Service":
		if v, ok := known("desiredCount"); ok {
			if n := number(v); n != nil && n.(int) < 0 {
				fail("desiredCount", "desiredCount must not be negative, got %d", n)
			}
		}
		if v, ok := known("loadBalancers"); ok {
			for i, lb := range unwrap(v).ArrayValue() {
				if lb.IsObject() {
					if n := number(lb.ObjectValue()["containerPort"]); n != nil && (n.(int) < 0 || n.(int) > 65536) {
						fail(fmt.Sprintf("loadBalancers[%d].containerPort", i), "expected container_port to be in the range (0 - 65536), got %d", n)
					}
				}
			}
		}
	case "aws:ecs/taskDefinition:TaskDefinition":
		if v, ok := known("family"); ok && !familyRE.MatchString(plainString(v)) {
			fail("family", "%q is not a valid task definition family: up to 255 letters, numbers, hyphens and underscores", plainString(v))
		}
		if v, ok := known("containerDefinitions"); ok {
			var defs []map[string]any
			if err := json.Unmarshal([]byte(plainString(v)), &defs); err != nil {
				fail("containerDefinitions", "ECS Task Definition container_definitions is invalid: %v", err)
			} else {
				for i, d := range defs {
					if n, _ := d["name"].(string); n == "" {
						fail("containerDefinitions", "container %d has no name", i)
					}
					if img, _ := d["image"].(string); img == "" {
						fail("containerDefinitions", "container %d has no image", i)
					}
				}
			}
		}
		compat, _ := known("requiresCompatibilities")
		fargate := false
		if compat.IsArray() {
			for _, c := range unwrap(compat).ArrayValue() {
				if c.IsString() && c.StringValue() == "FARGATE" {
					fargate = true
				}
			}
		}
		if fargate {
			cpuV, cpuOK := known("cpu")
			memV, memOK := known("memory")
			if cpuOK && memOK {
				var cpu, mem int
				_, errC := fmt.Sscan(plainString(cpuV), &cpu)
				_, errM := fmt.Sscan(plainString(memV), &mem)
				if errC != nil || errM != nil || !fargateMemory(cpu, mem) {
					fail("memory", "ClientException: No Fargate configuration exists for given values: %s CPU, %s memory", plainString(cpuV), plainString(memV))
				}
			}
			if v, ok := known("networkMode"); ok && plainString(v) != "awsvpc" {
				fail("networkMode", "ClientException: Fargate only supports network mode 'awsvpc'.")
			}
		}
	}
	return out
}

func sortedInts(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
