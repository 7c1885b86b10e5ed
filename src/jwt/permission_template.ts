/**
 * Scoped signing keys' permission templates, expanded per user as nats-server 2.9.10's
 * processUserPermissionsTemplate does. A subject token of the form `{{op}}` is replaced:
 *
 * - `{{name()}}`, `{{subject()}}`: the user JWT's name and public key;
 * - `{{account-name()}}`, `{{account-subject()}}`: the account's name and public key;
 * - `{{tag(x)}}`, `{{account-tag(x)}}`: every value `v` of a user (account) tag `x:v`, one subject
 *   per combination when several tokens expand to several values.
 *
 * A result that is not a valid subject is dropped from allow lists and fails the user from deny
 * lists; an allow list emptied this way becomes "deny >", so a template never widens access.
 */

import { isValidSubject } from "../subjects.ts";
import type { UserPermissionLimits } from "./types.ts";

/** What the templates may refer to. */
export interface TemplateContext {
  userName: string;
  userKey: string;
  userTags: readonly string[];
  accountName: string;
  accountKey: string;
  accountTags: readonly string[];
}

/** A deny list produced an invalid subject: nats-server refuses the user. */
export class TemplateError extends Error {
  constructor() {
    super("generated invalid subject");
    this.name = "TemplateError";
  }
}

const isTemplate = (tk: string) => tk.startsWith("{{") && tk.endsWith("}}");

/** Every combination of one value per list, in order (the first list varies slowest). */
function cartesian(lists: string[][]): string[][] {
  let out: string[][] = [[]];
  for (const l of lists) out = out.flatMap((prefix) => l.map((v) => [...prefix, v]));
  return out;
}

function tagValues(tags: readonly string[], name: string): string[] {
  const prefix = `${name}:`;
  return tags.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length));
}

function applyTemplate(
  list: string[] | undefined,
  failOnBadSubject: boolean,
  ctx: TemplateContext,
): string[] | undefined {
  if (list === undefined || !list.some((s) => s.split(".").some(isTemplate))) return list;
  const emitted: string[] = [];
  const emit = (subject: string) => {
    if (isValidSubject(subject)) emitted.push(subject);
    else if (failOnBadSubject) throw new TemplateError();
  };
  for (const entry of list) {
    const values: string[][] = [];
    const tokens = entry.split(".").map((tk) => {
      if (!isTemplate(tk)) return tk;
      const op = tk.slice(2, -2).toLowerCase();
      if (op === "name()") return ctx.userName;
      if (op === "subject()") return ctx.userKey;
      if (op === "account-name()") return ctx.accountName;
      if (op === "account-subject()") return ctx.accountKey;
      if (op.endsWith(")") && (op.startsWith("tag(") || op.startsWith("account-tag("))) {
        const account = op.startsWith("account-tag(");
        const name = op.slice(account ? "account-tag(".length : "tag(".length, -1);
        const found = tagValues(account ? ctx.accountTags : ctx.userTags, name);
        if (found.length > 0) values.push(found);
        // An empty token marks where a value goes (and is invalid when none was found).
        return "";
      }
      // An unknown function makes the subject invalid on purpose.
      return " ";
    });
    if (values.length === 0) {
      emit(tokens.join("."));
      continue;
    }
    for (const combo of cartesian(values)) {
      let k = 0;
      // Go fills every empty token in order; running out of values would crash it, here the
      // subject just comes out invalid.
      emit(tokens.map((t) => (t === "" ? (combo[k++] ?? "") : t)).join("."));
    }
  }
  return emitted;
}

/**
 * The template of a scoped signing key applied for one user. Throws {@link TemplateError} when
 * a deny entry expands to an invalid subject.
 */
export function expandPermissionTemplate(
  template: UserPermissionLimits,
  ctx: TemplateContext,
): UserPermissionLimits {
  const lim: UserPermissionLimits = { ...template };
  const pubAllowWasSet = (template.pub?.allow?.length ?? 0) > 0;
  const subAllowWasSet = (template.sub?.allow?.length ?? 0) > 0;
  const sub = {
    ...template.sub,
    allow: applyTemplate(template.sub?.allow, false, ctx),
    deny: applyTemplate(template.sub?.deny, true, ctx),
  };
  const pub = {
    ...template.pub,
    allow: applyTemplate(template.pub?.allow, false, ctx),
    deny: applyTemplate(template.pub?.deny, true, ctx),
  };
  if (subAllowWasSet && (sub.allow?.length ?? 0) === 0) sub.deny = addUnique(sub.deny, ">");
  if (pubAllowWasSet && (pub.allow?.length ?? 0) === 0) pub.deny = addUnique(pub.deny, ">");
  lim.sub = dropUndefined(sub);
  lim.pub = dropUndefined(pub);
  return lim;
}

/** jwt.StringList.Add. */
function addUnique(list: string[] | undefined, s: string): string[] {
  const out = [...(list ?? [])];
  if (!out.includes(s)) out.push(s);
  return out;
}

function dropUndefined(p: { allow?: string[]; deny?: string[] }) {
  const out: { allow?: string[]; deny?: string[] } = {};
  if (p.allow !== undefined) out.allow = p.allow;
  if (p.deny !== undefined) out.deny = p.deny;
  return out;
}
