/**
 * Subject mappings: the transform functions, weighted and cluster-scoped destinations, the
 * `mappings` config block and its errors; then side by side with nats-server 2.9.10, which must
 * deliver every published subject where our Mappings.map() says, and print the same config
 * errors as ours (`nats-server -t`).
 */

import nodeAssert from "node:assert/strict";
import {
  SubjectMappingError,
  SubjectMatcher,
  SubjectTransform,
  validateMappingDestination,
} from "../src/accounts/transform.ts";
import { Mapping, Mappings } from "../src/accounts/mapping.ts";
import { parseMappings } from "../src/conf/mappings.ts";
import { type ConfNode, parseConfig, parseConfigFile } from "../src/conf/parser.ts";
import { HAVE_NATS_SERVER, RawClient, waitFor } from "./helpers.ts";
import { freePort } from "./process_helpers.ts";

const assert = (ok: boolean, msg?: string) => nodeAssert.ok(ok, msg);
const assertEquals = <T>(actual: T, expected: T, msg?: string) =>
  nodeAssert.deepEqual(actual, expected, msg);

/** Runs `fn`, which must throw an instance of `cls`; returns the error. */
// deno-lint-ignore no-explicit-any
function assertThrows<E extends Error>(fn: () => unknown, cls: new (...a: any[]) => E): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}

function tr(src: string, dest: string, subject: string): string | null {
  return SubjectTransform.compile(src, dest).apply(subject);
}

function compileError(src: string, dest: string): string {
  const e = assertThrows(() => SubjectTransform.compile(src, dest), SubjectMappingError);
  return e.message;
}

/** A generator of random() values that picks the given percentages in turn. */
function picks(...percent: number[]): () => number {
  let i = 0;
  return () => percent[i++ % percent.length] / 100;
}

// ---- transforms ----

Deno.test("transform: literal source maps to its destination as written", () => {
  assertEquals(tr("foo", "bar", "foo"), "bar");
  assertEquals(tr("foo", "bar", "foo.x"), null);
  assertEquals(tr("foo", "bar", "fo"), null);
  // A literal source never expands placeholders, and nats-server does not check them.
  assertEquals(tr("foo", "bar.$1", "foo"), "bar.$1");
  assertEquals(tr("foo", "bar.{{partition(x)}}", "foo"), "bar.{{partition(x)}}");
});

Deno.test("transform: $n and {{wildcard(n)}} place wildcard tokens", () => {
  assertEquals(tr("foo.*.bar.*.baz", "req.$2.$1", "foo.A.bar.B.baz"), "req.B.A");
  assertEquals(tr("foo.*.bar.*.baz", "req.$2.$1", "foo.A.bar.B.bat"), null);
  assertEquals(tr("*", "foo.bar.$1", "foo"), "foo.bar.foo");
  assertEquals(tr("a.*.*", "{{wildcard(2)}}.{{ Wildcard (1) }}", "a.x.y"), "y.x");
  assertEquals(tr("a.*.*", "$1.$1.$2", "a.x.y"), "x.x.y");
  // Counting placeholders (not distinct ones) is nats-server's rule: $1 twice uses "both".
  assertEquals(tr("a.*.*", "$1.$1", "a.x.y"), "x.x");
  // $0 and negative numbers are accepted and read the first token.
  assertEquals(tr("d.*", "$0.$-1.$1", "d.a"), "d.d.a");
  // `$foo`, `$`, `{{}}` are literal tokens.
  assertEquals(tr("a.*", "$1.$foo.$.{{}}", "a.x"), "x.$foo.$.{{}}");
  assertEquals(tr("a.*", "$+1", "a.x"), "x");
});

Deno.test("transform: > carries the rest of the subject", () => {
  assertEquals(tr("baz.>", "my.pre.>", "baz.1.2.3"), "my.pre.1.2.3");
  assertEquals(tr("baz.>", ">", "baz.1.2.3"), "1.2.3");
  assertEquals(tr("baz.>", "x.>", "baz"), null);
  assertEquals(tr(">", "all.>", "a.b"), "all.a.b");
  assertEquals(tr("a.*.>", "b.$1.>", "a.x.y.z"), "b.x.y.z");
});

Deno.test("transform: subjects of many tokens", () => {
  const long = Array.from({ length: 100 }, (_, i) => `t${i}`).join(".");
  assertEquals(tr("t0.*.>", "x.$1.>", long), "x.t1." + long.split(".").slice(2).join("."));
  const src = Array(40).fill("*").join(".");
  const dest = Array.from({ length: 40 }, (_, i) => `$${40 - i}`).join(".");
  const subject = Array.from({ length: 40 }, (_, i) => `v${i}`).join(".");
  assertEquals(tr(src, dest, subject), subject.split(".").reverse().join("."));
});

Deno.test("transform: matching follows nats-server's isSubsetMatch", () => {
  const m = new SubjectMatcher("a.*.c");
  assert(m.matches("a.b.c"));
  assert(!m.matches("a.b"));
  assert(!m.matches("a.b.c.d"));
  assert(!m.matches("a..c"));
  assert(m.matches("a.*.c")); // a `*` published subject token matches only a `*`
  assert(!new SubjectMatcher("a.b.c").matches("a.*.c"));
  assert(new SubjectMatcher("a.>").matches("a.>")); // `>` in the source ends the walk first
  // A source token starting with `*` matches any token (its first character is what counts).
  assert(new SubjectMatcher("foo.*bar").matches("foo.xyz"));
  assertEquals(tr("foo.*bar", "baz", "foo.xyz"), "baz");
});

Deno.test("transform: partition hashes with FNV-1a 32 over the concatenated tokens", () => {
  // Expected values computed independently: fnv1a32(utf8(tokens joined with "")) % n.
  assertEquals(tr("p.*", "{{partition(10,1)}}", "p.a"), "0"); // 3826002220
  assertEquals(tr("p.*", "{{partition(7,1)}}", "p.foo"), "2"); // 2851307223
  // Every wildcard must be placed: one partition over two counts as one placeholder.
  assertEquals(tr("p.*.*", "{{partition(7,1,2)}}.$1", "p.foo.bar"), "0.foo"); // 3214735720
  assertEquals(tr("p.*.*", "{{partition(10, 2, 1)}}.$2", "p.b.a"), "6.a"); // "ab" 1294271946
  assertEquals(tr("p.*", "{{partition(10,1)}}", "p.é"), "7");
  assertEquals(tr("p.*", "{{partition(10,1)}}", "p.日本"), "1");
  assertEquals(tr("p.*", "{{partition(10,1)}}", "p.😀"), "6");
  // Go converts the count to uint32: -1 is 4294967295.
  assertEquals(tr("p.*", "{{partition(-1,1)}}", "p.a"), "3826002220");
  // nats-server crashes (divide by zero) on a count of 0; we use bucket 0.
  assertEquals(tr("p.*", "{{partition(0,1)}}", "p.a"), "0");
  assertEquals(tr("p.*.*", "x.{{Partition(3,1)}}.$2", "p.a.b"), "x.1.b");
});

Deno.test("transform: SplitFromLeft, SplitFromRight, SliceFromLeft, SliceFromRight, split", () => {
  assertEquals(tr("*", "{{splitfromleft(1,3)}}", "12345"), "123.45");
  assertEquals(tr("*", "{{SplitFromLeft(1,5)}}", "12345"), "12345");
  assertEquals(tr("*", "{{SplitFromLeft(1,0)}}", "12345"), "12345");
  assertEquals(tr("*", "{{SplitFromRight(1,3)}}", "12345"), "12.345");
  assertEquals(tr("*", "{{SplitFromRight(1,-1)}}", "12345"), "12345");
  assertEquals(tr("*", "{{SliceFromLeft(1,3)}}", "1234567890"), "123.456.789.0");
  assertEquals(tr("*", "{{SliceFromLeft(1,3)}}", "123456"), "123.456");
  assertEquals(tr("*", "{{SliceFromLeft(1,2)}}", "12345"), "12.34.5");
  assertEquals(tr("*", "{{SliceFromLeft(1,9)}}", "12345"), "12345");
  assertEquals(tr("*", "{{SliceFromRight(1,3)}}", "1234567890"), "1.234.567.890");
  assertEquals(tr("*", "{{SliceFromRight(1,3)}}", "123456"), "123.456");
  assertEquals(tr("*", "{{split(1,-)}}", "-abc-def--ghi-"), "abc.def.ghi");
  assertEquals(tr("*", "{{split(1,-)}}", "abc-def--ghi-"), "abc.def.ghi");
  assertEquals(tr("*", "{{split(1,-)}}", "abc"), "abc");
  assertEquals(tr("*", "{{split(1,--)}}", "a--b"), "a.b");
  assertEquals(tr("*", "{{split(1,)}}", "abc"), "a.b.c"); // an empty delimiter splits characters
  assertEquals(
    tr("*.*", "{{split(2,-)}}.{{splitfromleft(1,2)}}", "foo.-abc-def--ghij-"),
    "abc.def.ghij.fo.o",
  );
  // Positions and sizes count bytes, as Go slices strings.
  assertEquals(tr("*", "{{SplitFromLeft(1,2)}}", "éa"), "é.a");
});

Deno.test("transform: destination errors carry nats-server's texts", () => {
  const cases: [string, string, string][] = [
    [
      "foo.*.*",
      "bar.$2",
      "invalid mapping destination: not using all of the token wildcard(s) in bar.$2",
    ],
    [
      "foo.*.*",
      "bar.{{partition(3,1,2)}}",
      "invalid mapping destination: not using all of the token wildcard(s) in bar.{{partition(3,1,2)}}",
    ],
    ["foo", "", "invalid mapping destination: invalid subject in "],
    ["foo", "a..b", "invalid mapping destination: invalid subject in "],
    ["foo", "a.>.b", "invalid mapping destination: invalid subject in b"],
    ["foo", "a. b", "invalid mapping destination: invalid subject"],
    ["foo..", "bar", "invalid subject"],
    ["foo.*", "bar.*", "invalid subject"],
    ["foo.*", "bar.$1.>", "invalid subject"],
    ["foo.>", "bar.baz", "invalid subject"],
    ["foo", "bar.>", "invalid subject"],
    ["foo.*", "bar.$2", "invalid mapping destination: wildcard index out of range in $2: [2]"],
    [
      "foo.*",
      "foo.$foo",
      "invalid mapping destination: not using all of the token wildcard(s) in foo.$foo",
    ],
    [
      "foo.*",
      "foo.{{wildcard(2)}}",
      "invalid mapping destination: wildcard index out of range in {{wildcard(2)}}: [2]",
    ],
    [
      "foo.*",
      "foo.{{partition(2,1,3)}}",
      "invalid mapping destination: wildcard index out of range in {{partition(2,1,3)}}: [3]",
    ],
    [
      "foo.*",
      "foo.{{unimplemented(1)}}",
      "invalid mapping destination: unknown function in {{unimplemented(1)}}",
    ],
    [
      "foo",
      "foo.{{unimplemented(1)}}",
      "invalid mapping destination: unknown function in {{unimplemented(1)}}",
    ],
    [
      "foo.*",
      "foo.{{partition(10)}}",
      "invalid mapping destination: not enough arguments passed to the function in {{partition(10)}}",
    ],
    [
      "foo.*",
      "foo.{{partition(x,1)}}",
      "invalid mapping destination: function argument is invalid or in the wrong format in {{partition(x,1)}}",
    ],
    [
      "foo.*",
      "foo.{{partition(3,a)}}",
      "invalid mapping destination: function argument is invalid or in the wrong format in {{partition(3,a)}}",
    ],
    [
      "foo.*",
      "foo.{{wildcard(foo)}}",
      "invalid mapping destination: function argument is invalid or in the wrong format in {{wildcard(foo)}}",
    ],
    [
      "foo.*",
      "foo.{{wildcard()}}",
      "invalid mapping destination: not enough arguments passed to the function in {{wildcard()}}",
    ],
    [
      "foo.*",
      "foo.{{wildcard(1,2)}}",
      "invalid mapping destination: too many arguments passed to the function in {{wildcard(1,2)}}",
    ],
    [
      "foo.*",
      "foo.{{ wildcard5) }}",
      "invalid mapping destination: unknown function in {{ wildcard5) }}",
    ],
    [
      "foo.*",
      "foo.{{splitLeft(2,2}}",
      "invalid mapping destination: unknown function in {{splitLeft(2,2}}",
    ],
    [
      "foo.*",
      "foo.{{SplitFromLeft(1)}}",
      "invalid mapping destination: not enough arguments passed to the function in {{SplitFromLeft(1)}}",
    ],
    [
      "foo.*",
      "foo.{{SplitFromRight(1,2,3)}}",
      "invalid mapping destination: too many arguments passed to the function in {{SplitFromRight(1,2,3)}}",
    ],
    [
      "foo.*",
      "foo.{{SliceFromLeft(a,2)}}",
      "invalid mapping destination: function argument is invalid or in the wrong format in {{SliceFromLeft(a,2)}}",
    ],
    [
      "foo.*",
      "foo.{{SliceFromRight(1,b)}}",
      "invalid mapping destination: function argument is invalid or in the wrong format in {{SliceFromRight(1,b)}}",
    ],
    [
      "foo.*",
      "foo.{{split(1)}}",
      "invalid mapping destination: not enough arguments passed to the function in {{split(1)}}",
    ],
    [
      "foo.*",
      "foo.{{split(1,-,+)}}",
      "invalid mapping destination: too many arguments passed to the function in {{split(1,-,+)}}",
    ],
    [
      "foo.*",
      "foo.{{split(1,a b)}}",
      "invalid mapping destination: function argument is invalid or in the wrong format in {{split(1,a b)}}",
    ],
    [
      "foo.*",
      "foo.{{split(x,-)}}",
      "invalid mapping destination: function argument is invalid or in the wrong format in {{split(x,-)}}",
    ],
  ];
  for (const [src, dest, msg] of cases) {
    assertEquals(compileError(src, dest), msg, `${src} -> ${dest}`);
  }
  const e = assertThrows(() => validateMappingDestination("a.{{nope()}}"), SubjectMappingError);
  assertEquals([e.code, e.token], ["unknown-function", "{{nope()}}"]);
  // Imports compile without the mappings' destination check, as nats-server's newTransform.
  const t = SubjectTransform.compile("foo", "a. b", { validateDestination: false });
  assertEquals(t.apply("foo"), "a. b");
});

// ---- weighted mappings ----

Deno.test("mapping: weights pick by cumulative percentage, lightest first", () => {
  const m = Mapping.compile("w", [
    { subject: "w.b", weight: 50 },
    { subject: "w.a", weight: 30 },
  ], { random: picks(0, 19, 20, 49, 50, 99) });
  // Sorted ascending: the 20% remainder (original subject), then w.a (30), then w.b (50).
  assertEquals([0, 1, 2, 3, 4, 5].map(() => m.map("w")), ["w", "w", "w.a", "w.a", "w.b", "w.b"]);
  assertEquals(m.map("x"), null);
  assert(!m.deterministic);
});

Deno.test("mapping: the remainder is dropped when the source is listed", () => {
  const m = Mapping.compile("s", [
    { subject: "s", weight: 40 },
    { subject: "s.x", weight: 40 },
  ], { random: picks(10, 50, 85) });
  assertEquals([m.map("s"), m.map("s"), m.map("s")], ["s", "s.x", ""]);
});

Deno.test("mapping: a wildcard source's remainder keeps the subject", () => {
  const m = Mapping.compile("a.*.>", [{ subject: "b.$1.>", weight: 60 }], {
    random: picks(10, 50),
  });
  assertEquals([m.map("a.x.y.z"), m.map("a.x.y.z")], ["a.x.y.z", "b.x.y.z"]);
});

Deno.test("mapping: one destination at 100 needs no random draw", () => {
  const m = Mapping.simple("foo.*", "bar.$1", {
    random: () => {
      throw new Error("drawn");
    },
  });
  assertEquals(m.map("foo.x"), "bar.x");
  assert(m.deterministic);
});

Deno.test("mapping: cluster entries apply on their cluster, others use the plain entries", () => {
  const m = Mapping.compile("c", [
    { subject: "c.east", weight: 100, cluster: "east" },
  ]);
  assertEquals(m.map("c", "east"), "c.east");
  assertEquals(m.map("c", "west"), "c"); // no plain entry: the original subject
  assertEquals(m.map("c"), "c");
  const listed = Mapping.compile("d", [
    { subject: "d", weight: 60, cluster: "east" },
    { subject: "d.any", weight: 40 },
  ], { random: picks(10, 70, 10, 70) });
  assertEquals([listed.map("d", "east"), listed.map("d", "east")], ["d", ""]);
  assertEquals([listed.map("d", "west"), listed.map("d", "west")], ["d.any", ""]);
});

Deno.test("mapping: weight and duplicate errors", () => {
  const err = (dests: { subject: string; weight: number; cluster?: string }[], src = "foo") =>
    assertThrows(() => Mapping.compile(src, dests), SubjectMappingError).message;
  assertEquals(err([{ subject: "a", weight: 101 }]), "individual weights need to be <= 100");
  assertEquals(
    err([{ subject: "a", weight: 60 }, { subject: "b", weight: 41, cluster: "x" }]),
    "total weight needs to be <= 100",
  );
  assertEquals(
    err([{ subject: "a", weight: 10 }, { subject: "a", weight: 10, cluster: "x" }]),
    'duplicate entry for "a"',
  );
  assertEquals(err([{ subject: "a", weight: 10 }], "foo bar"), "invalid subject");
  assertEquals(err([{ subject: "a", weight: 10 }], "foo.>.x"), "invalid subject");
  assertEquals(
    err([{ subject: "a", weight: 10 }], "foo.*"),
    "invalid mapping destination: not using all of the token wildcard(s) in a",
  );
  assertThrows(() => Mapping.compile("foo", [{ subject: "a", weight: 1.5 }]), RangeError);
});

Deno.test("mappings: first matching source wins; same source replaces; removal swaps", () => {
  const ms = new Mappings([
    Mapping.simple("a.*", "first.$1"),
    Mapping.simple("a.b", "second"),
    Mapping.simple("x", "y"),
  ]);
  assertEquals(ms.map("a.b"), "first.b");
  assertEquals(ms.map("x"), "y");
  assertEquals(ms.map("zzz"), null);
  ms.add(Mapping.simple("a.*", "again.$1"));
  assertEquals([...ms].map((m) => m.source), ["a.*", "a.b", "x"]);
  assertEquals(ms.map("a.c"), "again.c");
  assert(ms.remove("a.*"));
  assert(!ms.remove("a.*"));
  assertEquals([...ms].map((m) => m.source), ["x", "a.b"]);
  assertEquals(ms.map("a.b"), "second");
  assert(ms.deterministic);
  ms.add(Mapping.compile("r", [{ subject: "r.1", weight: 50 }]));
  assert(!ms.deterministic);
  assertEquals(ms.size, 3);
  const compiled = Mappings.compile([{
    subject: "q",
    destinations: [{ subject: "z", weight: 100 }],
  }]);
  assertEquals(compiled.map("q"), "z");
});

// ---- the config block ----

function mappingsNode(text: string, file = "m.conf"): ConfNode {
  return parseConfig(text, { file }).get("mappings")!;
}

Deno.test("config: the forms of a mappings block", () => {
  const r = parseMappings(mappingsNode(`mappings {
    foo: bar
    "foo.*": "bar.$1"
    w: [{destination: w.a, weight: 50%}, {dest: w.b, weight: "20"}, {destination: w.c, weight: 10, cluster: east}]
    one: {destination: one.x, weight: 100}
  }`));
  assertEquals(r.errors, []);
  assertEquals(r.definitions, [
    { subject: "foo", destinations: [{ subject: "bar", weight: 100 }] },
    { subject: "foo.*", destinations: [{ subject: "bar.$1", weight: 100 }] },
    {
      subject: "w",
      destinations: [
        { subject: "w.a", weight: 50 },
        { subject: "w.b", weight: 20 },
        { subject: "w.c", weight: 10, cluster: "east" },
      ],
    },
    { subject: "one", destinations: [{ subject: "one.x", weight: 100 }] },
  ]);
  const ms = Mappings.compile(r.definitions);
  assertEquals([ms.map("foo"), ms.map("foo.q"), ms.map("one")], ["bar", "bar.q", "one.x"]);
});

Deno.test("config: an account's mappings block reads the same way", () => {
  const root = parseConfig(`accounts { A: { mappings: { "a.*": "b.$1" } } }`, { file: "a.conf" });
  const acc = root.get("accounts")!;
  if (acc.kind !== "map") throw new Error("accounts is a map");
  const a = acc.value.get("A")!;
  if (a.kind !== "map") throw new Error("A is a map");
  const r = parseMappings(a.value.get("mappings")!);
  assertEquals(r, {
    definitions: [{ subject: "a.*", destinations: [{ subject: "b.$1", weight: 100 }] }],
    errors: [],
  });
});

/** Bad configs and nats-server 2.9.10's exact output (checked side by side below). */
const BAD_CONFIGS: [string, string[]][] = [
  [`mappings { "foo.*": "bar.$2" }`, [
    `m.conf:1:12: Error adding mapping for "foo.*" to "bar.$2" : invalid mapping destination: wildcard index out of range in $2: [2]`,
  ]],
  [`mappings { "foo bar": baz }`, [`m.conf:1:0: Subject "foo bar" is not a valid subject`]],
  [`mappings { foo: [{destination: a, weight: 50%}, {destination: b, weight: 60%}] }`, [
    `m.conf:1:77: interface conversion: interface {} is []interface {}, not string`,
  ]],
  [`mappings { foo: [{destination: a, weight: 150}] }`, [
    `m.conf:1:34: Invalid weight 150 for mapping destination`,
  ]],
  [`mappings { foo: [{destination: a, weight: "150%"}] }`, [
    `m.conf:1:34: Invalid weight 150 for mapping destination`,
  ]],
  [`mappings { foo: [{destination: a, weight: "x%"}] }`, [
    `m.conf:1:34: Invalid weight "x" for mapping destination`,
  ]],
  [`mappings { foo: [{destination: a, weight: 5.5}] }`, [
    `m.conf:1:34: Unknown entry type for weight of 5.5\n`,
  ]],
  [`mappings { foo: [{destination: a, weight: -5}] }`, [
    `m.conf:1:34: Invalid weight -5 for mapping destination`,
  ]],
  [`mappings { foo: [{destination: a}] }`, [
    `m.conf:1:33: Missing weight for mapping destination "a"`,
  ]],
  [`mappings { foo: [{destination: a, weight: 10, color: red}] }`, [
    `m.conf:1:46: Unknown field "color" for mapping destination`,
  ]],
  [`mappings { foo: [{destination: 5, weight: 10}] }`, [
    `m.conf:1:45: interface conversion: interface {} is int64, not string`,
  ]],
  [`mappings { foo: [{destination: a, weight: 10, cluster: 7}] }`, [
    `m.conf:1:57: interface conversion: interface {} is int64, not string`,
  ]],
  [`mappings { foo: [a, b] }`, [
    `m.conf:1:17: Expected an entry for the mapping destination`,
    `m.conf:1:20: Expected an entry for the mapping destination`,
  ]],
  [`mappings { foo: 5 }`, [`m.conf:1:11: Expected an entry for the mapping destination`]],
  [`mappings { foo: {destination: "a.*", weight: 20} }`, [
    `m.conf:1:11: interface conversion: interface {} is map[string]interface {}, not string`,
  ]],
  [`mappings: 5`, [
    `m.conf:1:0: interface conversion: interface {} is int64, not map[string]interface {}`,
  ]],
  [`mappings { foo: [{destination: a, weight: 50}, {destination: a, weight: 20}] }`, [
    `m.conf:1:75: interface conversion: interface {} is []interface {}, not string`,
  ]],
  [`mappings { "foo.*": "bar.{{partition(x,1)}}" }`, [
    `m.conf:1:12: Error adding mapping for "foo.*" to "bar.{{partition(x,1)}}" : invalid mapping destination: function argument is invalid or in the wrong format in {{partition(x,1)}}`,
  ]],
  [`mappings { foo: "bar.{{nope(1)}}" }`, [
    `m.conf:1:11: Error adding mapping for "foo" to "bar.{{nope(1)}}" : invalid mapping destination: unknown function in {{nope(1)}}`,
  ]],
  [`mappings { foo: "bar. x" }`, [
    `m.conf:1:11: Error adding mapping for "foo" to "bar. x" : invalid mapping destination: invalid subject`,
  ]],
  [`mappings { foo: "bar..x" }`, [
    `m.conf:1:11: Error adding mapping for "foo" to "bar..x" : invalid mapping destination: invalid subject in `,
  ]],
  [`mappings { "foo.>": "bar" }`, [
    `m.conf:1:12: Error adding mapping for "foo.>" to "bar" : invalid subject`,
  ]],
  [`mappings { "foo.*.*": "bar.{{partition(3,1,2)}}" }`, [
    `m.conf:1:12: Error adding mapping for "foo.*.*" to "bar.{{partition(3,1,2)}}" : invalid mapping destination: not using all of the token wildcard(s) in bar.{{partition(3,1,2)}}`,
  ]],
  [`mappings { "foo.*": "bar.{{split(1,a b)}}" }`, [
    `m.conf:1:12: Error adding mapping for "foo.*" to "bar.{{split(1,a b)}}" : invalid mapping destination: function argument is invalid or in the wrong format in {{split(1,a b)}}`,
  ]],
  [`mappings { baz: [{destination: q, weight: "5 %"}] }`, [
    `m.conf:1:34: Invalid weight "5 " for mapping destination`,
  ]],
  [
    `mappings {\n  foo: {destination: a, weight: 10}\n  bar: [\n    {destination: b, weight: 10}\n    {dest: c, weight: 95}\n  ]\n}`,
    [
      `m.conf:5:26: interface conversion: interface {} is []interface {}, not string`,
    ],
  ],
];

/** Valid configs (nats-server -t accepts them too). */
const GOOD_CONFIGS = [
  `mappings { foo: bar }`,
  `maps { foo: bar }`,
  `mappings { "foo.*": "bar.{{wildcard(1)}}", baz: [{destination: q, weight: "5%"}] }`,
  `mappings { "a.*.*": "{{partition(5, 1, 2)}}.{{ SplitFromLeft(1, 2) }}.$2" }`,
  `mappings { "a": "x.{{partition(5, 1, 2)}}" }`,
  `mappings { w: [{destination: w, weight: 10}, {destination: w.c, weight: 90, cluster: east}] }`,
  `mappings { e: [] }`,
];

function ourErrors(text: string, file: string): string[] {
  const root = parseConfig(text, { file });
  const node = root.get("mappings") ?? root.get("maps");
  return node ? parseMappings(node).errors.map((e) => e.message) : [];
}

Deno.test("config: errors with nats-server's texts and positions", () => {
  for (const [text, expected] of BAD_CONFIGS) {
    assertEquals(ourErrors(text, "m.conf"), expected, text);
  }
  for (const text of GOOD_CONFIGS) assertEquals(ourErrors(text, "m.conf"), [], text);
  const e = parseMappings(mappingsNode(`mappings { foo: "a..b" }`)).errors[0];
  assertEquals([e.file, e.line, e.col], ["m.conf", 1, 11]);
});

// ---- side by side with nats-server ----

interface NatsServer extends AsyncDisposable {
  port: number;
}

async function natsServer(confBody: string): Promise<NatsServer> {
  const port = freePort();
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(conf, `listen: "127.0.0.1:${port}"\n${confBody}\n`);
  const child = new Deno.Command("nats-server", {
    args: ["-c", conf],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const ready = async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  };
  try {
    await waitFor(ready, "nats-server to listen");
  } catch (e) {
    if ((await Promise.race([child.status, null])) === null) child.kill("SIGKILL");
    await child.status;
    await Deno.remove(conf);
    throw e;
  }
  return {
    port,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(conf);
    },
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Publishes each subject once (payload = its index) to a server where one client listens on
 * `>`; returns the subject each arrived on, or null when it was not delivered.
 */
async function deliveries(port: number, subjects: string[]): Promise<(string | null)[]> {
  await using c = await RawClient.connect(port);
  await c.send('CONNECT {"verbose":false,"pedantic":false}\r\nSUB > 1\r\nPING\r\n');
  await c.waitText((t) => t.includes("PONG\r\n"), "PONG");
  c.clear();
  const parts: Uint8Array[] = [];
  subjects.forEach((s, i) => {
    const body = String(i);
    parts.push(enc.encode(`PUB ${s} ${body.length}\r\n${body}\r\n`));
  });
  for (const p of parts) await c.send(p);
  const text = await c.roundTrip(15000);
  const out: (string | null)[] = subjects.map(() => null);
  const lines = text.split("\r\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^MSG (\S+) 1 \d+$/.exec(lines[i]);
    if (!m) continue;
    out[Number(lines[++i])] = m[1];
  }
  return out;
}

/** What our mappings say: the subject itself when no mapping applies, null when dropped. */
function ourDeliveries(ms: Mappings, subjects: string[], cluster = ""): (string | null)[] {
  return subjects.map((s) => {
    const r = ms.map(s, cluster);
    return r === null ? s : r === "" ? null : r;
  });
}

function oursFromConfig(body: string): Mappings {
  const r = parseMappings(parseConfig(body).get("mappings")!);
  assertEquals(r.errors, []);
  return Mappings.compile(r.definitions);
}

// Sources do not overlap: nats-server keeps config mappings in Go's random map order.
const SIDE_BY_SIDE_MAPPINGS = `mappings {
  lit: lit.mapped
  "one.*": "uno.$1"
  "two.*.*": "dos.$2.{{wildcard(1)}}"
  "tail.>": "t.>"
  "mid.*.>": "m.$1.x.>"
  "p.*": "p.{{partition(10,1)}}.$1"
  "pp.*.*": "pp.{{partition(7,2,1)}}.$1.$2"
  "neg.*": "neg.{{partition(-1,1)}}"
  "sl.*": "sl.{{SplitFromLeft(1,2)}}"
  "sr.*": "sr.{{SplitFromRight(1,2)}}"
  "cl.*": "cl.{{SliceFromLeft(1,3)}}"
  "cr.*": "cr.{{SliceFromRight(1,3)}}"
  "sp.*": "sp.{{split(1,-)}}"
  "z.*": "$0.$-1.$1"
  "star.*x": "starred"
  "w.*": "{{ Wildcard( 1 ) }}.w"
  lit2: "lit2.$1"
  "q.$1.*": [{destination: "r.$1", weight: 0}]
}`;

const SIDE_BY_SIDE_SUBJECTS = [
  "lit",
  "lit.x",
  "one.a",
  "one.a.b",
  "two.a.b",
  "tail.a",
  "tail.a.b.c",
  "tail",
  "mid.a.b",
  "mid.a.b.c",
  "mid.a",
  "p.a",
  "p.foo",
  "p.é",
  "p.日本",
  "pp.a.b",
  "pp.x.y",
  "neg.a",
  "sl.abcdef",
  "sl.a",
  "sr.abcdef",
  "sr.ab",
  "cl.abcdefgh",
  "cl.abc",
  "cr.abcdefgh",
  "cr.ab",
  "sp.-a-b--c-",
  "sp.a-b",
  "z.q",
  "star.anything",
  "w.v",
  "lit2",
  "other",
];

Deno.test({
  name: "side by side: nats-server delivers where our mappings say",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    await using ns = await natsServer(SIDE_BY_SIDE_MAPPINGS);
    const theirs = await deliveries(ns.port, SIDE_BY_SIDE_SUBJECTS);
    const ours = ourDeliveries(oursFromConfig(SIDE_BY_SIDE_MAPPINGS), SIDE_BY_SIDE_SUBJECTS);
    assertEquals(
      Object.fromEntries(SIDE_BY_SIDE_SUBJECTS.map((s, i) => [s, ours[i]])),
      Object.fromEntries(SIDE_BY_SIDE_SUBJECTS.map((s, i) => [s, theirs[i]])),
    );
  },
});

Deno.test({
  name: "side by side: partition agrees with nats-server on many subjects",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const body = `mappings {
      "h.*": "h.{{partition(1000,1)}}"
      "h2.*.*.*": "h2.{{partition(97,3,1,2)}}.$2.$1"
    }`;
    const alphabet = "abcXYZ019-_é日😀";
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const token = () =>
      Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => {
        const chars = Array.from(alphabet);
        return chars[Math.floor(rnd() * chars.length)];
      }).join("");
    const subjects: string[] = [];
    for (let i = 0; i < 300; i++) subjects.push(`h.${token()}`);
    for (let i = 0; i < 200; i++) subjects.push(`h2.${token()}.${token()}.${token()}`);
    await using ns = await natsServer(body);
    const theirs = await deliveries(ns.port, subjects);
    const ours = ourDeliveries(oursFromConfig(body), subjects);
    assertEquals(ours, theirs);
    assert(new Set(theirs).size > 100); // the buckets really spread
  },
});

function counts(xs: (string | null)[]): Map<string | null, number> {
  const m = new Map<string | null, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** Every observed share within `tolerance` of the expected percentage. */
function assertShares(
  observed: (string | null)[],
  expected: Record<string, number>,
  tolerance = 6,
): void {
  const c = counts(observed);
  const keys = new Set([...c.keys()].map((k) => String(k)));
  assertEquals(keys, new Set(Object.keys(expected)));
  for (const [k, pct] of Object.entries(expected)) {
    const got = ((c.get(k === "null" ? null : k) ?? 0) * 100) / observed.length;
    assert(Math.abs(got - pct) <= tolerance, `${k}: ${got}% (expected ${pct}%)`);
  }
}

Deno.test({
  name: "side by side: weighted destinations split traffic the same way",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const body = `mappings {
      w: [{destination: w.a, weight: 30%}, {destination: w.b, weight: 50}]
      d: [{destination: d, weight: 40}, {destination: d.x, weight: 40}]
    }`;
    const n = 2000;
    const subjects = [...Array(n).fill("w"), ...Array(n).fill("d")];
    await using ns = await natsServer(body);
    const theirs = await deliveries(ns.port, subjects);
    const ours = ourDeliveries(oursFromConfig(body), subjects);
    for (const side of [theirs, ours]) {
      assertShares(side.slice(0, n), { "w.a": 30, "w.b": 50, w: 20 });
      assertShares(side.slice(n), { d: 40, "d.x": 40, null: 20 });
    }
  },
});

Deno.test({
  name: "side by side: cluster-scoped destinations follow the server's cluster name",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const body = `cluster { name: east, listen: "127.0.0.1:-1" }
mappings {
  c1: [{destination: c1.east, weight: 100, cluster: east}]
  c2: [{destination: c2.west, weight: 100, cluster: west}]
  c3: [{destination: c3.east, weight: 100, cluster: east}, {destination: c3.any, weight: 0}]
  c4: [{destination: c4, weight: 100, cluster: west}]
}`;
    const subjects = ["c1", "c2", "c3", "c1.x", "c4"];
    await using ns = await natsServer(body);
    const theirs = await deliveries(ns.port, subjects);
    const r = parseMappings(parseConfig(body).get("mappings")!);
    const ours = ourDeliveries(Mappings.compile(r.definitions), subjects, "east");
    assertEquals(ours, theirs);
    // c4 names its own source (on another cluster): nothing is left for this one.
    assertEquals(theirs, ["c1.east", "c2", "c3.east", "c1.x", null]);
  },
});

Deno.test({
  name: "side by side: nats-server -t prints the same mapping errors",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const configs = [...BAD_CONFIGS.map(([t]) => t), ...GOOD_CONFIGS];
      for (let i = 0; i < configs.length; i++) {
        const path = `${dir}/m${i}.conf`;
        await Deno.writeTextFile(path, configs[i]);
        const out = await new Deno.Command("nats-server", {
          args: ["-t", "-c", path],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = dec.decode(out.stderr);
        const root = parseConfigFile(path);
        const node = root.get("mappings") ?? root.get("maps")!;
        const ours = parseMappings(node).errors;
        if (ours.length === 0) {
          assertEquals([out.code, text], [0, `nats-server: configuration file ${path} is valid\n`]);
          continue;
        }
        assertEquals(out.code, 1, configs[i]);
        // nats-server prints each error and a newline, then one more newline.
        const theirs = text.replace(/^nats-server: /, "").slice(0, -1);
        const mine = ours.map((e) => e.message + "\n");
        if (ours.length === 1) assertEquals(theirs, mine[0], configs[i]);
        else {
          // Several errors come in Go's random map order: compare them as sets.
          const lines = (s: string) => s.split("\n").filter((l) => l !== "").sort();
          assertEquals(lines(theirs), lines(mine.join("")), configs[i]);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
