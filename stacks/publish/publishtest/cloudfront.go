package publishtest

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

const cloudFrontNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

// Invalidation is one invalidation the CloudFront fake received.
type Invalidation struct {
	DistributionID string
	ID             string
	Paths          []string
	Polls          int // GetInvalidation calls answered so far
}

// CloudFront serves CreateInvalidation and GetInvalidation (REST-XML, API
// version 2020-05-31) for the distributions it was started with. Each
// invalidation reports InProgress for PendingPolls GetInvalidation calls,
// then Completed.
type CloudFront struct {
	URL          string
	PendingPolls int

	srv           *httptest.Server
	mu            sync.Mutex
	distributions map[string]bool
	invalidations []*Invalidation
}

// NewCloudFront starts the fake. Close it when done.
func NewCloudFront(distributionIDs ...string) *CloudFront {
	cf := &CloudFront{distributions: map[string]bool{}}
	for _, id := range distributionIDs {
		cf.distributions[id] = true
	}
	cf.srv = httptest.NewServer(http.HandlerFunc(cf.serve))
	cf.URL = cf.srv.URL
	return cf
}

// Close stops the server.
func (cf *CloudFront) Close() { cf.srv.Close() }

// Invalidations returns the invalidations created so far, oldest first.
func (cf *CloudFront) Invalidations() []Invalidation {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	out := make([]Invalidation, 0, len(cf.invalidations))
	for _, inv := range cf.invalidations {
		out = append(out, *inv)
	}
	return out
}

type xmlInvalidationBatch struct {
	XMLName         xml.Name `xml:"InvalidationBatch"`
	CallerReference string   `xml:"CallerReference"`
	Paths           struct {
		Quantity int      `xml:"Quantity"`
		Items    []string `xml:"Items>Path"`
	} `xml:"Paths"`
}

type xmlInvalidation struct {
	XMLName           xml.Name             `xml:"Invalidation"`
	Xmlns             string               `xml:"xmlns,attr"`
	ID                string               `xml:"Id"`
	Status            string               `xml:"Status"`
	CreateTime        string               `xml:"CreateTime"`
	InvalidationBatch xmlInvalidationBatch `xml:"InvalidationBatch"`
}

func (cf *CloudFront) serve(w http.ResponseWriter, r *http.Request) {
	// /2020-05-31/distribution/{id}/invalidation[/{invalidationId}]
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "2020-05-31" || parts[1] != "distribution" || parts[3] != "invalidation" {
		cfError(w, http.StatusNotFound, "InvalidArgument", "unsupported path "+r.URL.Path)
		return
	}
	dist := parts[2]
	cf.mu.Lock()
	known := cf.distributions[dist]
	cf.mu.Unlock()
	if !known {
		cfError(w, http.StatusNotFound, "NoSuchDistribution", "The specified distribution does not exist.")
		return
	}
	switch {
	case r.Method == http.MethodPost && len(parts) == 4:
		cf.create(w, r, dist)
	case r.Method == http.MethodGet && len(parts) == 5:
		cf.get(w, dist, parts[4])
	default:
		cfError(w, http.StatusMethodNotAllowed, "InvalidArgument", "unsupported request")
	}
}

func (cf *CloudFront) create(w http.ResponseWriter, r *http.Request, dist string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		cfError(w, http.StatusBadRequest, "InvalidArgument", err.Error())
		return
	}
	var batch xmlInvalidationBatch
	if err := xml.Unmarshal(body, &batch); err != nil {
		cfError(w, http.StatusBadRequest, "MalformedInput", err.Error())
		return
	}
	if batch.Paths.Quantity != len(batch.Paths.Items) || batch.CallerReference == "" {
		cfError(w, http.StatusBadRequest, "InconsistentQuantities", "quantity does not match the paths")
		return
	}
	cf.mu.Lock()
	inv := &Invalidation{
		DistributionID: dist,
		ID:             fmt.Sprintf("I%04d", len(cf.invalidations)+1),
		Paths:          batch.Paths.Items,
	}
	cf.invalidations = append(cf.invalidations, inv)
	status := "InProgress"
	if cf.PendingPolls == 0 {
		status = "Completed"
	}
	cf.mu.Unlock()
	w.Header().Set("Location", cf.URL+r.URL.Path+"/"+inv.ID)
	writeInvalidation(w, http.StatusCreated, inv, status, batch)
}

func (cf *CloudFront) get(w http.ResponseWriter, dist, id string) {
	cf.mu.Lock()
	var inv *Invalidation
	for _, i := range cf.invalidations {
		if i.DistributionID == dist && i.ID == id {
			inv = i
		}
	}
	if inv == nil {
		cf.mu.Unlock()
		cfError(w, http.StatusNotFound, "NoSuchInvalidation", "The specified invalidation does not exist.")
		return
	}
	inv.Polls++
	status := "Completed"
	if inv.Polls <= cf.PendingPolls {
		status = "InProgress"
	}
	batch := xmlInvalidationBatch{CallerReference: "ref"}
	batch.Paths.Items = inv.Paths
	batch.Paths.Quantity = len(inv.Paths)
	snapshot := *inv
	cf.mu.Unlock()
	writeInvalidation(w, http.StatusOK, &snapshot, status, batch)
}

func writeInvalidation(w http.ResponseWriter, code int, inv *Invalidation, status string, batch xmlInvalidationBatch) {
	out := xmlInvalidation{
		Xmlns:             cloudFrontNS,
		ID:                inv.ID,
		Status:            status,
		CreateTime:        time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339),
		InvalidationBatch: batch,
	}
	body, err := xml.Marshal(out)
	if err != nil {
		cfError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func cfError(w http.ResponseWriter, code int, errCode, msg string) {
	var e xmlErrorResponse
	e.Xmlns = cloudFrontNS
	e.Error.Type = "Sender"
	e.Error.Code = errCode
	e.Error.Message = msg
	e.RequestID = "fake"
	body, _ := xml.Marshal(e)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
