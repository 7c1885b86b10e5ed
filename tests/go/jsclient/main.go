// A JetStream scenario with the official Go client (nats.go, as Debian ships it), printing one
// line per step. jetstream_go_test.ts runs it against our server and against nats-server -js
// and compares the output.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
)

func show(step string, v interface{}, err error) {
	var apiErr *nats.APIError
	switch {
	case err == nil:
		fmt.Printf("%s: %v\n", step, v)
	case errors.As(err, &apiErr):
		fmt.Printf("%s: api error %d %d %s\n", step, apiErr.Code, apiErr.ErrorCode, apiErr.Description)
	default:
		fmt.Printf("%s: error %v\n", step, err)
	}
}

func info(si *nats.StreamInfo) string {
	if si == nil {
		return "nil"
	}
	c := si.Config
	s := si.State
	return fmt.Sprintf("%s subjects=%v storage=%v retention=%v max_msgs=%d dup=%v msgs=%d bytes=%d first=%d last=%d deleted=%v subjects_state=%v",
		c.Name, c.Subjects, c.Storage, c.Retention, c.MaxMsgs, c.Duplicates, s.Msgs, s.Bytes, s.FirstSeq, s.LastSeq, s.Deleted, s.Subjects)
}

func main() {
	nc, err := nats.Connect(os.Args[1])
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		panic(err)
	}

	ai, err := js.AccountInfo()
	if ai != nil {
		show("account", fmt.Sprintf("streams=%d limits=%+v", ai.Streams, ai.Limits), err)
	} else {
		show("account", nil, err)
	}
	si, err := js.AddStream(&nats.StreamConfig{Name: "GO", Subjects: []string{"go.*"}, MaxMsgsPerSubject: 5})
	show("add", info(si), err)
	si, err = js.AddStream(&nats.StreamConfig{Name: "GOMEM", Subjects: []string{"mem"}, Storage: nats.MemoryStorage, AllowDirect: true})
	show("add mem", info(si), err)
	_, err = js.AddStream(&nats.StreamConfig{Name: "BAD", Subjects: []string{"go.x"}})
	show("add overlap", nil, err)
	_, err = js.AddStream(&nats.StreamConfig{Name: "BAD.NAME"})
	show("add bad name", nil, err)

	for i := 0; i < 3; i++ {
		pa, err := js.Publish("go.a", []byte(fmt.Sprintf("a%d", i)), nats.MsgId(fmt.Sprintf("id%d", i%2)))
		if pa != nil {
			show("publish", fmt.Sprintf("%s %d dup=%v", pa.Stream, pa.Sequence, pa.Duplicate), err)
		} else {
			show("publish", nil, err)
		}
	}
	_, err = js.Publish("go.a", []byte("x"), nats.ExpectLastSequence(9))
	show("expect last seq", nil, err)
	_, err = js.Publish("go.a", []byte("x"), nats.ExpectStream("OTHER"))
	show("expect stream", nil, err)
	_, err = js.Publish("go.b", []byte("x"), nats.ExpectLastSequencePerSubject(0))
	show("expect subject seq 0", nil, err)
	_, err = js.Publish("go.b", []byte("x"), nats.ExpectLastSequencePerSubject(1))
	show("expect subject seq 1", nil, err)
	_, err = js.Publish("go.a", []byte("x"), nats.ExpectLastMsgId("id0"))
	show("expect last msg id", nil, err)
	_, err = js.Publish("nostream", []byte("x"))
	show("no stream", nil, err)

	for i := 0; i < 50; i++ {
		js.PublishAsync("go.c", []byte("async"))
	}
	select {
	case <-js.PublishAsyncComplete():
		show("async", "complete", nil)
	case <-time.After(5 * time.Second):
		show("async", "timeout", nil)
	}

	m, err := js.GetMsg("GO", 1)
	if m != nil {
		show("get", fmt.Sprintf("%s %d %s", m.Subject, m.Sequence, m.Data), err)
	} else {
		show("get", nil, err)
	}
	m, err = js.GetLastMsg("GO", "go.b")
	if m != nil {
		show("get last", fmt.Sprintf("%s %d %s", m.Subject, m.Sequence, m.Data), err)
	} else {
		show("get last", nil, err)
	}
	_, err = js.GetMsg("GO", 999)
	show("get missing", nil, err)
	js.Publish("mem", []byte("direct"))
	m, err = js.GetMsg("GOMEM", 1, nats.DirectGet())
	if m != nil {
		show("direct get", fmt.Sprintf("%s %d %s", m.Subject, m.Sequence, m.Data), err)
	} else {
		show("direct get", nil, err)
	}
	m, err = js.GetLastMsg("GOMEM", "mem", nats.DirectGet())
	if m != nil {
		show("direct last", fmt.Sprintf("%s %d %s", m.Subject, m.Sequence, m.Data), err)
	} else {
		show("direct last", nil, err)
	}
	_, err = js.GetMsg("GOMEM", 99, nats.DirectGet())
	show("direct missing", nil, err)

	show("delete msg", nil, js.DeleteMsg("GO", 1))
	show("secure delete msg", nil, js.SecureDeleteMsg("GO", 2))
	show("delete msg again", nil, js.DeleteMsg("GO", 1))

	si, err = js.UpdateStream(&nats.StreamConfig{Name: "GO", Subjects: []string{"go.*", "more"}, MaxMsgsPerSubject: 5})
	show("update", info(si), err)
	_, err = js.UpdateStream(&nats.StreamConfig{Name: "GO", Subjects: []string{"go.*"}, Storage: nats.MemoryStorage})
	show("update storage", nil, err)
	_, err = js.UpdateStream(&nats.StreamConfig{Name: "NOPE", Subjects: []string{"n"}})
	show("update missing", nil, err)

	var names []string
	for n := range js.StreamNames() {
		names = append(names, n)
	}
	sort.Strings(names)
	show("names", names, nil)
	var listed []string
	for s := range js.Streams() {
		listed = append(listed, s.Config.Name)
	}
	sort.Strings(listed)
	show("list", listed, nil)

	si, err = js.StreamInfo("GO", &nats.StreamInfoRequest{DeletedDetails: true, SubjectsFilter: ">"})
	show("info details", info(si), err)
	show("purge subject", nil, js.PurgeStream("GO", &nats.StreamPurgeRequest{Subject: "go.c", Keep: 10}))
	si, err = js.StreamInfo("GO")
	show("after purge", info(si), err)
	show("purge", nil, js.PurgeStream("GO"))
	_, err = js.StreamInfo("NOPE")
	show("info missing", nil, err)
	show("delete", nil, js.DeleteStream("GOMEM"))
	show("delete again", nil, js.DeleteStream("GOMEM"))
	ai, err = js.AccountInfo()
	if ai != nil {
		show("account after", fmt.Sprintf("streams=%d api=%+v", ai.Streams, ai.API), err)
	}
}
