/**
 * Runs one bcrypt comparison off the main thread: bcryptjs's async API still computes in
 * ~100 ms slices on the caller's thread, which would stall every other connection.
 */
// A full specifier, not deno.json's import map name: mod.ts is also imported by path from other
// projects, and a project without a deno.json of its own resolves no names from ours.
// deno-lint-ignore no-import-prefix
import bcrypt from "npm:bcryptjs@3.0.3";

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
