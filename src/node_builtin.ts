/**
 * Node built-in modules, loaded when first needed rather than imported at the top of a module.
 * Deno's Node compatibility layer costs memory as soon as any of its modules is imported (about
 * 12 MB of RSS for the ones this server uses, measured), and most servers never need them: TLS,
 * syslog, websocket compression, bcrypt and /varz's CPU figure are features a plain server may
 * not use. `process.getBuiltinModule` (Node 22's API, which Deno 2 provides) loads one
 * synchronously, so callers stay synchronous; `import type` keeps their types.
 */

interface WithBuiltins {
  process: { getBuiltinModule(id: string): unknown };
}

/** The Node built-in module `id` (e.g. "node:tls"), loaded on the first call. */
export function nodeBuiltin<T>(id: string): T {
  return (globalThis as unknown as WithBuiltins).process.getBuiltinModule(id) as T;
}
