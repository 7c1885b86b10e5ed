/**
 * Where the bcrypt worker's module is. Run from source, and in a `deno compile` binary (which
 * embeds the file with `--include`), it is bcrypt_worker.ts beside this file. A single-file bundle
 * has nothing beside it, so scripts/bundle.ts swaps this module (by an import map) for one whose
 * URL is a `data:` URL carrying the bundled worker itself.
 */
export const BCRYPT_WORKER_URL: string = new URL("./bcrypt_worker.ts", import.meta.url).href;
