package awssim

import (
	"fmt"
	"strings"
	"time"

	"github.com/experts/platform/infra/mockaws"
)

type cluster struct {
	arn, name, account, status string
}

type taskDef struct {
	arn, family, account, status string
	revision                     int
	def                          obj // the registration, as sent
	registeredAt                 time.Time
}

// env is the environment of the task definition's first container.
func (td *taskDef) env(name string) string {
	for _, c := range td.def.objs("containerDefinitions") {
		for _, kv := range c.objs("environment") {
			if kv.str("name") == name {
				return kv.str("value")
			}
		}
	}
	return ""
}

func (td *taskDef) containers() []string {
	var out []string
	for _, c := range td.def.objs("containerDefinitions") {
		out = append(out, c.str("name"))
	}
	return out
}

type service struct {
	arn, name, clusterArn, account, status string
	desired, maxPercent, minHealthy        int
	taskDef, launchType                    string
	circuitBreaker, rollback               bool
	loadBalancers                          []any
	network                                obj
	deployments                            []*deployment
	events                                 []event
	lastGood                               string // task definition of the last COMPLETED deployment
	created                                time.Time
}

type deployment struct {
	id, status, taskDef, rollout, reason, fault string
	desired, running, pending, failed, ticks    int
	created, updated                            time.Time
}

type event struct {
	id, message string
	at          time.Time
}

type task struct {
	arn, id, clusterArn, taskDef, group, startedBy, account string
	lastStatus, desiredStatus, stopCode, stoppedReason      string
	exitCode                                                *int
	containerReason                                         string
	ticks                                                   int
	outcome                                                 TaskOutcome
	oneOff                                                  bool
	created, started, stopped                               time.Time
}

func (s *Simulator) ecs(op, account string, in obj) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "CreateCluster":
		name := in.str("clusterName")
		if name == "" {
			name = "default"
		}
		arn := mockaws.ClusterARN(s.region, account, name)
		c := s.clusters[arn]
		if c == nil || c.status != "ACTIVE" {
			c = &cluster{arn: arn, name: name, account: account, status: "ACTIVE"}
			s.clusters[arn] = c
		}
		return obj{"cluster": s.clusterJSON(c)}, nil
	case "DeleteCluster":
		c, err := s.cluster(account, in.str("cluster"))
		if err != nil {
			return nil, err
		}
		for _, svc := range s.services {
			if svc.clusterArn == c.arn && svc.status == "ACTIVE" {
				return nil, errorf("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
			}
		}
		c.status = "INACTIVE"
		return obj{"cluster": s.clusterJSON(c)}, nil
	case "DescribeClusters":
		var out, failures []any
		for _, name := range in.strs("clusters") {
			c, err := s.cluster(account, name)
			if err != nil {
				failures = append(failures, obj{"arn": name, "reason": "MISSING"})
				continue
			}
			out = append(out, s.clusterJSON(c))
		}
		return obj{"clusters": orEmpty(out), "failures": orEmpty(failures)}, nil
	case "RegisterTaskDefinition":
		return s.registerTaskDefinition(account, in)
	case "DescribeTaskDefinition":
		td, err := s.taskDefinition(account, in.str("taskDefinition"))
		if err != nil {
			return nil, err
		}
		return obj{"taskDefinition": s.taskDefJSON(td), "tags": []any{}}, nil
	case "DeregisterTaskDefinition":
		td, err := s.taskDefinition(account, in.str("taskDefinition"))
		if err != nil {
			return nil, err
		}
		td.status = "INACTIVE"
		return obj{"taskDefinition": s.taskDefJSON(td)}, nil
	case "CreateService":
		return s.createService(account, in)
	case "UpdateService":
		return s.updateService(account, in)
	case "DeleteService":
		svc, err := s.service(account, in.str("cluster"), in.str("service"))
		if err != nil {
			return nil, err
		}
		if svc.desired > 0 && !in.boolean("force") {
			return nil, errorf("InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
		}
		svc.status = "INACTIVE"
		for _, d := range svc.deployments {
			s.stopDeploymentTasks(d, "Service deleted")
		}
		if a := s.apps[svc.arn]; a != nil {
			delete(s.apps, svc.arn)
			go a.close()
		}
		return obj{"service": s.serviceJSON(svc)}, nil
	case "DescribeServices":
		var out, failures []any
		for _, name := range in.strs("services") {
			svc, err := s.service(account, in.str("cluster"), name)
			if err != nil {
				failures = append(failures, obj{"arn": name, "reason": "MISSING"})
				continue
			}
			s.advanceService(svc)
			out = append(out, s.serviceJSON(svc))
		}
		return obj{"services": orEmpty(out), "failures": orEmpty(failures)}, nil
	case "RunTask":
		return s.runTask(account, in)
	case "DescribeTasks":
		var out, failures []any
		for _, ref := range in.strs("tasks") {
			t := s.task(account, in.str("cluster"), ref)
			if t == nil {
				failures = append(failures, obj{"arn": ref, "reason": "MISSING"})
				continue
			}
			s.advanceTask(t)
			out = append(out, s.taskJSON(t))
		}
		return obj{"tasks": orEmpty(out), "failures": orEmpty(failures)}, nil
	case "StopTask":
		t := s.task(account, in.str("cluster"), in.str("task"))
		if t == nil {
			return nil, errorf("InvalidParameterException", "The referenced task was not found.")
		}
		t.desiredStatus = "STOPPED"
		if !t.outcome.NeverStops && t.lastStatus != "STOPPED" {
			s.stopTask(t, "UserInitiated", orDefault(in.str("reason"), "Task stopped by user"), nil)
		}
		return obj{"task": s.taskJSON(t)}, nil
	case "ListTasks":
		c, err := s.cluster(account, in.str("cluster"))
		if err != nil {
			return nil, err
		}
		var arns []any
		for _, arn := range sortedKeys(s.tasks) {
			t := s.tasks[arn]
			if t.clusterArn != c.arn {
				continue
			}
			if f := in.str("family"); f != "" && s.taskDefs[t.taskDef] != nil && s.taskDefs[t.taskDef].family != f {
				continue
			}
			if n := in.str("serviceName"); n != "" && t.group != "service:"+n {
				continue
			}
			if b := in.str("startedBy"); b != "" && t.startedBy != b {
				continue
			}
			want := orDefault(in.str("desiredStatus"), "RUNNING")
			if t.desiredStatus != want {
				continue
			}
			arns = append(arns, arn)
		}
		return obj{"taskArns": orEmpty(arns)}, nil
	case "TagResource", "UntagResource":
		return obj{}, nil
	}
	return nil, errorf("UnknownOperationException", "the aws simulator does not serve ECS %s", op)
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// cluster finds an active cluster by name or ARN.
func (s *Simulator) cluster(account, ref string) (*cluster, error) {
	if ref == "" {
		ref = "default"
	}
	arn := ref
	if !strings.HasPrefix(ref, "arn:") {
		arn = mockaws.ClusterARN(s.region, account, ref)
	}
	c := s.clusters[arn]
	if c == nil || c.status != "ACTIVE" || c.account != account {
		return nil, errorf("ClusterNotFoundException", "Cluster not found.")
	}
	return c, nil
}

func (s *Simulator) clusterJSON(c *cluster) obj {
	running, active := 0, 0
	for _, svc := range s.services {
		if svc.clusterArn == c.arn && svc.status == "ACTIVE" {
			active++
		}
	}
	for _, t := range s.tasks {
		if t.clusterArn == c.arn && t.lastStatus == "RUNNING" {
			running++
		}
	}
	return obj{"clusterArn": c.arn, "clusterName": c.name, "status": c.status,
		"activeServicesCount": active, "runningTasksCount": running}
}

func (s *Simulator) registerTaskDefinition(account string, in obj) (any, error) {
	family := in.str("family")
	if family == "" {
		return nil, errorf("ClientException", "Family is required.")
	}
	if len(in.objs("containerDefinitions")) == 0 {
		return nil, errorf("ClientException", "Container list cannot be empty.")
	}
	for _, c := range in.objs("containerDefinitions") {
		if c.str("name") == "" || c.str("image") == "" {
			return nil, errorf("ClientException", "Container.name and Container.image should not be null or empty.")
		}
	}
	key := account + "/" + s.region + "/" + family
	s.families[key]++
	rev := s.families[key]
	def := obj{}
	for k, v := range in {
		if k != "tags" {
			def[k] = v
		}
	}
	td := &taskDef{
		arn: mockaws.TaskDefinitionARN(s.region, account, family, rev), family: family, account: account,
		status: "ACTIVE", revision: rev, def: def, registeredAt: s.tick(),
	}
	s.taskDefs[td.arn] = td
	return obj{"taskDefinition": s.taskDefJSON(td), "tags": in["tags"]}, nil
}

// taskDefinition finds a task definition by ARN, family:revision or
// family (its latest ACTIVE revision).
func (s *Simulator) taskDefinition(account, ref string) (*taskDef, error) {
	if ref == "" {
		return nil, errorf("ClientException", "taskDefinition is required.")
	}
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		if td := s.taskDefs[ref]; td != nil && td.account == account {
			return td, nil
		}
		name = ref[strings.LastIndex(ref, "/")+1:]
	}
	family, rev, hasRev := strings.Cut(name, ":")
	if hasRev {
		if td := s.taskDefs[mockaws.TaskDefinitionARN(s.region, account, family, atoi(rev))]; td != nil {
			return td, nil
		}
	} else {
		for r := s.families[account+"/"+s.region+"/"+family]; r > 0; r-- {
			if td := s.taskDefs[mockaws.TaskDefinitionARN(s.region, account, family, r)]; td != nil && td.status == "ACTIVE" {
				return td, nil
			}
		}
	}
	return nil, errorf("ClientException", "Unable to describe task definition.")
}

func atoi(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func (s *Simulator) taskDefJSON(td *taskDef) obj {
	out := obj{}
	for k, v := range td.def {
		out[k] = v
	}
	out["taskDefinitionArn"] = td.arn
	out["revision"] = td.revision
	out["status"] = td.status
	out["registeredAt"] = epoch(td.registeredAt)
	out["compatibilities"] = []any{"EC2", "FARGATE"}
	return out
}

func (s *Simulator) createService(account string, in obj) (any, error) {
	c, err := s.cluster(account, in.str("cluster"))
	if err != nil {
		return nil, err
	}
	name := in.str("serviceName")
	if name == "" {
		return nil, errorf("InvalidParameterException", "serviceName is required.")
	}
	arn := mockaws.ServiceARN(s.region, account, c.arn, name)
	if old := s.services[arn]; old != nil && old.status != "INACTIVE" {
		return nil, errorf("InvalidParameterException", "Creation of service was not idempotent.")
	}
	td, err := s.taskDefinition(account, in.str("taskDefinition"))
	if err != nil {
		return nil, err
	}
	svc := &service{arn: arn, name: name, clusterArn: c.arn, account: account, status: "ACTIVE",
		launchType: in.str("launchType"), created: s.tick(), loadBalancers: asList(in["loadBalancers"]), network: in.obj("networkConfiguration")}
	s.configureService(svc, in)
	if _, ok := in.num("desiredCount"); !ok {
		svc.desired = 0
	}
	svc.taskDef = td.arn
	s.services[arn] = svc
	s.startDeployment(svc, td.arn, true)
	s.event(svc, fmt.Sprintf("(service %s) has started a deployment.", svc.name))
	if err := s.startApp(svc); err != nil {
		return nil, err
	}
	return obj{"service": s.serviceJSON(svc)}, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// configureService applies the settings CreateService and UpdateService
// share.
func (s *Simulator) configureService(svc *service, in obj) {
	if n, ok := in.num("desiredCount"); ok {
		svc.desired = n
	}
	if dc := in.obj("deploymentConfiguration"); dc != nil {
		if n, ok := dc.num("maximumPercent"); ok {
			svc.maxPercent = n
		}
		if n, ok := dc.num("minimumHealthyPercent"); ok {
			svc.minHealthy = n
		}
		if cb := dc.obj("deploymentCircuitBreaker"); cb != nil {
			svc.circuitBreaker, svc.rollback = cb.boolean("enable"), cb.boolean("rollback")
		}
	}
	if lb, ok := in["loadBalancers"].([]any); ok {
		svc.loadBalancers = lb
	}
	if nc := in.obj("networkConfiguration"); nc != nil {
		svc.network = nc
	}
}

func (s *Simulator) updateService(account string, in obj) (any, error) {
	svc, err := s.service(account, in.str("cluster"), in.str("service"))
	if err != nil {
		return nil, err
	}
	s.configureService(svc, in)
	newDeployment := in.boolean("forceNewDeployment")
	if ref := in.str("taskDefinition"); ref != "" {
		td, err := s.taskDefinition(account, ref)
		if err != nil {
			return nil, err
		}
		if td.arn != svc.taskDef {
			svc.taskDef = td.arn
			newDeployment = true
		}
	}
	if newDeployment {
		s.startDeployment(svc, svc.taskDef, false)
		s.event(svc, fmt.Sprintf("(service %s) has started a deployment.", svc.name))
	} else if p := svc.primary(); p != nil {
		p.desired = svc.desired
	}
	return obj{"service": s.serviceJSON(svc)}, nil
}

// service finds an active or draining service by name or ARN.
func (s *Simulator) service(account, clusterRef, ref string) (*service, error) {
	c, err := s.cluster(account, clusterRef)
	if err != nil {
		return nil, err
	}
	arn := ref
	if !strings.HasPrefix(ref, "arn:") {
		arn = mockaws.ServiceARN(s.region, account, c.arn, ref)
	}
	svc := s.services[arn]
	if svc == nil || svc.status == "INACTIVE" {
		return nil, errorf("ServiceNotFoundException", "Service not found.")
	}
	return svc, nil
}

func (svc *service) primary() *deployment {
	for _, d := range svc.deployments {
		if d.status == "PRIMARY" {
			return d
		}
	}
	return nil
}

// startDeployment makes a new PRIMARY deployment of taskDef.
func (s *Simulator) startDeployment(svc *service, taskDef string, first bool) *deployment {
	now := s.tick()
	for _, d := range svc.deployments {
		if d.status == "PRIMARY" {
			d.status = "ACTIVE"
		}
	}
	d := &deployment{id: "ecs-svc/" + s.id(19), status: "PRIMARY", taskDef: taskDef, rollout: "IN_PROGRESS",
		reason: "ECS deployment " + "in progress.", desired: svc.desired, created: now, updated: now}
	if f, ok := s.scenario.Services[svc.name]; ok {
		if td := s.taskDefs[taskDef]; f.Version == "" || (td != nil && td.env("VERSION") == f.Version) {
			d.fault = f.Fault
		}
	}
	_ = first
	svc.deployments = append([]*deployment{d}, svc.deployments...)
	return d
}

func (s *Simulator) event(svc *service, msg string) {
	svc.events = append([]event{{id: s.id(8) + "-" + s.id(4) + "-" + s.id(4) + "-" + s.id(4) + "-" + s.id(12), message: msg, at: s.now}}, svc.events...)
	if len(svc.events) > 100 {
		svc.events = svc.events[:100]
	}
}

// advanceService moves the service's deployments one step on.
func (s *Simulator) advanceService(svc *service) {
	if svc.status != "ACTIVE" {
		return
	}
	now := s.tick()
	d := svc.primary()
	if d == nil || d.rollout != "IN_PROGRESS" {
		return
	}
	d.ticks++
	d.updated = now
	switch d.fault {
	case FaultNeverStabilizes:
		d.pending, d.running = d.desired, 0
		return
	case FaultImagePull, FaultCircuitBreaker:
		if d.ticks <= 2 {
			reason := "Task failed ELB health checks in (target-group " + s.targetGroup(svc) + ")"
			stopCode := "ServiceSchedulerInitiated"
			if d.fault == FaultImagePull {
				reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref " + s.image(d.taskDef) + ": not found"
				stopCode = "TaskFailedToStart"
			}
			for range max(d.desired, 1) {
				t := s.newTask(svc.account, svc.clusterArn, d.taskDef, "service:"+svc.name, d.id, false)
				s.stopTask(t, stopCode, reason, nil)
				d.failed++
				s.event(svc, fmt.Sprintf("(service %s) (task %s) failed to start: %s", svc.name, t.id, reason))
			}
			return
		}
		d.rollout = "FAILED"
		d.reason = "ECS deployment circuit breaker: tasks failed to start."
		if !svc.circuitBreaker || !svc.rollback || svc.lastGood == "" {
			return
		}
		s.event(svc, fmt.Sprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.", svc.name, d.id))
		svc.taskDef = svc.lastGood
		back := s.startDeployment(svc, svc.lastGood, false)
		back.fault = ""
		s.event(svc, fmt.Sprintf("(service %s) rolling back to deployment %s.", svc.name, back.id))
		return
	}
	switch d.ticks {
	case 1:
		d.pending = d.desired
	case 2:
		d.pending, d.running = 0, d.desired
		for range d.desired {
			t := s.newTask(svc.account, svc.clusterArn, d.taskDef, "service:"+svc.name, d.id, false)
			t.lastStatus, t.started = "RUNNING", now
		}
		s.event(svc, fmt.Sprintf("(service %s) has started %d tasks.", svc.name, d.desired))
	default:
		d.rollout, d.reason = "COMPLETED", "ECS deployment "+d.id+" completed."
		svc.lastGood = d.taskDef
		var keep []*deployment
		for _, old := range svc.deployments {
			if old == d {
				keep = append(keep, old)
				continue
			}
			s.stopDeploymentTasks(old, "Scaling activity initiated by (deployment "+d.id+")")
		}
		svc.deployments = keep
		s.event(svc, fmt.Sprintf("(service %s) (deployment %s) deployment completed.", svc.name, d.id))
		s.event(svc, fmt.Sprintf("(service %s) has reached a steady state.", svc.name))
	}
}

func (s *Simulator) stopDeploymentTasks(d *deployment, reason string) {
	for _, t := range s.tasks {
		if t.startedBy == d.id && t.lastStatus != "STOPPED" {
			s.stopTask(t, "ServiceSchedulerInitiated", reason, nil)
		}
	}
}

// targetGroup is the first target group of the service's load balancers.
func (s *Simulator) targetGroup(svc *service) string {
	for _, lb := range svc.loadBalancers {
		if m, ok := lb.(map[string]any); ok {
			if tg, ok := m["targetGroupArn"].(string); ok {
				return tg
			}
		}
	}
	return ""
}

func (s *Simulator) image(taskDef string) string {
	td := s.taskDefs[taskDef]
	if td == nil {
		return ""
	}
	if defs := td.def.objs("containerDefinitions"); len(defs) > 0 {
		return defs[0].str("image")
	}
	return ""
}

func (s *Simulator) serviceJSON(svc *service) obj {
	var deps []any
	running, pending := 0, 0
	for _, d := range svc.deployments {
		running += d.running
		pending += d.pending
		deps = append(deps, obj{"id": d.id, "status": d.status, "taskDefinition": d.taskDef,
			"desiredCount": d.desired, "runningCount": d.running, "pendingCount": d.pending, "failedTasks": d.failed,
			"createdAt": epoch(d.created), "updatedAt": epoch(d.updated), "launchType": svc.launchType,
			"rolloutState": d.rollout, "rolloutStateReason": d.reason})
	}
	var events []any
	for _, e := range svc.events {
		events = append(events, obj{"id": e.id, "createdAt": epoch(e.at), "message": e.message})
	}
	return obj{
		"serviceArn": svc.arn, "serviceName": svc.name, "clusterArn": svc.clusterArn, "status": svc.status,
		"desiredCount": svc.desired, "runningCount": running, "pendingCount": pending,
		"launchType": svc.launchType, "taskDefinition": svc.taskDef,
		"deploymentConfiguration": obj{
			"deploymentCircuitBreaker": obj{"enable": svc.circuitBreaker, "rollback": svc.rollback},
			"maximumPercent":           svc.maxPercent, "minimumHealthyPercent": svc.minHealthy,
		},
		"deployments": orEmpty(deps), "events": orEmpty(events), "loadBalancers": orEmpty(svc.loadBalancers),
		"networkConfiguration": svc.network, "createdAt": epoch(svc.created),
	}
}

func (s *Simulator) runTask(account string, in obj) (any, error) {
	c, err := s.cluster(account, in.str("cluster"))
	if err != nil {
		return nil, err
	}
	td, err := s.taskDefinition(account, in.str("taskDefinition"))
	if err != nil {
		return nil, err
	}
	if td.status != "ACTIVE" {
		return nil, errorf("ClientException", "TaskDefinition is inactive")
	}
	count := 1
	if n, ok := in.num("count"); ok && n > 0 {
		count = n
	}
	var out []any
	for range count {
		t := s.newTask(account, c.arn, td.arn, orDefault(in.str("group"), "family:"+td.family), in.str("startedBy"), true)
		t.outcome = s.scenario.Tasks[td.family]
		if t.outcome.LogLines == nil && !t.outcome.ImagePullFailure {
			t.outcome.LogLines = []string{fmt.Sprintf("simulated task of %s exited %d", td.family, t.outcome.ExitCode)}
		}
		out = append(out, s.taskJSON(t))
	}
	return obj{"tasks": out, "failures": []any{}}, nil
}

func (s *Simulator) newTask(account, clusterArn, taskDef, group, startedBy string, oneOff bool) *task {
	id := s.id(32)
	clusterName := clusterArn[strings.LastIndex(clusterArn, "/")+1:]
	t := &task{arn: fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", s.region, account, clusterName, id), id: id,
		clusterArn: clusterArn, taskDef: taskDef, group: group, startedBy: startedBy, account: account,
		lastStatus: "PROVISIONING", desiredStatus: "RUNNING", oneOff: oneOff, created: s.tick()}
	s.tasks[t.arn] = t
	return t
}

func (s *Simulator) task(account, clusterRef, ref string) *task {
	if t := s.tasks[ref]; t != nil && t.account == account {
		return t
	}
	c, err := s.cluster(account, clusterRef)
	if err != nil {
		return nil
	}
	for _, t := range s.tasks {
		if t.clusterArn == c.arn && t.id == ref {
			return t
		}
	}
	return nil
}

// advanceTask moves a one-off task one step on: PROVISIONING, PENDING,
// RUNNING (its log lines written), STOPPED with its outcome.
func (s *Simulator) advanceTask(t *task) {
	if !t.oneOff || t.lastStatus == "STOPPED" {
		return
	}
	now := s.tick()
	t.ticks++
	switch {
	case t.outcome.ImagePullFailure && t.ticks >= 2:
		s.stopTask(t, "TaskFailedToStart", "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "+s.image(t.taskDef)+": not found", nil)
		t.containerReason = "CannotPullContainerError: failed to resolve ref " + s.image(t.taskDef)
	case t.ticks == 1:
		t.lastStatus = "PENDING"
	case t.ticks == 2:
		t.lastStatus, t.started = "RUNNING", now
		s.writeTaskLogs(t)
	case t.outcome.NeverStops:
		// It keeps running, whatever StopTask asked.
	case t.ticks >= 3:
		code := t.outcome.ExitCode
		s.stopTask(t, "EssentialContainerExited", "Essential container in task exited", &code)
	}
}

func (s *Simulator) stopTask(t *task, stopCode, reason string, exitCode *int) {
	t.lastStatus, t.desiredStatus = "STOPPED", "STOPPED"
	t.stopCode, t.stoppedReason, t.exitCode = stopCode, reason, exitCode
	t.stopped = s.now
}

// writeTaskLogs writes the task's log lines to the awslogs stream of its
// first container.
func (s *Simulator) writeTaskLogs(t *task) {
	td := s.taskDefs[t.taskDef]
	if td == nil {
		return
	}
	defs := td.def.objs("containerDefinitions")
	if len(defs) == 0 {
		return
	}
	c := defs[0]
	lc := c.obj("logConfiguration")
	opts := lc.obj("options")
	if lc.str("logDriver") != "awslogs" || opts == nil {
		return
	}
	group, prefix := opts.str("awslogs-group"), opts.str("awslogs-stream-prefix")
	stream := prefix + "/" + c.str("name") + "/" + t.id
	for _, line := range t.outcome.LogLines {
		s.putLog(group, stream, line)
	}
}

func (s *Simulator) taskJSON(t *task) obj {
	td := s.taskDefs[t.taskDef]
	var containers []any
	if td != nil {
		for i, name := range td.containers() {
			c := obj{"name": name, "lastStatus": t.lastStatus, "taskArn": t.arn}
			if i == 0 && t.exitCode != nil {
				c["exitCode"] = *t.exitCode
			}
			if i == 0 && t.containerReason != "" {
				c["reason"] = t.containerReason
			}
			containers = append(containers, c)
		}
	}
	out := obj{"taskArn": t.arn, "clusterArn": t.clusterArn, "taskDefinitionArn": t.taskDef, "group": t.group,
		"lastStatus": t.lastStatus, "desiredStatus": t.desiredStatus, "launchType": "FARGATE",
		"containers": orEmpty(containers), "createdAt": epoch(t.created)}
	if t.startedBy != "" {
		out["startedBy"] = t.startedBy
	}
	if !t.started.IsZero() {
		out["startedAt"] = epoch(t.started)
	}
	if t.lastStatus == "STOPPED" {
		out["stopCode"], out["stoppedReason"], out["stoppedAt"] = t.stopCode, t.stoppedReason, epoch(t.stopped)
	}
	return out
}
