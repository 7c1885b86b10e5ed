/**
 * Runs one bcrypt comparison off the main thread: bcryptjs's async API still computes in
 * ~100 ms slices on the caller's thread, which would stall every other connection.
 */
import bcrypt from "bcryptjs";

interface Job {
  given: string;
  stored: string;
}

self.onmessage = async (e: MessageEvent<Job>) => {
  let ok = false;
  try {
    ok = await bcrypt.compare(e.data.given, e.data.stored);
  } catch {
    ok = false;
  }
  self.postMessage(ok);
};
