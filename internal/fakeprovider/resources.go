package fakeprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/experts/platform/infra/mockaws"
)

// nameKey is the simulator's key of the physical name of a resource, ""
// for a type without a unique name or a resource the program left
// unnamed.
func nameKey(typ, account string, inputs resource.PropertyMap) string {
	rep := replacements[typ]
	if rep.Name == "" {
		return ""
	}
	name := plainString(inputs[resource.PropertyKey(rep.Name)])
	if name == "" {
		return ""
	}
	switch typ {
	case "aws:s3/bucketV2:BucketV2":
		return typ + "/" + name // bucket names are global
	case "aws:ecs/service:Service", "aws:ecr/repository:Repository", "aws:ecs/cluster:Cluster":
		return "" // the simulator's own API refuses a second one
	}
	return typ + "/" + account + "/" + name
}

func (p *Provider) create(ctx context.Context, sim *simClient, answers mockaws.Answers, urn resource.URN, inputs resource.PropertyMap) (string, resource.PropertyMap, error) {
	typ := string(urn.Type())
	if p.pkg == "docker" {
		return p.createDocker(ctx, sim, typ, inputs)
	}
	if key := nameKey(typ, answers.AccountID, inputs); key != "" {
		if err := sim.claim(ctx, key, string(urn)); err != nil {
			return "", nil, fmt.Errorf("%s %s already exists: %w", kindOf(typ), plainString(inputs[resource.PropertyKey(replacements[typ].Name)]), err)
		}
	}
	id, state := answers.Create(typ, urn.Name(), inputs)
	switch typ {
	case "aws:ecs/cluster:Cluster":
		if err := sim.ecs(ctx, "CreateCluster", map[string]any{"clusterName": plainString(inputs["name"])}, nil); err != nil {
			return "", nil, err
		}
	case "aws:ecr/repository:Repository":
		if err := sim.ecr(ctx, "CreateRepository", map[string]any{"repositoryName": plainString(inputs["name"])}, nil); err != nil {
			return "", nil, err
		}
	case "aws:ecs/taskDefinition:TaskDefinition":
		rev, err := registerTaskDefinition(ctx, sim, inputs)
		if err != nil {
			return "", nil, err
		}
		for k, v := range mockaws.TaskDefinitionOutputs(answers.Region, answers.AccountID, plainString(inputs["family"]), rev) {
			state[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
		}
	case "aws:ecs/service:Service":
		in := serviceInput(inputs)
		in["serviceName"] = plainString(inputs["name"])
		in["launchType"] = plainString(inputs["launchType"])
		in["desiredCount"] = number(inputs["desiredCount"])
		if err := sim.ecs(ctx, "CreateService", in, nil); err != nil {
			return "", nil, err
		}
	}
	return id, state, nil
}

func (p *Provider) update(ctx context.Context, sim *simClient, answers mockaws.Answers, urn resource.URN, id string, olds, news resource.PropertyMap) (resource.PropertyMap, error) {
	typ := string(urn.Type())
	if p.pkg == "docker" {
		_, state, err := p.createDocker(ctx, sim, typ, news)
		return state, err
	}
	_, state := answers.Create(typ, urn.Name(), news)
	// Outputs of the resource as it exists stay: an update keeps its
	// identity (a task definition keeps its revision).
	for _, k := range []resource.PropertyKey{"arn", "arnWithoutRevision", "revision"} {
		if v, ok := olds[k]; ok {
			state[k] = v
		}
	}
	if typ == "aws:ecs/service:Service" {
		in := serviceInput(news)
		in["service"] = plainString(news["name"])
		in["desiredCount"] = number(news["desiredCount"])
		if unwrap(news["forceNewDeployment"]).IsBool() && unwrap(news["forceNewDeployment"]).BoolValue() {
			in["forceNewDeployment"] = true
		}
		if err := sim.ecs(ctx, "UpdateService", in, nil); err != nil {
			return nil, err
		}
	}
	_ = id
	return state, nil
}

func (p *Provider) delete(ctx context.Context, sim *simClient, answers mockaws.Answers, urn resource.URN, id string, state resource.PropertyMap) error {
	typ := string(urn.Type())
	if p.pkg == "docker" {
		return p.deleteDocker(ctx, sim, typ, state)
	}
	switch typ {
	case "aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer":
		if protect := unwrap(state["enableDeletionProtection"]); protect.IsBool() && protect.BoolValue() {
			return &apiError{Code: "OperationNotPermitted", Message: fmt.Sprintf("Load balancer '%s' cannot be deleted because deletion protection is enabled", id)}
		}
	case "aws:ecs/service:Service":
		err := sim.ecs(ctx, "DeleteService", map[string]any{"cluster": plainString(state["cluster"]), "service": plainString(state["name"]), "force": true}, nil)
		if isCode(err, "ServiceNotFoundException") {
			err = nil
		}
		if err != nil {
			return err
		}
	case "aws:ecs/cluster:Cluster":
		if err := sim.ecs(ctx, "DeleteCluster", map[string]any{"cluster": plainString(state["name"])}, nil); err != nil && !isCode(err, "ClusterNotFoundException") {
			return err
		}
	case "aws:ecs/taskDefinition:TaskDefinition":
		if skip := unwrap(state["skipDestroy"]); !skip.IsBool() || !skip.BoolValue() {
			if err := sim.ecs(ctx, "DeregisterTaskDefinition", map[string]any{"taskDefinition": plainString(state["arn"])}, nil); err != nil {
				return err
			}
		}
	case "aws:ecr/repository:Repository":
		force := unwrap(state["forceDelete"])
		err := sim.ecr(ctx, "DeleteRepository", map[string]any{"repositoryName": plainString(state["name"]), "force": force.IsBool() && force.BoolValue()}, nil)
		if err != nil && !isCode(err, "RepositoryNotFoundException") {
			return err
		}
	}
	if key := nameKey(typ, answers.AccountID, state); key != "" {
		if err := sim.release(ctx, key); err != nil {
			return err
		}
	}
	_ = id
	return nil
}

func isCode(err error, code string) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Code == code
}

func kindOf(typ string) string {
	return typ[strings.LastIndex(typ, ":")+1:]
}

// plain is a property value as JSON-like Go values, secrets and outputs
// unwrapped.
func plain(v resource.PropertyValue) any {
	v = unwrap(v)
	if v.IsNull() || v.IsComputed() {
		return nil
	}
	return v.Mappable()
}

func number(v resource.PropertyValue) any {
	v = unwrap(v)
	if v.IsNumber() {
		return int(v.NumberValue())
	}
	return nil
}

// registerTaskDefinition registers the task definition with the
// simulator's ECS and returns its revision.
func registerTaskDefinition(ctx context.Context, sim *simClient, inputs resource.PropertyMap) (int, error) {
	var defs []any
	if err := json.Unmarshal([]byte(plainString(inputs["containerDefinitions"])), &defs); err != nil {
		return 0, fmt.Errorf("containerDefinitions is not a JSON array: %w", err)
	}
	in := map[string]any{"family": plainString(inputs["family"]), "containerDefinitions": defs}
	for _, k := range []string{"cpu", "memory", "networkMode", "executionRoleArn", "taskRoleArn", "requiresCompatibilities", "runtimePlatform"} {
		if v := plain(inputs[resource.PropertyKey(k)]); v != nil {
			in[k] = v
		}
	}
	var out struct {
		TaskDefinition struct {
			Revision int `json:"revision"`
		} `json:"taskDefinition"`
	}
	if err := sim.ecs(ctx, "RegisterTaskDefinition", in, &out); err != nil {
		return 0, err
	}
	return out.TaskDefinition.Revision, nil
}

// serviceInput is the part of CreateService and UpdateService the program
// sets.
func serviceInput(inputs resource.PropertyMap) map[string]any {
	in := map[string]any{
		"cluster":        plainString(inputs["cluster"]),
		"taskDefinition": plainString(inputs["taskDefinition"]),
		"deploymentConfiguration": map[string]any{
			"maximumPercent":        number(inputs["deploymentMaximumPercent"]),
			"minimumHealthyPercent": number(inputs["deploymentMinimumHealthyPercent"]),
		},
	}
	if cb, ok := plain(inputs["deploymentCircuitBreaker"]).(map[string]any); ok {
		in["deploymentConfiguration"].(map[string]any)["deploymentCircuitBreaker"] = cb
	}
	if lbs, ok := plain(inputs["loadBalancers"]).([]any); ok {
		in["loadBalancers"] = lbs
	}
	if nc, ok := plain(inputs["networkConfiguration"]).(map[string]any); ok {
		assign := "DISABLED"
		if b, _ := nc["assignPublicIp"].(bool); b {
			assign = "ENABLED"
		}
		in["networkConfiguration"] = map[string]any{"awsvpcConfiguration": map[string]any{
			"subnets": nc["subnets"], "securityGroups": nc["securityGroups"], "assignPublicIp": assign,
		}}
	}
	if v := number(inputs["healthCheckGracePeriodSeconds"]); v != nil {
		in["healthCheckGracePeriodSeconds"] = v
	}
	return in
}
