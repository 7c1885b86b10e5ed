// A NATS Go client (nats.go) scenario over websocket, for tests/websocket_test.ts: it connects
// to the URL given, exercises pub/sub, headers, a large message and request/reply, and prints
// one line per result so the test can compare our server with nats-server.
//
//	wsclient URL [compress] [ca.pem] [token]
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	opts := []nats.Option{nats.Name("go-ws"), nats.Timeout(5 * time.Second)}
	if len(os.Args) > 2 && os.Args[2] == "compress" {
		opts = append(opts, nats.Compression(true))
	}
	if len(os.Args) > 3 && os.Args[3] != "" {
		opts = append(opts, nats.RootCAs(os.Args[3]))
	}
	if len(os.Args) > 4 && os.Args[4] != "" {
		opts = append(opts, nats.Token(os.Args[4]))
	}
	nc, err := nats.Connect(os.Args[1], opts...)
	if err != nil {
		fmt.Println("connect error:", err)
		os.Exit(1)
	}
	defer nc.Close()
	sub, _ := nc.SubscribeSync("go.>")
	nc.Subscribe("svc", func(m *nats.Msg) { m.Respond(append([]byte("pong:"), m.Data...)) })
	qa, _ := nc.QueueSubscribeSync("q", "workers")
	qb, _ := nc.QueueSubscribeSync("q", "workers")
	nc.Publish("go.a", []byte("hello"))
	big := make([]byte, 300000)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	nc.Publish("go.big", big)
	m := nats.NewMsg("go.h")
	m.Header.Set("X-Test", "1")
	m.Data = []byte("hdr")
	nc.PublishMsg(m)
	for i := 0; i < 10; i++ {
		nc.Publish("q", []byte("work"))
	}
	for i := 0; i < 3; i++ {
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			fmt.Println("next error:", err)
			os.Exit(1)
		}
		ok := len(msg.Data) == 300000 && msg.Data[299999] == big[299999] || len(msg.Data) < 10
		fmt.Println("msg", msg.Subject, len(msg.Data), msg.Header.Get("X-Test"), ok)
	}
	r, err := nc.Request("svc", []byte("ping"), 5*time.Second)
	if err != nil {
		fmt.Println("request error:", err)
		os.Exit(1)
	}
	fmt.Println("reply", string(r.Data))
	if _, err := nc.Request("nobody", nil, 5*time.Second); err != nil {
		fmt.Println("no responders:", err)
	}
	nc.Flush()
	a, _, _ := qa.Pending()
	b, _, _ := qb.Pending()
	fmt.Println("queue", a+b)
	fmt.Println("server", nc.ConnectedServerName() != "", nc.ConnectedUrl() == os.Args[1])
}
