package infra

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/experts/platform/infra/policy"
)

// Type tokens the site rules look at.
const (
	typeBucketV2                = "aws:s3/bucketV2:BucketV2"
	typeBucketPublicAccessBlock = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	typeBucketPolicy            = "aws:s3/bucketPolicy:BucketPolicy"
	typeDistribution            = "aws:cloudfront/distribution:Distribution"
	typeOriginAccessControl     = "aws:cloudfront/originAccessControl:OriginAccessControl"
)

// publicAccessBlockFlags are the four settings of a public access block,
// all of which must be on.
var publicAccessBlockFlags = []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"}

// siteRules are the mandatory rules of this component.
var siteRules = []policy.Rule{
	{
		Name: "buckets-private",
		Description: "Every bucket has its public access block fully on, and no bucket policy lets everyone " +
			"(or any CloudFront distribution) read without naming the one source allowed in aws:SourceArn.",
		Enforcement: policy.Mandatory,
		CheckStack:  checkBucketsPrivate,
	},
	{
		Name:        "cloudfront-s3-origins-use-oac",
		Description: "Every S3 origin of a distribution reads through an Origin Access Control that signs every request with SigV4.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeDistribution, typeOriginAccessControl},
		Check:       checkOriginAccessControl,
	},
	{
		Name:        "cloudfront-viewers-use-https",
		Description: "No cache behavior of a distribution, default or ordered, lets viewers use plain HTTP.",
		Enforcement: policy.Mandatory,
		Types:       []string{typeDistribution},
		Check:       checkViewerProtocol,
	},
}

func checkBucketsPrivate(s *policy.Stack) []policy.Violation {
	var out []policy.Violation
	blocked := map[string]bool{}
	for _, r := range s.OfType(typeBucketPublicAccessBlock) {
		in := policy.InputsOf(r)
		blocked[in.String("bucket")] = true
		for _, flag := range publicAccessBlockFlags {
			if !in.Bool(flag) {
				out = append(out, policy.Violation{URN: r.URN,
					Message: fmt.Sprintf("public access block leaves %s off; turn all four settings on", flag)})
			}
		}
	}
	for _, r := range s.OfType(typeBucketV2) {
		in := policy.InputsOf(r)
		name := in.String("bucket")
		if name == "" {
			name = r.Name
		}
		if !blocked[name] {
			out = append(out, policy.Violation{URN: r.URN,
				Message: fmt.Sprintf("bucket %s has no public access block; declare one with all four settings on", name)})
		}
		if acl := in.String("acl"); strings.HasPrefix(acl, "public-") || acl == "authenticated-read" {
			out = append(out, policy.Violation{URN: r.URN, Message: fmt.Sprintf("bucket %s has the %s ACL", name, acl)})
		}
		if text := in.String("policy"); text != "" {
			for _, msg := range publicStatements(text) {
				out = append(out, policy.Violation{URN: r.URN, Message: msg})
			}
		}
	}
	for _, r := range s.OfType(typeBucketPolicy) {
		for _, msg := range publicStatements(policy.InputsOf(r).String("policy")) {
			out = append(out, policy.Violation{URN: r.URN, Message: msg})
		}
	}
	return out
}

// rawStatement is a policy statement as written, whatever the shape of its
// principal ("*", {"AWS": "*"}, {"Service": [...]}) and condition values.
type rawStatement struct {
	Sid          string                                `json:"Sid"`
	Effect       string                                `json:"Effect"`
	Principal    json.RawMessage                       `json:"Principal"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
}

// publicStatements returns a problem for every Allow statement of a bucket
// policy that lets everyone, or a service acting for anyone, in without an
// exact aws:SourceArn condition.
func publicStatements(text string) []string {
	if text == "" || text == policy.UnknownMarker || text == policy.SecretMarker {
		return []string{"bucket policy is not known before deployment, so it cannot be checked; build it from known ARNs"}
	}
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return []string{fmt.Sprintf("bucket policy is not a JSON policy document: %v", err)}
	}
	var statements []rawStatement
	if err := json.Unmarshal(doc.Statement, &statements); err != nil {
		var one rawStatement
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return []string{fmt.Sprintf("bucket policy statements cannot be read: %v", err)}
		}
		statements = []rawStatement{one}
	}
	var out []string
	for i, st := range statements {
		if st.Effect != "Allow" {
			continue
		}
		label := fmt.Sprintf("statement %d", i)
		if st.Sid != "" {
			label = fmt.Sprintf("statement %q", st.Sid)
		}
		if len(st.NotPrincipal) > 0 {
			out = append(out, label+" allows everyone but the NotPrincipal; name the principal instead")
			continue
		}
		who := openPrincipal(st.Principal)
		if who == "" {
			continue
		}
		if !hasExactSourceArn(st.Condition) {
			out = append(out, fmt.Sprintf("%s allows %s without an exact aws:SourceArn condition; limit it to the one distribution", label, who))
		}
	}
	return out
}

// openPrincipal describes a principal that is not one named account or
// role: "everyone" for "*", the service for a service principal (which
// acts for any customer unless the source is named); "" otherwise.
func openPrincipal(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var all string
	if json.Unmarshal(raw, &all) == nil {
		if all == "*" {
			return "everyone"
		}
		return ""
	}
	var byKind map[string]StringOrList
	if err := json.Unmarshal(raw, &byKind); err != nil {
		return "an unreadable principal"
	}
	for _, kind := range []string{"AWS", "CanonicalUser", "Federated"} {
		if slices.Contains(byKind[kind], "*") {
			return "everyone"
		}
	}
	if services := byKind["Service"]; len(services) > 0 {
		return strings.Join(services, ", ")
	}
	return ""
}

// sourceMatchOperators are the condition operators that require the key to
// match a value.
var sourceMatchOperators = []string{"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}

// hasExactSourceArn reports whether a condition names the request's source
// with aws:SourceArn (the key is case-insensitive) and no wildcard.
func hasExactSourceArn(cond map[string]map[string]json.RawMessage) bool {
	for op, keys := range cond {
		if !slices.Contains(sourceMatchOperators, op) {
			continue // negated, IfExists, Null and set operators do not name a source
		}
		for key, raw := range keys {
			if !strings.EqualFold(key, "aws:SourceArn") {
				continue
			}
			var values StringOrList
			if json.Unmarshal(raw, &values) != nil || len(values) == 0 {
				continue
			}
			exact := true
			for _, v := range values {
				if v == "" || strings.ContainsAny(v, "*?") || v == policy.UnknownMarker {
					exact = false
				}
			}
			if exact {
				return true
			}
		}
	}
	return false
}

func checkOriginAccessControl(_ *policy.Stack, r policy.Resource) []string {
	in := policy.InputsOf(r)
	if r.Type == typeOriginAccessControl {
		if in.String("originAccessControlOriginType") != "s3" {
			return nil
		}
		var out []string
		if b := in.String("signingBehavior"); b != "always" {
			out = append(out, fmt.Sprintf("origin access control signs %q; set signingBehavior always", b))
		}
		if p := in.String("signingProtocol"); p != "sigv4" {
			out = append(out, fmt.Sprintf("origin access control signs with %q; set signingProtocol sigv4", p))
		}
		return out
	}
	var out []string
	for i, origin := range in.Objects("origins") {
		id := origin.String("originId")
		if id == "" {
			id = fmt.Sprintf("#%d", i)
		}
		if !isS3Origin(origin) {
			continue
		}
		if origin.String("originAccessControlId") == "" {
			out = append(out, fmt.Sprintf("S3 origin %s has no origin access control; set originAccessControlId (and keep the bucket private)", id))
		}
	}
	return out
}

// isS3Origin reports whether an origin is an S3 bucket read through the S3
// API: CloudFront treats every origin without a custom origin config so,
// and an S3 REST endpoint is one whatever the config says.
func isS3Origin(origin policy.Inputs) bool {
	if !origin.Object("customOriginConfig").Set() && !origin.Object("vpcOriginConfig").Set() {
		return true
	}
	domain := origin.String("domainName")
	return strings.HasSuffix(domain, ".amazonaws.com") && strings.Contains(domain, ".s3.") && !strings.Contains(domain, "s3-website")
}

func checkViewerProtocol(_ *policy.Stack, r policy.Resource) []string {
	var out []string
	check := func(where string, behavior policy.Inputs) {
		switch p := behavior.String("viewerProtocolPolicy"); p {
		case "redirect-to-https", "https-only", policy.UnknownMarker:
		default:
			out = append(out, fmt.Sprintf("%s lets viewers use %q; set viewerProtocolPolicy redirect-to-https", where, p))
		}
	}
	in := policy.InputsOf(r)
	check("the default cache behavior", in.Object("defaultCacheBehavior"))
	for i, behavior := range in.Objects("orderedCacheBehaviors") {
		where := fmt.Sprintf("ordered cache behavior #%d", i)
		if p := behavior.String("pathPattern"); p != "" {
			where = fmt.Sprintf("ordered cache behavior %s", p)
		}
		check(where, behavior)
	}
	return out
}
