package fakeprovider

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/experts/platform/infra/mockaws"
)

// vpc is the awsx:ec2:Vpc component with the outputs the program reads.
type vpc struct {
	pulumi.ResourceState

	VpcID             pulumi.StringOutput      `pulumi:"vpcId"`
	PublicSubnetIDs   pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	PrivateSubnetIDs  pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	IsolatedSubnetIDs pulumi.StringArrayOutput `pulumi:"isolatedSubnetIds"`
}

// Construct builds the awsx VPC component, with the ids the offline
// preview's answers give it.
func (p *Provider) Construct(ctx context.Context, req *pulumirpc.ConstructRequest) (*pulumirpc.ConstructResponse, error) {
	if p.pkg != "awsx" || req.GetType() != "awsx:ec2:Vpc" {
		return nil, fmt.Errorf("the fake %s provider constructs awsx:ec2:Vpc only, not %s", p.pkg, req.GetType())
	}
	inputs, err := unmarshal(req.GetInputs())
	if err != nil {
		return nil, err
	}
	_, outs := mockaws.AwsxVpc(req.GetName(), inputs)
	return provider.Construct(ctx, req, p.host.EngineConn(), func(pctx *pulumi.Context, typ, name string, _ provider.ConstructInputs, opts pulumi.ResourceOption) (*provider.ConstructResult, error) {
		v := &vpc{}
		if err := pctx.RegisterComponentResource(typ, name, v, opts); err != nil {
			return nil, err
		}
		strs := func(k string) pulumi.StringArrayOutput {
			var arr pulumi.StringArray
			list, _ := outs[k].([]any)
			for _, s := range list {
				arr = append(arr, pulumi.String(fmt.Sprint(s)))
			}
			if arr == nil {
				arr = pulumi.StringArray{}
			}
			return arr.ToStringArrayOutput()
		}
		v.VpcID = pulumi.String(fmt.Sprint(outs["vpcId"])).ToStringOutput()
		v.PublicSubnetIDs = strs("publicSubnetIds")
		v.PrivateSubnetIDs = strs("privateSubnetIds")
		v.IsolatedSubnetIDs = strs("isolatedSubnetIds")
		if err := pctx.RegisterResourceOutputs(v, pulumi.Map{
			"vpcId": v.VpcID, "publicSubnetIds": v.PublicSubnetIDs, "privateSubnetIds": v.PrivateSubnetIDs, "isolatedSubnetIds": v.IsolatedSubnetIDs,
		}); err != nil {
			return nil, err
		}
		return provider.NewConstructResult(v)
	})
}
