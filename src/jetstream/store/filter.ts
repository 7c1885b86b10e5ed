/**
 * Subject filters for the stores. A filter is matched once per distinct subject (the stores
 * keep a table of subjects), never once per message, so the filter is split into tokens once.
 */

export type SubjectMatcher = (subject: string) => boolean;

/** True for "" and ">": the filters that select every message. */
export function isAllFilter(filter: string): boolean {
  return filter === "" || filter === ">";
}

export function hasWildcard(filter: string): boolean {
  for (const t of filter.split(".")) if (t === "*" || t === ">") return true;
  return false;
}

/** A matcher for `filter` (literal, `*` tokens, a trailing `>`) against literal subjects. */
export function compileFilter(filter: string): SubjectMatcher {
  if (isAllFilter(filter)) return () => true;
  if (!hasWildcard(filter)) return (s) => s === filter;
  const ft = filter.split(".");
  const tail = ft[ft.length - 1] === ">";
  const n = tail ? ft.length - 1 : ft.length;
  return (subject) => {
    let pos = 0;
    for (let i = 0; i < n; i++) {
      if (pos > subject.length) return false;
      let end = subject.indexOf(".", pos);
      if (end < 0) end = subject.length;
      const f = ft[i];
      if (f !== "*") {
        if (end - pos !== f.length || !subject.startsWith(f, pos)) return false;
      } else if (end === pos) return false;
      pos = end + 1;
    }
    // `>` needs at least one more token; otherwise the subject must end here.
    return tail ? pos < subject.length : pos === subject.length + 1;
  };
}
