/**
 * Whether an account JWT's import may use another account's export, as nats-server 2.9.10's
 * checkStreamImportAuthorized / checkServiceImportAuthorized decide: the export is found by its
 * subject (exactly, else the first export the import's subject falls under), then it is public,
 * or names the importer in the subject's `account_token_position` token, or requires an
 * activation token that the exporter (or one of its signing keys) issued to the importer, that
 * has not expired and is not revoked.
 */

import type { Account } from "../accounts/account.ts";
import { decodeActivationClaimsSync } from "../jwt/claims.ts";
import type { ActivationClaims, ExportType, Import } from "../jwt/types.ts";
import { isRevoked } from "../jwt/user_auth.ts";
import { unixNow, validateActivation, validateImport, ValidationResults } from "../jwt/validate.ts";
import type { ServiceExportOptions, StreamExportOptions } from "../options.ts";
import { isValidSubject } from "../sublist.ts";
import { isSubsetMatch } from "../subjects.ts";

type AnyExport = StreamExportOptions | ServiceExportOptions;

/** What an authorization check may ask its caller to do. */
export interface AuthorizeHooks {
  /** An activation token expires in `ms`: check the import again then. */
  activationExpires(ms: number): void;
  /** An activation claims an issuer account that is not the exporter: logged as an error. */
  error(msg: string): void;
}

/** The export of `kind` that `subject` (an import's subject) falls under, with its tokens. */
function findExport(
  exporter: Account,
  kind: ExportType,
  subject: string,
): { e: AnyExport; tokens: string[] | null } | null {
  const list: AnyExport[] = kind === "stream" ? exporter.streamExports : exporter.serviceExports;
  const exact = list.find((e) => e.subject === subject);
  if (exact) return { e: exact, tokens: null };
  const tokens = subject.split(".");
  const wild = list.find((e) => isSubsetMatch(tokens, e.subject));
  return wild ? { e: wild, tokens } : null;
}

/** checkStreamImportAuthorized / checkServiceImportAuthorized for a JWT import. */
export function importAuthorized(
  exporter: Account,
  importer: Account,
  subject: string,
  claim: Import,
  hooks: AuthorizeHooks,
): boolean {
  const kind = claim.type ?? "stream";
  if (kind === "stream" && !isValidSubject(subject)) return false;
  const found = findExport(exporter, kind, subject);
  if (found === null) return false;
  const { e, tokens } = found;
  const pos = e.accountTokenPosition ?? 0;
  if ((e.accounts === undefined || e.accounts.length === 0) && !e.tokenReq && pos === 0) {
    return true;
  }
  if (pos > 0) {
    return tokens !== null && pos <= tokens.length && tokens[pos - 1] === importer.name;
  }
  if (e.tokenReq) return activationValid(exporter, importer, claim, e.revocations, hooks);
  return e.accounts?.includes(importer.name) ?? false;
}

/**
 * checkActivation: the import's token decodes, matches the import and the importer, was issued
 * by the exporter (or a signing key of it), is valid now and not revoked by the export.
 */
export function activationValid(
  exporter: Account,
  importer: Account,
  claim: Import,
  revocations: Record<string, number> | undefined,
  hooks: AuthorizeHooks | null,
): boolean {
  if (!claim.token) return false;
  const now = unixNow();
  const vr = new ValidationResults();
  validateImport(claim, importer.name, vr, now);
  if (vr.isBlocking(true)) return false;
  let act: ActivationClaims;
  try {
    act = decodeActivationClaimsSync(claim.token);
  } catch {
    return false;
  }
  if (!issuerTrusted(exporter, act, hooks)) return false;
  if (validateActivation(act, now).isBlocking(true)) return false;
  const exp = act.exp ?? 0;
  if (exp !== 0) {
    if (exp <= now) return false;
    hooks?.activationExpires((exp - now) * 1000);
  }
  return !isRevoked(revocations, act.sub, act.iat ?? 0);
}

/** isIssuerClaimTrusted: no issuer account, or the exporter with a key it lists. */
function issuerTrusted(exporter: Account, act: ActivationClaims, hooks: AuthorizeHooks | null) {
  const ia = act.nats.issuer_account ?? "";
  if (ia === "") return true;
  if (ia !== exporter.name) {
    hooks?.error(
      `Invalid issuer account ${JSON.stringify(ia)} in activation claim (subject: ${
        JSON.stringify(act.nats.subject ?? "")
      } - type: ${JSON.stringify(act.nats.kind ?? "unknown")}) for account ${
        JSON.stringify(exporter.name)
      }`,
    );
    return false;
  }
  return exporter.jwt?.signingKeys.has(act.iss) ?? false;
}
