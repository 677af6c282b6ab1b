package infra

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	typeListener     = "aws:lb/listener:Listener"
	typeListenerRule = "aws:lb/listenerRule:ListenerRule"
	typeTargetGroup  = "aws:lb/targetGroup:TargetGroup"
)

func TestLoadBalancerListeners(t *testing.T) {
	for stack, cert := range map[string]string{
		"dev":  "arn:aws:acm:eu-west-1:210987654321:certificate/6f1d2c3b-9a0e-4b7f-8c21-5d4e3f2a1b0c",
		"prod": "arn:aws:acm:eu-west-1:123456789012:certificate/9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
	} {
		t.Run(stack, func(t *testing.T) {
			rr := runRuntime(t, stack, nil)
			alb := rr.one(t, typeLoadBalancer, "runtime-alb")
			gotALB := map[string]any{}
			for _, k := range []string{"name", "loadBalancerType", "internal", "dropInvalidHeaderFields", "enableDeletionProtection"} {
				gotALB[k] = alb.Inputs[k]
			}
			wantALB := map[string]any{
				"name": "experts-" + stack, "loadBalancerType": "application", "internal": false,
				"dropInvalidHeaderFields": true, "enableDeletionProtection": stack == "prod",
			}
			if diff := cmp.Diff(wantALB, gotALB); diff != "" {
				t.Errorf("load balancer (-want +got):\n%s", diff)
			}

			https := rr.one(t, typeListener, "runtime-alb-https")
			gotHTTPS := map[string]any{
				"port": https.Inputs["port"], "protocol": https.Inputs["protocol"], "certificateArn": https.Inputs["certificateArn"],
				"sslPolicy": https.Inputs["sslPolicy"], "defaultActions": https.Inputs["defaultActions"],
			}
			wantHTTPS := map[string]any{
				"port": 443.0, "protocol": "HTTPS", "certificateArn": cert, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
				"defaultActions": []any{map[string]any{"type": "fixed-response", "fixedResponse": map[string]any{
					"contentType": "text/plain", "messageBody": "not found", "statusCode": "404",
				}}},
			}
			if diff := cmp.Diff(wantHTTPS, gotHTTPS); diff != "" {
				t.Errorf("https listener (-want +got):\n%s", diff)
			}

			http := rr.one(t, typeListener, "runtime-alb-http")
			gotHTTP := map[string]any{"port": http.Inputs["port"], "protocol": http.Inputs["protocol"], "defaultActions": http.Inputs["defaultActions"]}
			wantHTTP := map[string]any{"port": 80.0, "protocol": "HTTP", "defaultActions": []any{map[string]any{
				"type":     "redirect",
				"redirect": map[string]any{"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
			}}}
			if diff := cmp.Diff(wantHTTP, gotHTTP); diff != "" {
				t.Errorf("http listener (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadBalancerRoutesEachHostToItsService(t *testing.T) {
	rr := runRuntime(t, "dev", func(v map[string]string) { setJSON(t, v, KeyDomain, "mcpHost", "tools.dev.experts.example.com") })
	for svc, host := range map[string]string{"api": "api.dev.experts.example.com", "mcp": "tools.dev.experts.example.com"} {
		rule := rr.one(t, typeListenerRule, "runtime-alb-"+svc+"-host")
		got := map[string]any{"conditions": rule.Inputs["conditions"], "actions": rule.Inputs["actions"]}
		want := map[string]any{
			"conditions": []any{map[string]any{"hostHeader": map[string]any{"values": []any{host}}}},
			"actions":    []any{map[string]any{"type": "forward", "targetGroupArn": rr.output(t, svc+"TargetGroupArn")}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s rule (-want +got):\n%s", svc, diff)
		}
		if got := rr.output(t, svc+"Url"); got != "https://"+host {
			t.Errorf("%sUrl = %v, want https://%s", svc, got, host)
		}
	}
	api := rr.one(t, typeListenerRule, "runtime-alb-api-host").Inputs["priority"]
	mcp := rr.one(t, typeListenerRule, "runtime-alb-mcp-host").Inputs["priority"]
	if api == mcp {
		t.Errorf("both rules have priority %v", api)
	}
}

func TestLoadBalancerTargetGroupsCheckHealthAndDrainQuickly(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(t *testing.T, v map[string]string)
		drain  float64
	}{
		{name: "configured draining", drain: 30},
		{
			name: "default draining when unset",
			mutate: func(t *testing.T, v map[string]string) {
				setJSON(t, v, KeyServices, "api.deregistrationDelaySeconds", nil)
			},
			drain: DefaultDeregistrationDelaySeconds,
		},
		{
			name: "shorter draining",
			mutate: func(t *testing.T, v map[string]string) {
				setJSON(t, v, KeyServices, "api.deregistrationDelaySeconds", 5)
			},
			drain: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := runRuntime(t, "prod", func(v map[string]string) {
				if tt.mutate != nil {
					tt.mutate(t, v)
				}
			})
			tg := rr.one(t, typeTargetGroup, "runtime-alb-api")
			got := map[string]any{}
			for _, k := range []string{"name", "targetType", "protocol", "port", "deregistrationDelay", "healthCheck"} {
				got[k] = tg.Inputs[k]
			}
			want := map[string]any{
				"name": "experts-prod-api-8000", "targetType": "ip", "protocol": "HTTP", "port": 8000.0,
				"deregistrationDelay": tt.drain,
				"healthCheck": map[string]any{
					"enabled": true, "protocol": "HTTP", "port": "traffic-port", "path": "/healthz", "matcher": "200",
					"interval": 10.0, "timeout": 5.0, "healthyThreshold": 2.0, "unhealthyThreshold": 3.0,
				},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("target group (-want +got):\n%s", diff)
			}
		})
	}
}
