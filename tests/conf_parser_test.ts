import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../src/conf/errors.ts";
import {
  type ConfNode,
  parseConfig,
  parseConfigFile,
  parseInteger,
  toPlain,
} from "../src/conf/parser.ts";

const noEnv = () => undefined;

function plain(text: string, env: (name: string) => string | undefined = noEnv): unknown {
  return toPlain(parseConfig(text, { file: "t.conf", env }));
}

function parseError(text: string, env: (name: string) => string | undefined = noEnv): ConfigError {
  return failure(() => parseConfig(text, { file: "t.conf", env }));
}

function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    return e;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("parser builds maps, arrays and typed scalars", () => {
  const text = [
    "a: 1",
    "b = -2",
    "c 1.5",
    "d: yes",
    "e: off",
    "f: 'single'",
    'g: "double"',
    "h: unquoted",
    "i: [1, two, 3.0, true, [x ], {k: v} ]",
    "j { k { l: 1 } }",
    "m: 2020-02-29T12:34:56Z",
  ].join("\n");
  assert.deepEqual(plain(text), {
    a: 1,
    b: -2,
    c: 1.5,
    d: true,
    e: false,
    f: "single",
    g: "double",
    h: "unquoted",
    i: [1, "two", 3, true, ["x"], { k: "v" }],
    j: { k: { l: 1 } },
    m: new Date(Date.UTC(2020, 1, 29, 12, 34, 56)),
  });
});

Deno.test("parser keeps value kinds so that mapping can tell 4222 from 4222.0", () => {
  const root = parseConfig("a: 4222\nb: 4222.0\nc: '4222'", { file: "t.conf" });
  assert.deepEqual([...root.values()].map((n) => n.kind), ["integer", "float", "string"]);
});

Deno.test("parser applies size suffixes as nats-server: k=1000, kb/ki/kib=1024", () => {
  const cases: [string, number | undefined][] = [
    ["1k", 1000],
    ["1K", 1000],
    ["1kb", 1024],
    ["1KB", 1024],
    ["1ki", 1024],
    ["1KiB", 1024],
    ["2m", 2_000_000],
    ["2mb", 2 * 1024 ** 2],
    ["3g", 3e9],
    ["3GB", 3 * 1024 ** 3],
    ["1t", 1e12],
    ["1tb", 1024 ** 4],
    ["1p", 1e15],
    ["1pb", 1024 ** 5],
    ["1e", 1e18],
    ["1eb", 2 ** 60],
    ["-5kb", -5120],
    ["16eb", 0], // int64 wraps around, as in Go
    ["1kbb", undefined], // unknown suffix: no value
  ];
  for (const [text, want] of cases) assert.equal(parseInteger(text), want, text);
  assert.equal(
    parseInteger("99999999999999999999"),
    "integer '99999999999999999999' is out of the range",
  );
});

Deno.test("parser drops a value with an unknown suffix but keeps the rest", () => {
  assert.deepEqual(plain("a: 1kbb\nb: 2"), { b: 2 });
});

Deno.test("parser records positions: keys for map members, own position in arrays", () => {
  const root = parseConfig("a: 1\n  b {\n    c: [x, 'y' ]\n  }", { file: "dir/t.conf" });
  assert.deepEqual(root.get("a")!.pos, { file: "dir/t.conf", line: 1, col: 0 });
  const b = root.get("b")!;
  assert.deepEqual(b.pos, { file: "dir/t.conf", line: 2, col: 3 });
  const c = (b.value as Map<string, ConfNode>).get("c")!;
  assert.deepEqual(c.pos, { file: "dir/t.conf", line: 3, col: 5 });
  const items = c.value as ConfNode[];
  assert.deepEqual(items.map((i) => [i.pos.line, i.pos.col]), [[3, 9], [3, 13]]);
});

Deno.test("parser resolves variables from the same or an enclosing block, defined earlier", () => {
  assert.deepEqual(plain("a: 1\nb { c: $a, a: 2, d: $a }\ne: $a"), {
    a: 1,
    b: { c: 1, a: 2, d: 2 },
    e: 1,
  });
  // Arrays do not hide the enclosing map.
  assert.deepEqual(plain("x: 5\nl: [ $x, { y: $x } ]"), { x: 5, l: [5, { y: 5 }] });
  // A whole block can be reused.
  assert.deepEqual(plain("perms { pub: a }\nu { p: $perms }"), {
    perms: { pub: "a" },
    u: { p: { pub: "a" } },
  });
});

Deno.test("parser marks variables as used so mapping can skip them", () => {
  const root = parseConfig("V: 1\nW: 2\nport: $V");
  assert.equal(root.get("V")!.usedVariable, true);
  assert.equal(root.get("W")!.usedVariable, false);
  assert.equal(root.get("port")!.usedVariable, false);
});

Deno.test("parser reads variables from the environment, typed as config values", () => {
  const env = (n: string) => ({ PORT: "4222", NAME: "srv", ON: "true", SIZE: "1kb" })[n];
  assert.deepEqual(plain("a: $PORT\nb: $NAME\nc: $ON\nd: $SIZE", env), {
    a: 4222,
    b: "srv",
    c: true,
    d: 1024,
  });
  // A block variable wins over the environment.
  assert.deepEqual(plain("PORT: 1\na: $PORT", env), { PORT: 1, a: 1 });
});

Deno.test("parser reports undefined and unparsable variables with nats-server's text", () => {
  assert.equal(
    parseError("a: 1\nb: $NOPE").message,
    "variable reference for 'NOPE' on line 2 can not be found",
  );
  assert.equal(
    parseError("a: $BAD", () => '"x').message,
    "variable reference for 'BAD' on line 1 could not be parsed: Parse error on line 1: 'Unexpected EOF.'",
  );
  // A variable is not visible before its definition, nor from a sibling block.
  assert.match(parseError("a: $b\nb: 1").message, /'b' on line 1 can not be found/);
  assert.match(parseError("x { y: 1 }\nz { w: $y }").message, /'y' on line 2 can not be found/);
});

Deno.test("parser stops self-referencing environment variables instead of recursing forever", () => {
  const e = parseError("a: $LOOP", () => "$LOOP");
  assert.match(e.message, /^variable reference for 'LOOP' on line 1 could not be parsed: /);
});

Deno.test("parser keeps unquoted bcrypt hashes as strings", () => {
  const hash = "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG";
  assert.deepEqual(plain(`password: ${hash}`), { password: hash });
  // Only the $2a$ prefix is special in nats-server 2.9; $2b$ is looked up as a variable.
  assert.match(parseError("p: $2b$11$abc").message, /variable reference for '2b\$11\$abc'/);
});

Deno.test("parser turns lexer errors into ConfigError with nats-server's text", () => {
  const e = parseError("a: 1\nb: [1, 2");
  assert.equal(
    e.message,
    `Parse error on line 2: 'Expected an array value terminator "," or an array terminator "]", but got '\u0000' instead.'`,
  );
  assert.ok(e instanceof SyntaxError);
  assert.equal(e.file, "t.conf");
  assert.equal(e.line, 2);
});

Deno.test("parser reports bad numbers and dates with nats-server's text", () => {
  assert.equal(
    parseError("a: 99999999999999999999").message,
    "integer '99999999999999999999' is out of the range",
  );
  assert.equal(
    parseError("a: 2020-02-30T00:00:00Z").message,
    "expected Zulu formatted DateTime, but got '2020-02-30T00:00:00Z'",
  );
  assert.equal(
    parseError(`a: 1${"0".repeat(400)}.5`).message,
    `float '1${"0".repeat(400)}.5' is out of the range`,
  );
});

Deno.test("parser processes values in order, so an early error wins over a later typo", () => {
  assert.match(parseError("a: $NOPE\nb: [").message, /^variable reference for 'NOPE'/);
});

Deno.test("parser leaves a dangling key without a value, as nats-server does", () => {
  assert.deepEqual(plain("a: 1\nfoo"), { a: 1 });
  // `cluster { port }` puts an empty map under "port" at the top level: the key stack decides.
  assert.deepEqual(plain("cluster { port }"), { port: {} });
});

Deno.test("parser reads block strings", () => {
  assert.deepEqual(plain("a (\n line 1\n line 2\n)\nb: 1"), { a: "\n line 1\n line 2\n", b: 1 });
});

Deno.test("parser includes files relative to the including file, in place", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(join(dir, "sub"));
    Deno.writeTextFileSync(
      join(dir, "main.conf"),
      "include sub/users.conf\nport: $p\nx { include 'sub/users.conf' }",
    );
    Deno.writeTextFileSync(join(dir, "sub", "users.conf"), 'p: 4222\ninclude "more.conf"');
    Deno.writeTextFileSync(join(dir, "sub", "more.conf"), "q: yes");
    const root = parseConfigFile(join(dir, "main.conf"), { env: noEnv });
    assert.deepEqual(toPlain(root), { p: 4222, q: true, port: 4222, x: { p: 4222, q: true } });
    assert.deepEqual(root.get("q")!.pos, { file: join(dir, "sub", "more.conf"), line: 1, col: 0 });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parser reports include problems as nats-server does", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const main = join(dir, "main.conf");
    Deno.writeTextFileSync(main, "include nope.conf");
    assert.equal(
      failure(() => parseConfigFile(main)).message,
      `error parsing include file 'nope.conf', open ${
        join(dir, "nope.conf")
      }: no such file or directory`,
    );
    Deno.writeTextFileSync(main, "include bad.conf");
    Deno.writeTextFileSync(join(dir, "bad.conf"), "a: 1\nb: 'x");
    const e = failure(() => parseConfigFile(main));
    assert.equal(
      e.message,
      "error parsing include file 'bad.conf', Parse error on line 2: 'Unexpected EOF.'",
    );
    assert.equal(e.file, join(dir, "bad.conf"));
    assert.equal(e.line, 2);
    // Included files do not see the includer's variables.
    Deno.writeTextFileSync(main, "v: 1\ninclude var.conf");
    Deno.writeTextFileSync(join(dir, "var.conf"), "w: $v");
    assert.equal(
      failure(() => parseConfigFile(main, { env: noEnv })).message,
      "error parsing include file 'var.conf', variable reference for 'v' on line 1 can not be found",
    );
    // A cycle is an error, not a hang.
    Deno.writeTextFileSync(main, "include main.conf");
    assert.match(
      failure(() => parseConfigFile(main)).message,
      /^error parsing include file 'main.conf', include cycle/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parser reports a missing config file with Go's wording", () => {
  assert.equal(
    failure(() => parseConfigFile("/nonexistent/x.conf")).message,
    "open /nonexistent/x.conf: no such file or directory",
  );
});

Deno.test("toPlain keeps keys such as __proto__ as plain data", () => {
  const out = plain("__proto__: 1\nconstructor: 2") as Record<string, unknown>;
  assert.deepEqual(Object.keys(out), ["__proto__", "constructor"]);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
});
