/**
 * Runs one bcrypt comparison off the main thread: bcryptjs's async API still computes in
 * ~100 ms slices on the caller's thread, which would stall every other connection.
 */
import bcrypt from "bcryptjs";

interface Job {
  given: string;
  stored: string;
}

/** The worker's global scope, typed without pulling the worker lib into the main program. */
const scope = self as unknown as {
  onmessage: (e: MessageEvent<Job>) => void;
  postMessage(ok: boolean): void;
};

scope.onmessage = async (e) => {
  let ok = false;
  try {
    ok = await bcrypt.compare(e.data.given, e.data.stored);
  } catch {
    ok = false;
  }
  scope.postMessage(ok);
};
