package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// repo is one ECR repository.
type repo struct {
	name, account string
	created       time.Time
	images        map[string]*image // by digest
}

type image struct {
	digest, manifest, mediaType string
	tags                        []string
	pushed                      time.Time
}

func (s *Simulator) repoKey(account, name string) string {
	return account + "/" + s.region + "/" + name
}

func (s *Simulator) ecr(op, account string, in obj) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := in.str("repositoryName")
	if reg := in.str("registryId"); reg != "" {
		account = reg
	}
	key := s.repoKey(account, name)
	switch op {
	case "CreateRepository":
		if s.repos[key] != nil {
			return nil, errorf("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the registry with id '%s'", name, account)
		}
		r := &repo{name: name, account: account, created: s.tick(), images: map[string]*image{}}
		s.repos[key] = r
		return obj{"repository": s.repoJSON(r)}, nil
	case "DeleteRepository":
		r := s.repos[key]
		if r == nil {
			return nil, errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", name, account)
		}
		if len(r.images) > 0 && !in.boolean("force") {
			return nil, errorf("RepositoryNotEmptyException", "The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", name, account)
		}
		delete(s.repos, key)
		return obj{"repository": s.repoJSON(r)}, nil
	case "DescribeRepositories":
		var out []any
		for _, k := range sortedKeys(s.repos) {
			r := s.repos[k]
			if r.account == account && (len(in.strs("repositoryNames")) == 0 || contains(in.strs("repositoryNames"), r.name)) {
				out = append(out, s.repoJSON(r))
			}
		}
		return obj{"repositories": orEmpty(out)}, nil
	case "PutImage":
		r := s.repos[key]
		if r == nil {
			return nil, errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", name, account)
		}
		manifest := in.str("imageManifest")
		sum := sha256.Sum256([]byte(manifest))
		digest := "sha256:" + hex.EncodeToString(sum[:])
		if d := in.str("imageDigest"); d != "" && d != digest {
			return nil, errorf("InvalidParameterException", "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'digest does not match manifest'")
		}
		tag := in.str("imageTag")
		img := r.images[digest]
		if img == nil {
			img = &image{digest: digest, manifest: manifest, mediaType: in.str("imageManifestMediaType"), pushed: s.tick()}
			r.images[digest] = img
		}
		if tag != "" {
			for _, other := range r.images {
				other.tags = remove(other.tags, tag)
			}
			img.tags = append(img.tags, tag)
			sort.Strings(img.tags)
		}
		return obj{"image": obj{"registryId": account, "repositoryName": name, "imageManifest": manifest,
			"imageId": obj{"imageDigest": digest, "imageTag": tag}}}, nil
	case "BatchGetImage", "DescribeImages", "BatchDeleteImage":
		r := s.repos[key]
		if r == nil {
			return nil, errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", name, account)
		}
		ids := in.objs("imageIds")
		var found []*image
		var failures []any
		if len(ids) == 0 && op == "DescribeImages" {
			for _, d := range sortedKeys(r.images) {
				found = append(found, r.images[d])
			}
		}
		for _, id := range ids {
			img := r.find(id.str("imageDigest"), id.str("imageTag"))
			if img == nil {
				if op == "DescribeImages" {
					return nil, errorf("ImageNotFoundException", "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
						id.str("imageDigest"), id.str("imageTag"), name, account)
				}
				failures = append(failures, obj{"imageId": id, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"})
				continue
			}
			found = append(found, img)
		}
		var out []any
		for _, img := range found {
			switch op {
			case "DescribeImages":
				out = append(out, obj{"registryId": account, "repositoryName": name, "imageDigest": img.digest,
					"imageTags": stringsAny(img.tags), "imagePushedAt": epoch(img.pushed), "imageManifestMediaType": img.mediaType,
					"imageSizeInBytes": len(img.manifest)})
			case "BatchGetImage":
				out = append(out, obj{"registryId": account, "repositoryName": name, "imageManifest": img.manifest,
					"imageManifestMediaType": img.mediaType, "imageId": obj{"imageDigest": img.digest}})
			case "BatchDeleteImage":
				delete(r.images, img.digest)
				out = append(out, obj{"imageDigest": img.digest})
			}
		}
		switch op {
		case "DescribeImages":
			return obj{"imageDetails": orEmpty(out)}, nil
		case "BatchGetImage":
			return obj{"images": orEmpty(out), "failures": orEmpty(failures)}, nil
		default:
			return obj{"imageIds": orEmpty(out), "failures": orEmpty(failures)}, nil
		}
	}
	return nil, errorf("UnknownOperationException", "the aws simulator does not serve ECR %s", op)
}

// Images are the digests in an ECR repository of account, sorted.
func (s *Simulator) Images(account, repository string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[s.repoKey(account, repository)]
	if r == nil {
		return nil
	}
	return sortedKeys(r.images)
}

// DeleteImages empties an ECR repository of account, as an operator does
// before deleting a repository that keeps its images.
func (s *Simulator) DeleteImages(account, repository string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[s.repoKey(account, repository)]; r != nil {
		r.images = map[string]*image{}
	}
}

// Repositories are the names of the ECR repositories of account, sorted.
func (s *Simulator) Repositories(account string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, k := range sortedKeys(s.repos) {
		if r := s.repos[k]; r.account == account {
			out = append(out, r.name)
		}
	}
	return out
}

func (r *repo) find(digest, tag string) *image {
	if digest != "" {
		img := r.images[digest]
		if img != nil && (tag == "" || contains(img.tags, tag)) {
			return img
		}
		return nil
	}
	for _, img := range r.images {
		if contains(img.tags, tag) {
			return img
		}
	}
	return nil
}

func (s *Simulator) repoJSON(r *repo) obj {
	return obj{"repositoryName": r.name, "registryId": r.account,
		"repositoryArn": fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.region, r.account, r.name),
		"repositoryUri": fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", r.account, s.region, r.name),
		"createdAt":     epoch(r.created)}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func remove(list []string, v string) []string {
	var out []string
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func stringsAny(list []string) []any {
	out := make([]any, 0, len(list))
	for _, v := range list {
		out = append(out, v)
	}
	return out
}

type logEvent struct {
	at      time.Time
	message string
}

// putLog appends a line to a log stream; callers hold s.mu.
func (s *Simulator) putLog(group, stream, message string) {
	if s.logs[group] == nil {
		s.logs[group] = map[string][]logEvent{}
	}
	s.logs[group][stream] = append(s.logs[group][stream], logEvent{at: s.tick(), message: message})
}

func (s *Simulator) cwlogs(op, _ string, in obj) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	group := in.str("logGroupName")
	switch op {
	case "GetLogEvents":
		events, ok := s.logs[group][in.str("logStreamName")]
		if !ok {
			return nil, errorf("ResourceNotFoundException", "The specified log stream does not exist.")
		}
		limit, _ := in.num("limit")
		if limit <= 0 || limit > 10000 {
			limit = 10000
		}
		start := 0
		if tok := in.str("nextToken"); tok != "" {
			_, _ = fmt.Sscanf(tok, "f/%d", &start)
		}
		end := min(start+limit, len(events))
		var out []any
		for _, e := range events[start:end] {
			ms := e.at.UnixMilli()
			out = append(out, obj{"timestamp": ms, "message": e.message, "ingestionTime": ms})
		}
		return obj{"events": orEmpty(out), "nextForwardToken": fmt.Sprintf("f/%d", end), "nextBackwardToken": fmt.Sprintf("b/%d", start)}, nil
	case "FilterLogEvents":
		streams := s.logs[group]
		if streams == nil {
			return nil, errorf("ResourceNotFoundException", "The specified log group does not exist.")
		}
		var out []any
		for _, name := range sortedKeys(streams) {
			if names := in.strs("logStreamNames"); len(names) > 0 && !contains(names, name) {
				continue
			}
			if p := in.str("logStreamNamePrefix"); p != "" && !strings.HasPrefix(name, p) {
				continue
			}
			for _, e := range streams[name] {
				if pat := in.str("filterPattern"); pat != "" && !strings.Contains(e.message, strings.Trim(pat, `"`)) {
					continue
				}
				ms := e.at.UnixMilli()
				out = append(out, obj{"logStreamName": name, "timestamp": ms, "message": e.message, "ingestionTime": ms})
			}
		}
		return obj{"events": orEmpty(out), "searchedLogStreams": []any{}}, nil
	}
	return nil, errorf("UnknownOperationException", "the aws simulator does not serve CloudWatch Logs %s", op)
}

// serveQuery answers the awsQuery protocol: STS and ELBv2.
func (s *Simulator) serveQuery(w http.ResponseWriter, _ string, account string, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeQueryError(w, http.StatusBadRequest, "MalformedInput", err.Error())
		return
	}
	action := form.Get("Action")
	var result any
	switch action {
	case "GetCallerIdentity":
		result = struct {
			XMLName xml.Name `xml:"GetCallerIdentityResult"`
			Arn     string   `xml:"Arn"`
			UserID  string   `xml:"UserId"`
			Account string   `xml:"Account"`
		}{Arn: fmt.Sprintf("arn:aws:sts::%s:assumed-role/rehearsal/simulated", account), UserID: "AROASIMULATED:simulated", Account: account}
	case "DescribeTargetHealth":
		result, err = s.describeTargetHealth(form.Get("TargetGroupArn"))
	default:
		writeQueryError(w, http.StatusBadRequest, "InvalidAction", "the aws simulator does not serve "+action)
		return
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{Code: "InternalFailure", Message: err.Error()}
		}
		writeQueryError(w, http.StatusBadRequest, ae.Code, ae.Message)
		return
	}
	ns := "https://sts.amazonaws.com/doc/2011-06-15/"
	if action == "DescribeTargetHealth" {
		ns = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
	}
	w.Header().Set("Content-Type", "text/xml")
	type response struct {
		XMLName  xml.Name
		NS       string `xml:"xmlns,attr"`
		Result   any
		Metadata struct {
			RequestID string `xml:"RequestId"`
		} `xml:"ResponseMetadata"`
	}
	resp := response{XMLName: xml.Name{Local: action + "Response"}, NS: ns, Result: result}
	resp.Metadata.RequestID = "simulated-request"
	_ = xml.NewEncoder(w).Encode(resp)
}

type xmlTargetHealth struct {
	XMLName xml.Name          `xml:"DescribeTargetHealthResult"`
	Targets []xmlTargetStatus `xml:"TargetHealthDescriptions>member"`
}

type xmlTargetStatus struct {
	Target struct {
		ID   string `xml:"Id"`
		Port int    `xml:"Port"`
	} `xml:"Target"`
	HealthCheckPort string `xml:"HealthCheckPort"`
	TargetHealth    struct {
		State       string `xml:"State"`
		Reason      string `xml:"Reason,omitempty"`
		Description string `xml:"Description,omitempty"`
	} `xml:"TargetHealth"`
}

func (s *Simulator) describeTargetHealth(tg string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out xmlTargetHealth
	found := false
	for _, arn := range sortedKeys(s.services) {
		svc := s.services[arn]
		if svc.status != "ACTIVE" || s.targetGroup(svc) != tg {
			continue
		}
		found = true
		port := 0
		for _, lb := range svc.loadBalancers {
			if m, ok := lb.(map[string]any); ok {
				if p, ok := m["containerPort"].(float64); ok {
					port = int(p)
				}
			}
		}
		for _, tarn := range sortedKeys(s.tasks) {
			t := s.tasks[tarn]
			if t.group != "service:"+svc.name || t.lastStatus != "RUNNING" {
				continue
			}
			var th xmlTargetStatus
			th.Target.ID = fmt.Sprintf("10.0.%d.%d", len(out.Targets)/250, 10+len(out.Targets)%250)
			th.Target.Port = port
			th.HealthCheckPort = fmt.Sprint(port)
			th.TargetHealth.State = "healthy"
			if s.unhealthy(svc, s.taskDefs[t.taskDef]) {
				th.TargetHealth.State = "unhealthy"
				th.TargetHealth.Reason = "Target.ResponseCodeMismatch"
				th.TargetHealth.Description = "Health checks failed with these codes: [503]"
			}
			out.Targets = append(out.Targets, th)
		}
	}
	if !found && !strings.Contains(tg, ":targetgroup/") {
		return nil, errorf("TargetGroupNotFound", "One or more target groups not found")
	}
	return out, nil
}

// unhealthy reports whether the scenario makes the service's containers
// of td answer /healthz 503; callers hold s.mu.
func (s *Simulator) unhealthy(svc *service, td *taskDef) bool {
	f, ok := s.scenario.Services[svc.name]
	if !ok || f.Fault != FaultUnhealthy || td == nil {
		return false
	}
	return f.Version == "" || td.env("VERSION") == f.Version
}

func writeQueryError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	type xmlError struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Error   struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
		RequestID string `xml:"RequestId"`
	}
	var e xmlError
	e.Error.Type, e.Error.Code, e.Error.Message, e.RequestID = "Sender", code, message, "simulated-request"
	_ = xml.NewEncoder(w).Encode(e)
}
