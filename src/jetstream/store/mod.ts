/** JetStream storage: the StreamStore/ConsumerStore contract and its memory and file stores. */

export * from "./types.ts";
export { MemoryStore, type MemoryStoreOptions } from "./memory.ts";
export { DEFAULT_BLOCK_SIZE, DEFAULT_SYNC_MS, FileStore, type FileStoreOptions } from "./file.ts";
export { readJsonFile, writeJsonFile } from "./meta.ts";
export { compileFilter, hasWildcard, isAllFilter } from "./filter.ts";
