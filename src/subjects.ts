/**
 * Relations between subjects that both may hold wildcards, with nats-server 2.9.10's exact rules
 * (sublist.go): account exports and imports are authorized and checked for cycles with these,
 * so a quirk here is a config accepted or refused differently.
 */

import { isValidSubject } from "./sublist.ts";

export { isValidSubject };

/**
 * nats-server's subjectIsLiteral: no `*` or `>` standing as a whole token. It does not check the
 * subject is valid (`a..b` is literal).
 */
export function subjectIsLiteral(subject: string): boolean {
  for (let i = 0; i < subject.length; i++) {
    const c = subject[i];
    if (c !== "*" && c !== ">") continue;
    const startsToken = i === 0 || subject[i - 1] === ".";
    const endsToken = i + 1 === subject.length || subject[i + 1] === ".";
    if (startsToken && endsToken) return false;
  }
  return true;
}

/** A valid subject without wildcards: what may be published to. */
export function isValidPublishSubject(subject: string): boolean {
  return isValidSubject(subject) && subjectIsLiteral(subject);
}

/**
 * Is `subject` (which may hold wildcards) a subset of `test`? `foo.*` is a subset of `>`, `*.*`
 * and `foo.*`, not of `foo.bar`. nats-server's isSubsetMatch.
 */
export function isSubsetMatch(tokens: string[], test: string): boolean {
  const testTokens = test.split(".");
  for (let i = 0; i < testTokens.length; i++) {
    if (i >= tokens.length) return false;
    const t2 = testTokens[i];
    if (t2.length === 0) return false;
    if (t2 === ">") return true;
    const t1 = tokens[i];
    if (t1.length === 0 || t1 === ">") return false;
    if (t1 === "*") {
      if (t2 !== "*") return false;
      continue;
    }
    // Only the first character is looked at: a test token `*x` matches any token, as in Go.
    if (t2[0] !== "*" && t1 !== t2) return false;
  }
  return tokens.length === testTokens.length;
}

export function subjectIsSubsetMatch(subject: string, test: string): boolean {
  return isSubsetMatch(subject.split("."), test);
}

/** Could the two subjects both match some literal subject? nats-server's SubjectsCollide. */
export function subjectsCollide(subj1: string, subj2: string): boolean {
  if (subj1 === subj2) return true;
  const toks1 = subj1.split(".");
  const toks2 = subj2.split(".");
  const [pwc1, fwc1] = analyzeTokens(toks1);
  const [pwc2, fwc2] = analyzeTokens(toks2);
  const lit1 = !(pwc1 || fwc1);
  const lit2 = !(pwc2 || fwc2);
  if (lit1 && lit2) return false; // equal literals returned above
  if (lit1 && !lit2) return isSubsetMatch(toks1, subj2);
  if (lit2 && !lit1) return isSubsetMatch(toks2, subj1);
  if (!fwc1 && !fwc2 && toks1.length !== toks2.length) return false;
  if (toks1.length !== toks2.length) {
    // The shorter one must end in `>` to reach the longer one.
    if ((toks1.length < toks2.length && !fwc1) || (toks2.length < toks1.length && !fwc2)) {
      return false;
    }
  }
  const stop = Math.min(toks1.length, toks2.length);
  for (let i = 0; i < stop; i++) {
    if (!tokensCanMatch(toks1[i], toks2[i])) return false;
  }
  return true;
}

function analyzeTokens(tokens: string[]): [pwc: boolean, fwc: boolean] {
  let pwc = false;
  let fwc = false;
  for (const t of tokens) {
    if (t === "*") pwc = true;
    else if (t === ">") fwc = true;
  }
  return [pwc, fwc];
}

/** Go looks at each token's first character only. */
function tokensCanMatch(t1: string, t2: string): boolean {
  if (t1.length === 0 || t2.length === 0) return false;
  const c1 = t1[0];
  const c2 = t2[0];
  if (c1 === "*" || c2 === "*" || c1 === ">" || c2 === ">") return true;
  return t1 === t2;
}

/** nats-server's subjectInfo: valid (no empty token, `>` last), its tokens, `*` count, `>`. */
export function subjectInfo(
  subject: string,
): { tokens: string[]; pwcs: number; fwc: boolean } | undefined {
  if (subject === "") return undefined;
  const tokens = subject.split(".");
  let pwcs = 0;
  let fwc = false;
  for (const t of tokens) {
    if (t.length === 0 || fwc) return undefined;
    if (t === ">") fwc = true;
    else if (t === "*") pwcs++;
  }
  return { tokens, pwcs, fwc };
}
