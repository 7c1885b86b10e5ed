// Stream backup and restore as `nats stream backup` / `restore` do them (jsm.go's protocol),
// written with the official Go client (nats.go, as Debian ships it): snapshot a file stream with
// a durable consumer part way, acking every chunk, delete the stream, restore it chunk by chunk,
// and print what came back, one line per step. jetstream_snapshot_test.ts runs it against our
// server and against nats-server -js and compares the output.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

type apiResp struct {
	Type           string          `json:"type"`
	Error          *nats.APIError  `json:"error,omitempty"`
	Config         json.RawMessage `json:"config,omitempty"`
	State          json.RawMessage `json:"state,omitempty"`
	DeliverSubject string          `json:"deliver_subject,omitempty"`
}

func request(nc *nats.Conn, subj string, body interface{}) apiResp {
	var data []byte
	if b, ok := body.([]byte); ok {
		data = b
	} else {
		data, _ = json.Marshal(body)
	}
	m, err := nc.Request(subj, data, 5*time.Second)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", subj, err))
	}
	var r apiResp
	if err := json.Unmarshal(m.Data, &r); err != nil {
		panic(fmt.Sprintf("%s: %v: %q", subj, err, m.Data))
	}
	return r
}

func show(step string, r apiResp) {
	if r.Error != nil {
		fmt.Printf("%s: %s error %d %d %s\n", step, r.Type, r.Error.Code, r.Error.ErrorCode, r.Error.Description)
		return
	}
	fmt.Printf("%s: %s\n", step, r.Type)
}

// snapshot collects the archive, acking each chunk as jsm.go does.
func snapshot(nc *nats.Conn, stream string) (apiResp, []byte, int) {
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		panic(err)
	}
	defer sub.Unsubscribe()
	r := request(nc, "$JS.API.STREAM.SNAPSHOT."+stream, map[string]interface{}{
		"deliver_subject": inbox, "chunk_size": 512,
	})
	var archive []byte
	chunks := 0
	if r.Error != nil {
		return r, nil, 0
	}
	for {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			panic(err)
		}
		if len(m.Data) == 0 {
			return r, archive, chunks
		}
		archive = append(archive, m.Data...)
		chunks++
		if m.Reply != "" {
			m.Respond(nil)
		}
	}
}

// restore sends the archive in chunks, each as a request, and an empty one at the end.
func restore(nc *nats.Conn, stream string, cfg json.RawMessage, archive []byte) apiResp {
	r := request(nc, "$JS.API.STREAM.RESTORE."+stream, map[string]interface{}{"config": cfg})
	if r.Error != nil {
		return r
	}
	for i := 0; i < len(archive); i += 1000 {
		end := i + 1000
		if end > len(archive) {
			end = len(archive)
		}
		m, err := nc.Request(r.DeliverSubject, archive[i:end], 5*time.Second)
		if err != nil || len(m.Data) != 0 {
			panic(fmt.Sprintf("chunk %d: %v %q", i, err, m.Data))
		}
	}
	return request(nc, r.DeliverSubject, []byte{})
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
	if _, err := js.AddStream(&nats.StreamConfig{Name: "BK", Subjects: []string{"bk.*"}}); err != nil {
		panic(err)
	}
	for i := 1; i <= 50; i++ {
		msg := nats.NewMsg(fmt.Sprintf("bk.%d", i%4))
		msg.Data = []byte(fmt.Sprintf("message %d", i))
		if i%5 == 0 {
			msg.Header.Set("Order", fmt.Sprint(i))
		}
		if _, err := js.PublishMsg(msg); err != nil {
			panic(err)
		}
	}
	if err := js.DeleteMsg("BK", 10); err != nil {
		panic(err)
	}
	if _, err := js.AddConsumer("BK", &nats.ConsumerConfig{Durable: "D", AckPolicy: nats.AckExplicitPolicy}); err != nil {
		panic(err)
	}
	sub, err := js.PullSubscribe("bk.*", "D", nats.Bind("BK", "D"))
	if err != nil {
		panic(err)
	}
	msgs, err := sub.Fetch(12, nats.MaxWait(2*time.Second))
	if err != nil {
		panic(err)
	}
	for _, m := range msgs[:8] {
		m.AckSync()
	}

	snap, archive, chunks := snapshot(nc, "BK")
	show("snapshot", snap)
	fmt.Printf("chunked: %v\n", chunks > 1)
	r := restore(nc, "BK", snap.Config, archive)
	show("restore over existing", r)
	if err := js.DeleteStream("BK"); err != nil {
		panic(err)
	}
	r = restore(nc, "BK", snap.Config, archive[:len(archive)/2])
	show("restore half", r)
	r = restore(nc, "BK", snap.Config, archive)
	show("restore", r)

	si, err := js.StreamInfo("BK")
	if err != nil {
		panic(err)
	}
	fmt.Printf("stream: msgs=%d bytes=%d first=%d last=%d deleted=%d consumers=%d\n",
		si.State.Msgs, si.State.Bytes, si.State.FirstSeq, si.State.LastSeq, si.State.NumDeleted, si.State.Consumers)
	for _, seq := range []uint64{1, 9, 10, 11, 25, 50} {
		m, err := js.GetMsg("BK", seq)
		if err != nil {
			fmt.Printf("msg %d: %v\n", seq, err)
			continue
		}
		fmt.Printf("msg %d: %s %q order=%q\n", seq, m.Subject, m.Data, m.Header.Get("Order"))
	}
	ci, err := js.ConsumerInfo("BK", "D")
	if err != nil {
		panic(err)
	}
	fmt.Printf("consumer: delivered=%d/%d ack_floor=%d/%d ack_pending=%d pending=%d redelivered=%d\n",
		ci.Delivered.Consumer, ci.Delivered.Stream, ci.AckFloor.Consumer, ci.AckFloor.Stream,
		ci.NumAckPending, ci.NumPending, ci.NumRedelivered)
	sub, err = js.PullSubscribe("bk.*", "D", nats.Bind("BK", "D"))
	if err != nil {
		panic(err)
	}
	msgs, err = sub.Fetch(1, nats.MaxWait(2*time.Second))
	if err != nil {
		panic(err)
	}
	md, _ := msgs[0].Metadata()
	fmt.Printf("next: stream seq %d consumer seq %d\n", md.Sequence.Stream, md.Sequence.Consumer)
}
