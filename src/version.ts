/**
 * This project's own release, kept apart from the nats-server version it emulates (options.ts
 * VERSION, which INFO and /varz `version` carry because clients gate features on it). The one
 * place the release number lives is deno.json, imported here, so `deno compile` and `deno bundle`
 * build it in and nothing is read from the source tree at run time.
 */

import project from "../deno.json" with { type: "json" };

/** The name release archives and `-v` use. */
export const RELEASE_NAME = "nats-server-deno";
/** deno.json `version`: what `-v`, the startup log and /varz `release` report. */
export const RELEASE_VERSION: string = project.version;

/** `nats-server-deno 0.1.0 (deno 2.9.6)`: our release and the runtime under it. */
export function releaseString(): string {
  return `${RELEASE_NAME} ${RELEASE_VERSION} (deno ${Deno.version.deno})`;
}
