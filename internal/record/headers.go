// Package record defines the Kafka record that carries one Ferry batch: its
// key, headers, and a value that is the StoredBatch protobuf, compressed, then
// sealed with AES-256-GCM.
//
// Compression comes before encryption because ciphertext does not compress:
// Kafka's own compression of sealed values would only cost CPU.
package record

import (
	"fmt"
	"strconv"

	"github.com/IBM/sarama"
)

// Header names of a ferry.events record.
const (
	HeaderTenant         = "ferry.tenant"
	HeaderAccessKey      = "ferry.access_key"
	HeaderAgentID        = "ferry.agent_id"
	HeaderBatchID        = "ferry.batch_id"
	HeaderKeyID          = "ferry.key_id"
	HeaderEventCount     = "ferry.event_count"
	HeaderFirstEventTime = "ferry.first_event_time_unix_nano"
	HeaderLastEventTime  = "ferry.last_event_time_unix_nano"
	HeaderContentType    = "content-type"
)

// Meta is what a record's headers say about it. Routers read it without
// decrypting; the AAD binds tenant, access key and batch id to the value.
type Meta struct {
	Tenant         string
	AccessKey      string
	AgentID        string
	BatchID        string
	KeyID          string
	EventCount     int
	FirstEventTime int64 // unix nanoseconds
	LastEventTime  int64
	ContentType    string
}

// Key keeps one agent's batches in one partition, and so in order.
func Key(tenant, agentID string) []byte {
	return []byte(tenant + "/" + agentID)
}

// Headers renders m as Kafka record headers.
func (m Meta) Headers() []sarama.RecordHeader {
	h := func(k, v string) sarama.RecordHeader { return sarama.RecordHeader{Key: []byte(k), Value: []byte(v)} }
	return []sarama.RecordHeader{
		h(HeaderTenant, m.Tenant),
		h(HeaderAccessKey, m.AccessKey),
		h(HeaderAgentID, m.AgentID),
		h(HeaderBatchID, m.BatchID),
		h(HeaderKeyID, m.KeyID),
		h(HeaderEventCount, strconv.Itoa(m.EventCount)),
		h(HeaderFirstEventTime, strconv.FormatInt(m.FirstEventTime, 10)),
		h(HeaderLastEventTime, strconv.FormatInt(m.LastEventTime, 10)),
		h(HeaderContentType, m.ContentType),
	}
}

// MetaFromHeaders reads the headers of a consumed record.
func MetaFromHeaders(headers []*sarama.RecordHeader) (Meta, error) {
	var m Meta
	var err error
	for _, h := range headers {
		if h == nil {
			continue
		}
		v := string(h.Value)
		switch string(h.Key) {
		case HeaderTenant:
			m.Tenant = v
		case HeaderAccessKey:
			m.AccessKey = v
		case HeaderAgentID:
			m.AgentID = v
		case HeaderBatchID:
			m.BatchID = v
		case HeaderKeyID:
			m.KeyID = v
		case HeaderContentType:
			m.ContentType = v
		case HeaderEventCount:
			m.EventCount, err = strconv.Atoi(v)
		case HeaderFirstEventTime:
			m.FirstEventTime, err = strconv.ParseInt(v, 10, 64)
		case HeaderLastEventTime:
			m.LastEventTime, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			return m, fmt.Errorf("header %s has the value %q, not a number", h.Key, v)
		}
	}
	for name, v := range map[string]string{HeaderTenant: m.Tenant, HeaderAccessKey: m.AccessKey, HeaderBatchID: m.BatchID, HeaderKeyID: m.KeyID, HeaderContentType: m.ContentType} {
		if v == "" {
			return m, fmt.Errorf("record has no %s header; it was not written by a Ferry ingester", name)
		}
	}
	return m, nil
}
