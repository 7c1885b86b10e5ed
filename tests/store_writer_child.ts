/**
 * Child process for the SIGKILL test in jetstream_store_test.ts: stores messages in a tight
 * loop and prints each sequence once it has been stored and flushed (acknowledged), with the
 * consumer's delivery (and, for odd sequences, ack) recorded and flushed before the print too.
 * It never stops on its own; the test kills it.
 *
 *   deno run -A tests/store_writer_child.ts <dir> always|interval
 */

import { FileStore } from "../src/jetstream/store/mod.ts";

const [dir, sync] = Deno.args;
const enc = new TextEncoder();
const store = new FileStore({
  dir,
  blockSize: 64 * 1024,
  sync: sync === "always" ? "always" : 60_000,
});
const consumer = store.consumerStore("storm", { ackPolicy: "explicit" });
// Groups of 1 to 37 messages, as one turn of the server's event loop stores them: each group is
// flushed once, then acknowledged (printed).
for (let i = 1, group = 1;; group = group % 37 + 1) {
  const acked: number[] = [];
  for (let k = 0; k < group; k++, i++) {
    const hdr = i % 2 ? null : enc.encode(`NATS/1.0\r\nSeq: ${i}\r\n\r\n`);
    const seq = store.storeMsg(`storm.${i % 7}`, hdr, enc.encode(`msg-${i}-${"p".repeat(i % 97)}`));
    consumer.updateDelivered(seq, seq, 1, Date.now() * 1e6);
    if (seq % 2 === 1) consumer.updateAcks(seq, seq);
    acked.push(seq);
  }
  store.flush();
  consumer.flush();
  Deno.stdout.writeSync(enc.encode(acked.join("\n") + "\n"));
}
