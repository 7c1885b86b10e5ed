/** Placeholder until the monitoring module lands: see startMonitoring's contract below. */
import type { Server } from "./server.ts";

export interface MonitorHandle {
  /** Bound ports (0 when that listener is off). */
  httpPort: number;
  httpsPort: number;
  stop(): Promise<void>;
}

export function startMonitoring(_server: Server): MonitorHandle {
  throw new Error("monitoring is not implemented yet");
}
