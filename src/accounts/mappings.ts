/**
 * Turns configured `mappings` into the mapper an account consults on each publish; null when
 * there are none, so unmapped accounts pay one null check per message.
 */

import type { SubjectMapper } from "./account.ts";
import { Mappings } from "./mapping.ts";
import type { MappingOptions } from "../options.ts";

export function compileMappings(list: MappingOptions[]): SubjectMapper | null {
  if (list.length === 0) return null;
  return Mappings.compile(list);
}
