/**
 * The `accounts` block and the account keys around it (system_account, no_system_account,
 * no_auth_user, mappings kept raw), against nats-server 2.9.10: every error text and position is
 * checked against `nats-server -t -c` when it is installed. nats-server walks a block's keys in
 * Go's random map order, so some configs get different errors from run to run; for those the
 * reference is run until it prints ours (our choice, the file's order, is always one of its).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfigString } from "../src/config.ts";
import { checkAccounts } from "../src/conf/accounts_check.ts";
import {
  type AccountOptions,
  defaultAccountLimits,
  defaultOptions,
  mergeOptions,
  type PartialOptions,
  validateOptions,
} from "../src/options.ts";
import { isSubsetMatch, subjectIsLiteral, subjectsCollide } from "../src/subjects.ts";
import { HAVE_NATS_SERVER } from "./helpers.ts";

const CONFIGS = new URL("../configs/accounts/", import.meta.url).pathname;
const dec = new TextDecoder();

/** Our error message for a config named x.conf, as nats-server prints it after "nats-server: ". */
function errorOf(text: string): string {
  try {
    parseConfigString(text, "x.conf");
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    return e.message;
  }
  return "";
}

/**
 * Runs `nats-server -t -c x.conf` (or, with `start`, starts it) on the text until it prints
 * `want` or `tries` runs are done; returns what it printed, without the "nats-server: " prefix
 * and with "" for a valid config.
 */
async function reference(text: string, want: string, start = false, tries = 25): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "x.conf"), text);
    const seen = new Set<string>();
    for (let i = 0; i < tries; i++) {
      const args = start ? ["-c", "x.conf", "-a", "127.0.0.1", "-p", "-1"] : ["-t", "-c", "x.conf"];
      const out = await new Deno.Command("nats-server", {
        args,
        cwd: dir,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      let got = dec.decode(out.stderr).replace(/^nats-server: /, "").replace(/\n+$/, "");
      if (got === "configuration file x.conf is valid") got = "";
      seen.add(got);
      if (got === want) break;
    }
    return [...seen];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function assertSameAsReference(text: string, want: string): Promise<void> {
  if (!HAVE_NATS_SERVER) return;
  const seen = await reference(text, want);
  assert.ok(seen.includes(want), `nats-server printed ${JSON.stringify(seen)}`);
}

/** [what, config, our message (and nats-server's)] */
const ERRORS: [string, string, string][] = [
  [
    "a list names each account once",
    `accounts: [A, B, A, "$G"]`,
    `x.conf:1:17: Duplicate Account Entry: A
x.conf:1:21: "$G" is a Reserved Account`,
  ],
  [
    "a list entry must be a string",
    `accounts: [A, 5, B]`,
    `x.conf:1:14: interface conversion: interface {} is int64, not string`,
  ],
  [
    "$G cannot be defined",
    `accounts {
  $G {}
}`,
    `x.conf:2:3: "$G" is a Reserved Account`,
  ],
  [
    "an account is a map",
    `accounts {
  foo = "bar"
}`,
    `x.conf:2:3: Expected map entries for accounts`,
  ],
  [
    "an account nkey is a public account key",
    `accounts { A { nkey: "UCARKS2E3KVB7YORL2DG34XLT7PUCOL2SVM7YXV6ETHLW6Z46UUJ2VZ3" } }`,
    `x.conf:1:15: Not a valid public nkey for an account: "UCARKS2E3KVB7YORL2DG34XLT7PUCOL2SVM7YXV6ETHLW6Z46UUJ2VZ3"`,
  ],
  [
    "an account nkey of another type",
    `accounts { A { nkey: 5 } }`,
    `x.conf:1:15: Not a valid public nkey for an account: '\\x05'`,
  ],
  [
    "unknown keys at every level",
    `accounts { A { foo: 1, exports: [{stream: x, bar: 1}], imports: [{stream: {account: A, subject: x, baz: 1}, qux: 2}] } }`,
    `x.conf:1:15: unknown field "foo"
x.conf:1:45: unknown field "bar"
x.conf:1:99: unknown field "baz"
x.conf:1:108: unknown field "qux"`,
  ],
  [
    "default_permission (singular) is unknown in an account",
    `accounts { A { default_permission: {} } }`,
    `x.conf:1:15: unknown field "default_permission"`,
  ],
  [
    "default_permissions must be a map",
    `accounts { A { default_permissions: 5 } }`,
    `x.conf:1:15: Expected permissions to be a map/struct, got 5`,
  ],
  [
    "users must be an array (no position, as nats-server)",
    `accounts { A { users: 5 } }`,
    `Expected users field to be an array, got 5`,
  ],
  [
    "a user entry needs a user",
    `accounts { A { users: [{password: x}] } }`,
    `x.conf:1:24: User entry requires a user`,
  ],
  [
    "nkey users take no username",
    `accounts { A { users: [{nkey: "UCARKS2E3KVB7YORL2DG34XLT7PUCOL2SVM7YXV6ETHLW6Z46UUJ2VZ3", user: x}] } }`,
    `x.conf:1:90: Nkey users do not take usernames or passwords`,
  ],
  [
    "a user nkey must be a user key",
    `accounts { A { users: [{nkey: "AC5GRL36RQV7MJ2GT6WQSCKDKJKYTK4T2LGLWJ2SEJKRDHFOQQWGGFQL"}] } }`,
    `x.conf:1:24: Not a valid public nkey for a user`,
  ],
  [
    "users are unique within an account",
    `accounts = {
  nats {
    users = [
      { user: "foo", pass: "bar" },
      { user: "hello", pass: "world" },
      { user: "foo", pass: "bar" }
    ]
  }
}`,
    `x.conf:3:5: Duplicate user "foo" detected`,
  ],
  [
    "users are unique across accounts",
    `accounts { A { users: [{user: a, password: a}] }
B { users: [{user: b, password: b}, {user: a, password: x}] } }`,
    `x.conf:2:5: Duplicate user "a" detected`,
  ],
  [
    "an accounts user may not repeat an authorization user",
    `authorization { users: [{user: a, password: a}] }
accounts { B { users: [{user: b, password: b}, {user: a, password: x}] } }`,
    `x.conf:2:16: Duplicate user "a" detected`,
  ],
  [
    "an authorization user may not repeat an accounts user",
    `accounts { B { users: [{user: b, password: b}, {user: a, password: x}] } }
authorization { users: [{user: a, password: a}] }`,
    `x.conf:2:1: Duplicate user "a" detected`,
  ],
  [
    "nkeys are unique across accounts and authorization",
    `authorization { users: [{nkey: "UCARKS2E3KVB7YORL2DG34XLT7PUCOL2SVM7YXV6ETHLW6Z46UUJ2VZ3"}] }
accounts { A { users: [{nkey: "UCARKS2E3KVB7YORL2DG34XLT7PUCOL2SVM7YXV6ETHLW6Z46UUJ2VZ3"}] } }`,
    `x.conf:2:16: Duplicate nkey "UCARKS2E3KVB7YORL2DG34XLT7PUCOL2SVM7YXV6ETHLW6Z46UUJ2VZ3" detected`,
  ],
  [
    "a single user/pass then accounts users",
    `authorization { user: x, password: y }
accounts { A { users: [{user: a, password: a}] } }`,
    `x.conf:2:16: Can not have a single user/pass and accounts`,
  ],
  [
    "a token then accounts users",
    `authorization { token: abc }
accounts { A { users: [{user: a}] } }`,
    `x.conf:2:16: Can not have a token and accounts`,
  ],
  [
    "accounts users then a single user/pass",
    `accounts { A { users: [{user: a, password: a}] } }
authorization { user: x, password: y }`,
    `x.conf:2:1: Can not have a single user/pass and a users array`,
  ],
  [
    "accounts users then a token",
    `accounts { A { users: [{user: a, password: a}] } }
authorization { token: y }`,
    `x.conf:2:1: Can not have a token and a users array`,
  ],
  [
    "limits must be a map",
    `accounts { A { limits: "x" } }`,
    `x.conf:1:15: Expected account limits to be a map/struct, got x`,
  ],
  [
    "limits are integers",
    `accounts { A { limits: { max_conn: "x" } } }`,
    `x.conf:1:25: interface conversion: interface {} is string, not int64`,
  ],
  [
    "limits know their keys",
    `accounts { A { limits: { what: 5 } } }`,
    `x.conf:1:25: Unknown field "what" parsing account limits`,
  ],
  [
    "imports must be an array",
    `accounts = {
  nats {
    imports = true
  }
}`,
    `x.conf:3:5: Imports should be an array, got bool`,
  ],
  [
    "exports must be an array",
    `accounts = {
  nats {
    exports = true
  }
}`,
    `x.conf:3:5: Exports should be an array, got bool`,
  ],
  [
    "an import is a map",
    `accounts = {
  nats {
    imports = [
      false
    ]
  }
}`,
    `x.conf:4:7: Import Items should be a map with type entry, got bool`,
  ],
  [
    "an export is a map",
    `accounts = {
  nats {
    exports = [
      false
    ]
  }
}`,
    `x.conf:4:7: Export Items should be a map with type entry, got bool`,
  ],
  [
    "a stream export names a string",
    `accounts = {
  nats {
    exports = [
      {
        stream: false
      }
    ]
  }
}`,
    `x.conf:5:9: Expected stream name to be string, got bool`,
  ],
  [
    "a service export names a string",
    `accounts = {
  nats {
    exports = [
      {
        service: false
      }
    ]
  }
}`,
    `x.conf:5:9: Expected service name to be string, got bool`,
  ],
  [
    "an export is a stream or a service",
    `accounts { A { exports: [{stream: foo, service: bar}] } }`,
    `x.conf:1:39: Detected service "bar" but already saw a stream`,
  ],
  [
    "an export is a stream or a service (non-string second)",
    `accounts { A { exports: [{stream: foo, service: 5}] } }`,
    `x.conf:1:39: Detected service '\\x05' but already saw a stream`,
  ],
  [
    "a response type needs a service",
    `accounts { A { exports: [{response: "stream", threshold: "1s", stream: "foo"}] } }`,
    `x.conf:1:26: Detected response directive on non-service`,
  ],
  [
    "latency needs a service",
    `accounts { A { exports: [{latency: "lat", stream: "foo"}] } }`,
    `x.conf:1:26: Detected latency directive on non-service`,
  ],
  [
    "response types are single, stream or chunked",
    `accounts { A { exports: [{service: "foo", response_type: "many"}] } }`,
    `x.conf:1:42: Unknown response type: "many"`,
  ],
  [
    "a response type is a string",
    `accounts { A { exports: [{service: "foo", response_type: 1}] } }`,
    `x.conf:1:42: Expected response type to be string, got int64`,
  ],
  [
    "a response threshold is a duration",
    `accounts { A { exports: [{service: "foo", response_threshold: "abc"}] } }`,
    `x.conf:1:42: Expected response threshold to be a parseable time duration, got "abc"`,
  ],
  [
    "a response threshold is a string",
    `accounts { A { exports: [{service: "foo", response_threshold: 1}] } }`,
    `x.conf:1:42: Expected response threshold to be a parseable time duration, got int64`,
  ],
  [
    "export accounts are a list",
    `accounts { A { exports: [{service: "foo", accounts: "B"}] } }`,
    `x.conf:1:42: interface conversion: interface {} is string, not []interface {}`,
  ],
  [
    "latency is a subject or a map",
    `accounts { A { exports: [{service: "foo", latency: 5}] } }`,
    `x.conf:1:42: Expected latency entry to be a map/struct or string, got int64`,
  ],
  [
    "latency sampling is a percentage",
    `accounts { A { exports: [{service: "foo", latency: {sampling: "abc", subject: lat}}] } }`,
    `x.conf:1:52: Failed to parse latency sample: strconv.Atoi: parsing "abc": invalid syntax`,
  ],
  [
    "latency sampling is 1-100",
    `accounts { A { exports: [{service: "foo", latency: {sampling: 200, subject: lat}}] } }`,
    `x.conf:1:52: bad sampling percentage, should be 1-100`,
  ],
  [
    "latency sampling of another type",
    `accounts { A { exports: [{service: "foo", latency: {sampling: true, subject: x}}] } }`,
    `x.conf:1:52: Expected latency sample to be a string or map/struct, got bool`,
  ],
  [
    "latency needs a subject",
    `accounts { A { exports: [{service: "foo", latency: {sampling: "50%"}}] } }`,
    `x.conf:1:42: Latency subject required, but missing`,
  ],
  [
    "a latency subject is a string",
    `accounts { A { exports: [{service: "foo", latency: {sampling: headers, subject: 5}}] } }`,
    `x.conf:1:71: Expected latency subject to be a string, got string`,
  ],
  [
    "an import stream needs an account and a subject",
    `accounts = {
  nats {
    imports = [
      { stream: { }}
    ]
  }
}`,
    `x.conf:4:9: Expect an account name and a subject`,
  ],
  [
    "an import service needs an account and a subject",
    `accounts = {
  nats {
    imports = [
      { service: { }}
    ]
  }
}`,
    `x.conf:4:9: Expect an account name and a subject`,
  ],
  [
    "an import account is a string",
    `accounts { A { imports: [ {stream: {account: 1, subject: foo}} ] } }`,
    `x.conf:1:36: interface conversion: interface {} is int64, not string
x.conf:1:27: Expect an account name and a subject`,
  ],
  [
    "import entries are account maps",
    `accounts { A { imports: [{stream: "x"}, {service: 5}] } }`,
    `x.conf:1:26: Stream entry should be an account map, got string
x.conf:1:41: Service entry should be an account map, got int64`,
  ],
  [
    "an import is a stream or a service",
    `accounts { A { imports: [{stream: {account: A, subject: x}, service: {account: A, subject: y}}] } }`,
    `x.conf:1:60: Detected service but already saw a stream`,
  ],
  [
    "an import's to is a string",
    `accounts { A { imports: [{service: {account: A, subject: x}, to: 5}] } }`,
    `x.conf:1:61: interface conversion: interface {} is int64, not string`,
  ],
  [
    "a stream import has a prefix or a to",
    `accounts { A { exports: [{stream: "foo"}] }
B { imports: [ {stream: {account: A, subject: "foo"}, prefix: "p", to: "q"} ] } }`,
    `x.conf:2:68: Stream import can not have a 'prefix' and a 'to' property`,
  ],
  [
    "service import subjects are unique in an account",
    `accounts { A { exports: [{service: foo}] }
B { imports: [
 {service: {account: A, subject: foo}}
 {service: {account: A, subject: foo}}
] } }`,
    `x.conf:4:39: Duplicate service import subject "foo", previously used in import for account "A", subject "foo"`,
  ],
  [
    "the system account is a string",
    `system_account: 1
system: 2`,
    `x.conf:1:0: system account name must be a string`,
  ],
  [
    "no_system_account is a boolean",
    `no_sys_acc: 1`,
    `x.conf:1:0: interface conversion: interface {} is int64, not bool`,
  ],
  [
    "an import's account must exist",
    `port: 4222
accounts {
  A: {
    users: [{user: a, password: a}]
    imports: [
      {stream: {account: B, subject: "foo"}}
    ]
  }
}`,
    `x.conf:2:1: "B" account not defined for stream import`,
  ],
  [
    "a service import's account must exist",
    `accounts { A { imports: [{service: {account: Z, subject: "foo"}}] } }`,
    `x.conf:1:0: "Z" account not defined for service import`,
  ],
  [
    "export accounts must exist",
    `accounts { A { exports: [{service: "foo", accounts: [Z]}, {stream: "bar", accounts: [Y]}] } }`,
    `x.conf:1:0: "Y" account not defined for stream export
x.conf:1:0: "Z" account not defined for service export`,
  ],
  [
    "$G is not an account to import from",
    `accounts {
  A { imports: [{stream: {account: "$G", subject: "x"}}] }
}`,
    `x.conf:1:0: "$G" account not defined for stream import`,
  ],
  [
    "a stream import must be exported to the importer",
    `accounts { A { exports: [{stream: "foo", accounts: [C]}] }
B { imports: [ {stream: {account: A, subject: "foo"}} ] }
C {} }`,
    `x.conf:1:0: Error adding stream import "foo": stream import not authorized`,
  ],
  [
    "a service import must be exported to the importer",
    `accounts { A { exports: [{service: "foo", accounts: [C]}] }
B { imports: [ {service: {account: A, subject: "foo"}} ] }
C {} }`,
    `x.conf:1:0: Error adding service import "foo": service import not authorized`,
  ],
  [
    "a service import needs an export",
    `accounts { A { }
B { imports: [ {service: {account: A, subject: "foo"}} ] } }`,
    `x.conf:1:0: Error adding service import "foo": service import not authorized`,
  ],
  [
    "an import wider than the export is refused",
    `accounts {
  A { exports: [{stream: "a.*.x"}] }
  B { imports: [{stream: {account: A, subject: "a.>"}}] }
}`,
    `x.conf:1:0: Error adding stream import "a.>": stream import not authorized`,
  ],
  [
    "a public export of the same subject does not lift a restriction",
    `accounts {
  A { exports: [{service: "q"}, {service: "q", accounts: [B]}] }
  C { imports: [{service: {account: A, subject: "q"}}] }
  B {}
}`,
    `x.conf:1:0: Error adding service import "q": service import not authorized`,
  ],
  [
    "an invalid stream import subject is not authorized",
    `accounts {
  A { exports: [{stream: ">"}] }
  B { imports: [{stream: {account: A, subject: "a..b"}}] }
}`,
    `x.conf:1:0: Error adding stream import "a..b": stream import not authorized`,
  ],
  [
    "an invalid service import subject",
    `accounts { A { exports: [{service: "foo"}] }
B { imports: [ {service: {account: A, subject: "foo"}, to: "a..b"} ] } }`,
    `x.conf:1:0: Error adding service import "foo": sublist: invalid subject`,
  ],
  [
    "the account token must be a wildcard",
    `accounts { A { exports: [{stream: "foo.bar", account_token_position: 2}] } }`,
    `x.conf:1:0: Error adding stream export "foo.bar": sublist: invalid subject`,
  ],
  [
    "the account token must exist",
    `accounts { A { exports: [{stream: "foo.*", account_token_position: 3}] } }`,
    `x.conf:1:0: Error adding stream export "foo.*": sublist: invalid subject`,
  ],
  [
    "a negative account token position panics in nats-server",
    `accounts { A { exports: [{stream: "foo.*", account_token_position: -1}] } }`,
    `x.conf:1:0: runtime error: index out of range [18446744073709551614] with length 2`,
  ],
  [
    "the account token names the importer",
    `accounts { A { exports: [{stream: "foo.*", account_token_position: 2}] }
B { imports: [ {stream: {account: A, subject: "foo.B"}} ] }
C { imports: [ {stream: {account: A, subject: "foo.B"}} ] } }`,
    `x.conf:1:0: Error adding stream import "foo.B": stream import not authorized`,
  ],
  [
    "a token export is not imported by its own wildcard",
    `accounts {
  A { exports: [{service: "req.*.x", account_token_position: 2}] }
  B { imports: [{service: {account: A, subject: "req.*.x"}}] }
}`,
    `x.conf:1:0: Error adding service import "req.*.x": service import not authorized`,
  ],
  [
    "a stream import prefix is literal",
    `accounts { A { exports: [{stream: "foo.>"}] }
B { imports: [ {stream: {account: A, subject: "foo.>"}, prefix: "p.*"} ] } }`,
    `x.conf:1:0: Error adding stream import "foo.>": stream import prefix can not contain wildcard tokens`,
  ],
  [
    "a stream import is not repeated",
    `accounts { A { exports: [{stream: "foo.>"}] }
B { imports: [ {stream: {account: A, subject: "foo.>"}, prefix: "p"}, {stream: {account: A, subject: "foo.>"}, prefix: "q"} ] } }`,
    `x.conf:1:0: Error adding stream import "foo.>": stream import already exists`,
  ],
  [
    "stream imports may not form a cycle",
    `accounts { A { exports: [{stream: "foo"}], imports: [ {stream: {account: B, subject: "foo"}} ] }
B { exports: [{stream: "foo"}], imports: [ {stream: {account: A, subject: "foo"}} ] } }`,
    `x.conf:1:0: Error adding stream import "foo": import forms a cycle`,
  ],
  [
    "a cycle through three accounts",
    `accounts {
  A { exports: [{stream: ">"}], imports: [{stream: {account: C, subject: "x"}}] }
  B { exports: [{stream: ">"}], imports: [{stream: {account: A, subject: "x"}}] }
  C { exports: [{stream: ">"}], imports: [{stream: {account: B, subject: "x"}}] }
}`,
    `x.conf:1:0: Error adding stream import "x": import forms a cycle`,
  ],
  [
    "service imports may not form a cycle",
    `accounts { A { exports: [{service: "foo"}], imports: [ {service: {account: B, subject: "foo"}} ] }
B { exports: [{service: "foo"}], imports: [ {service: {account: A, subject: "foo"}} ] } }`,
    `x.conf:1:0: Error adding service import "foo": import forms a cycle`,
  ],
  [
    "a service cycle through three accounts",
    `accounts {
  A { exports: [{service: "x"}], imports: [{service: {account: C, subject: "x"}}] }
  B { exports: [{service: "x"}], imports: [{service: {account: A, subject: "x"}}] }
  C { exports: [{service: "x"}], imports: [{service: {account: B, subject: "x"}}] }
}`,
    `x.conf:1:0: Error adding service import "x": import forms a cycle`,
  ],
  [
    "a wildcard stream import mapped to fewer wildcards",
    `accounts { A { exports: [{stream: "foo.*"}] }
B { imports: [ {stream: {account: A, subject: "foo.*"}, to: "bar"} ] } }`,
    `x.conf:1:0: Error adding stream import "foo.*": failed to create mapping transform for stream import subject "foo.*" to "bar": invalid mapping destination: not using all of the token wildcard(s) in bar`,
  ],
  [
    "a > stream import mapped without >",
    `accounts { A { exports: [{stream: "foo.>"}] }
B { imports: [ {stream: {account: A, subject: "foo.>"}, to: "bar.*"} ] } }`,
    `x.conf:1:0: Error adding stream import "foo.>": failed to create mapping transform for stream import subject "foo.>" to "bar.*": invalid subject`,
  ],
  [
    "a wildcard service import mapped to a literal",
    `accounts { A { exports: [{service: "foo.*"}] }
B { imports: [ {service: {account: A, subject: "foo.*"}, to: "bar"} ] } }`,
    `x.conf:1:0: Error adding service import "foo.*": failed to create mapping transform for service import subject "bar" to "foo.*": invalid mapping destination: not using all of the token wildcard(s) in bar`,
  ],
  [
    "a service import placeholder out of range",
    `accounts { A { exports: [{service: "foo.*.*"}] }
B { imports: [ {service: {account: A, subject: "foo.*.*"}, to: "bar.$3"} ] } }`,
    `x.conf:1:0: Error adding service import "foo.*.*": failed to create mapping transform for service import subject "bar.$3" to "foo.*.*": invalid mapping destination: wildcard index out of range in $3: [3]`,
  ],
  [
    "latency needs the system account",
    `no_system_account: true
accounts { A { exports: [{service: "foo", latency: {sampling: 50, subject: lat}}] } }`,
    `x.conf:2:1: Error adding service latency sampling for "foo": system account not setup`,
  ],
  [
    "latency needs a singleton service",
    `accounts { A { exports: [{service: "foo", response_type: stream, latency: "lat"}] } }`,
    `x.conf:1:0: Error adding service latency sampling for "foo" on subject "lat": bad service response type`,
  ],
  [
    "latency results go to a literal subject",
    `accounts { A { exports: [{service: "foo", latency: "lat.*"}] } }`,
    `x.conf:1:0: Error adding service latency sampling for "foo" on subject "lat.*": invalid publish subject`,
  ],
  [
    "latency results may not go to the service itself",
    `accounts { A { exports: [{service: "foo.*", latency: "foo.bar"}] } }`,
    `x.conf:1:0: Error adding service latency sampling for "foo.*" on subject "foo.bar": invalid publish subject`,
  ],
  [
    "a user value of the wrong type drops the account's users",
    `accounts { A { users: [{user: 5}, {user: b, password: 6}] } }`,
    `x.conf:1:24: interface conversion: interface {} is int64, not string`,
  ],
  [
    "a bad permissions block is reported and the user parse goes on",
    `accounts { A { users: [{user: a, permissions: 5, password: 1}] } }`,
    `x.conf:1:33: Expected permissions to be a map/struct, got 5
x.conf:1:49: interface conversion: interface {} is int64, not string`,
  ],
  [
    "old-style permission errors carry no position, as nats-server's",
    `accounts { A { users: [{user: a, password: b, permissions: {publish: "a..b", subscribe: true}}] } }`,
    `subject "a..b" is not a valid subject
Expected subject permissions to be a subject, or array of subjects, got bool`,
  ],
  [
    "allow/deny permission errors carry their position",
    `accounts { A { default_permissions: {subscribe: {deny: true}} } }`,
    `x.conf:1:49: Expected subject permissions to be a subject, or array of subjects, got bool`,
  ],
  [
    "top-level mappings define the global account, which exports nothing",
    `mappings { a: b }
accounts {
  A { imports: [{stream: {account: "$G", subject: "x"}}] }
}`,
    `x.conf:2:1: Error adding stream import "x": stream import not authorized`,
  ],
];

for (const [what, text, want] of ERRORS) {
  Deno.test(`accounts config error: ${what}`, async () => {
    assert.equal(errorOf(text), want);
    await assertSameAsReference(text, want);
  });
}

/** [what, config] that nats-server accepts, as we do. */
const VALID: [string, string][] = [
  [
    "chained imports and re-exports",
    `accounts {
  A { exports: [{stream: "a.>"}, {service: "svc.a"}] }
  B { imports: [{stream: {account: A, subject: "a.>"}, prefix: "from_a"}, {service: {account: A, subject: "svc.a"}, to: "b.svc"}]
      exports: [{stream: "from_a.>"}, {service: "b.svc"}] }
  C { imports: [{stream: {account: B, subject: "from_a.a.>"}}, {service: {account: B, subject: "b.svc"}}] }
}`,
  ],
  [
    "wildcard imports within wildcard exports, mapped with $1 and *",
    `accounts {
  A { exports: [{stream: "a.*.x"}, {service: "req.>"}] }
  B { imports: [{stream: {account: A, subject: "a.foo.x"}}, {stream: {account: A, subject: "a.*.x"}, to: "mine.$1"}, {service: {account: A, subject: "req.*"}, to: "r.*"}] }
}`,
  ],
  [
    "restricted exports of one subject merge their account lists",
    `accounts {
  A { exports: [{stream: "s", accounts: [B]}, {stream: "s", accounts: [C]}] }
  B { imports: [{stream: {account: A, subject: "s"}}] }
  C { imports: [{stream: {account: A, subject: "s"}}] }
}`,
  ],
  [
    "an account imports from itself",
    `accounts {
  A { exports: [{stream: "x"}, {service: "q"}], imports: [{stream: {account: A, subject: "x"}, prefix: p}, {service: {account: A, subject: "q"}, to: "r"}] }
}`,
  ],
  [
    "an account token export imported under the importer's name",
    `accounts {
  A { exports: [{service: "req.*.x", account_token_position: 2}] }
  B { imports: [{service: {account: A, subject: "req.B.x"}}] }
}`,
  ],
  [
    "one service from two accounts under two local subjects",
    `accounts {
  A { exports: [{service: "q"}] }
  B { exports: [{service: "q"}] }
  C { imports: [{service: {account: A, subject: "q"}}, {service: {account: B, subject: "q"}, to: "q2"}] }
}`,
  ],
  [
    "mutual imports of different subjects are no cycle",
    `accounts {
  A { exports: [{service: "x"}], imports: [{service: {account: B, subject: "y"}, to: "z"}] }
  B { exports: [{service: "y"}], imports: [{service: {account: A, subject: "x"}}] }
}`,
  ],
  [
    "latency, thresholds, response types and sharing",
    `accounts {
  A { exports: [
    {service: "q", latency: {sampling: "headers", subject: "lat.q"}, response_threshold: "5s", response_type: singleton}
    {service: "s", response: stream, threshold: "1m"}
    {service: "c", response_type: chunked}
  ] }
  B { imports: [{service: {account: A, subject: "q"}, share: true}] }
}`,
  ],
  [
    "limits, jetstream and mappings",
    `accounts { A { limits: { max_connections: 5, max_subs: 6, max_payload: 7, max_leafs: 8 }, jetstream: enabled, mappings: { a: b } } }`,
  ],
  [
    "a block-local variable inside accounts is no account",
    `accounts {
  PERMS = { publish = { allow = ["foo", "bar"] } }
  A { users [ { user: a, password: a, permissions = $PERMS } ] }
}`,
  ],
  ["accounts of another kind than a list or a map are ignored", `accounts: true`],
  ["system_account in upper case is not read", `SYSTEM_ACCOUNT: 1`],
];

for (const [what, text] of VALID) {
  Deno.test(`accounts config accepts ${what}`, async () => {
    assert.equal(errorOf(text), "");
    await assertSameAsReference(text, "");
  });
}

function account(name: string, more: Partial<AccountOptions> = {}): AccountOptions {
  return {
    name,
    streamExports: [],
    serviceExports: [],
    streamImports: [],
    serviceImports: [],
    mappings: [],
    limits: defaultAccountLimits(),
    ...more,
  };
}

Deno.test("the docs' multi-tenant example maps to accounts, exports, imports and users", () => {
  const o = loadConfig(join(CONFIGS, "multi-tenant.conf")).options;
  assert.deepEqual(o.accounts, [
    account("A", {
      streamExports: [{ subject: "puba.>" }, { subject: "b.>", accounts: ["B"] }],
      serviceExports: [
        { subject: "pubq.>", responseType: "Singleton", responseThresholdMs: 0 },
        { subject: "q.b", responseType: "Singleton", responseThresholdMs: 0, accounts: ["B"] },
      ],
    }),
    account("B", {
      streamImports: [{ account: "A", subject: "b.>" }],
      serviceImports: [{ account: "A", subject: "q.b", to: "q.b", share: false }],
    }),
    account("C", {
      streamImports: [{ account: "A", subject: "puba.>", prefix: "from_a" }],
      serviceImports: [{ account: "A", subject: "pubq.C", to: "Q", share: false }],
    }),
  ]);
  assert.deepEqual(o.users, [
    { username: "a", password: "a", account: "A" },
    { username: "b", password: "b", account: "B" },
    { username: "c", password: "c", account: "C" },
  ]);
  assert.equal(o.noAuthUser, "a");
  // no_auth_user may name a user of any account.
  validateOptions(mergeOptions(defaultOptions(), o));
});

Deno.test("account users get the account's default permissions, nkey users included", () => {
  const o = loadConfig(join(CONFIGS, "permissions.conf")).options;
  const acme = {
    publish: { allow: ["acme.>"] },
    subscribe: { allow: ["acme.>", "_INBOX.>"] },
  };
  assert.deepEqual(o.accounts?.[0].defaultPermissions, acme);
  assert.deepEqual(o.accounts?.[0].limits, {
    maxConnections: 100,
    maxSubscriptions: 1000,
    maxPayload: 65536,
    maxLeafnodes: 0,
  });
  assert.deepEqual(o.users, [
    {
      username: "alice",
      password: "$2a$11$yKlfzFqzf6A2SqrYQwsk8eXpNR6W8vEPSQX1Pt7yupsvXfz7f6W3u",
      permissions: acme,
      account: "ACME",
    },
    { username: "bob", password: "pw", permissions: { publish: { deny: [">"] } }, account: "ACME" },
    {
      username: "",
      password: "",
      nkey: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4",
      permissions: acme,
      account: "ACME",
    },
    // An authorization user after the accounts block belongs to the global account.
    { username: "root", password: "root" },
  ]);
});

Deno.test("system_account, and latency settings of a service export", () => {
  const sys = loadConfig(join(CONFIGS, "system-account.conf")).options;
  assert.equal(sys.systemAccount, "SYS");
  assert.deepEqual(sys.accounts?.map((a) => a.name), ["USERS", "SYS"]);
  validateOptions(mergeOptions(defaultOptions(), sys));

  const lat = loadConfig(join(CONFIGS, "service-latency.conf")).options;
  assert.deepEqual(lat.accounts?.[1].serviceExports, [
    {
      subject: "foo",
      responseType: "Singleton",
      responseThresholdMs: 0,
      latency: { sampling: 100, subject: "latency.on.foo" },
    },
  ]);
  assert.deepEqual(lat.accounts?.[2].serviceImports, [
    { account: "SERVICE", subject: "foo", to: "foo", share: true },
  ]);

  const o = parseConfigString(`
    accounts { A { exports: [
      {response_threshold: "1.5s", service: "a", response_type: stream, account_token_position: 0}
      {service: "b.*", response: chunk, account_token_position: 2, accounts: [A]}
      {latency: {sampling: "25%", subject: "lat.c"}, service: "c"}
      {service: "d", latency: {sampling: headers, subject: "lat.d"}}
    ] } }
  `);
  assert.deepEqual(o.accounts?.[0].serviceExports, [
    { subject: "a", responseType: "Stream", responseThresholdMs: 1500 },
    {
      subject: "b.*",
      responseType: "Chunked",
      responseThresholdMs: 0,
      accountTokenPosition: 2,
      accounts: ["A"],
    },
    {
      subject: "c",
      responseType: "Singleton",
      responseThresholdMs: 0,
      latency: { sampling: 25, subject: "lat.c" },
    },
    {
      subject: "d",
      responseType: "Singleton",
      responseThresholdMs: 0,
      latency: { sampling: 0, subject: "lat.d" },
    },
  ]);
  assert.equal(parseConfigString("no_system: true").noSystemAccount, true);
  assert.equal(parseConfigString("no_sys_acc: false").noSystemAccount, false);
});

Deno.test("mappings are parsed per account and at top level; jetstream is parsed", () => {
  const r = loadConfig(join(CONFIGS, "mappings.conf"));
  const o = r.options;
  assert.equal(o.mappingsNode?.kind, "map");
  assert.deepEqual(o.mappingsNode?.pos, { file: join(CONFIGS, "mappings.conf"), line: 2, col: 1 });
  const acc1 = o.accounts?.[0];
  assert.equal(acc1?.mappingsNode?.kind, "map");
  assert.ok((acc1?.mappings.length ?? 0) > 0, "the account's mappings are parsed");
  assert.ok((o.mappings?.length ?? 0) > 0, "the top-level mappings are parsed");
  assert.deepEqual(o.accounts?.[1].jetstream?.value, "enabled");
  assert.equal(o.accounts?.[1].jetstreamLimits?.maxStreams, -1);
  assert.deepEqual(r.warnings, []);
  // `maps` is the other spelling of both.
  const maps = parseConfigString(`maps { a: b }\naccounts { A { maps { c: d } } }`);
  assert.equal(maps.mappingsNode?.kind, "map");
  assert.equal(maps.accounts?.[0].mappingsNode?.kind, "map");
});

Deno.test("a list of account names defines empty accounts", () => {
  const o = parseConfigString(`accounts: [ ACME, CORP ]`);
  assert.deepEqual(o.accounts, [account("ACME"), account("CORP")]);
  assert.equal(o.users, undefined);
});

Deno.test("limits wrap to 32 bits as nats-server stores them", () => {
  const o = parseConfigString(
    `accounts { A { limits { max_payload: 4294967297, max_conn: -5 } } }`,
  );
  assert.equal(o.accounts?.[0].limits.maxPayload, 1);
  assert.equal(o.accounts?.[0].limits.maxConnections, -5);
});

/** [what, config, the error nats-server exits with at startup ("" when it starts)] */
const STARTUP: [string, string, string][] = [
  [
    "no_auth_user naming an account user",
    `accounts { A { users [{user: bob, password: b}] } }\nno_auth_user: bob`,
    "",
  ],
  [
    "no_auth_user without users",
    `no_auth_user: bob`,
    `no_auth_user: "bob" present, but users are not defined`,
  ],
  [
    "no_auth_user naming nobody",
    `authorization { users [{user: a, password: b}] }\nno_auth_user: bob`,
    `no_auth_user: "bob" not present as user in authorization block or account configuration`,
  ],
  [
    "no_auth_user naming an nkey user",
    `accounts { A { users [{nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4}] } }\n` +
    `no_auth_user: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4`,
    `no_auth_user: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4" present, but users are not defined`,
  ],
  [
    "a system account that is not defined",
    `system_account: FOO`,
    "error resolving system account: account missing",
  ],
  [
    "$SYS is not defined by default",
    `system_account: "$SYS"`,
    "error resolving system account: account missing",
  ],
  ["the global account as system account", `system_account: "$G"`, ""],
];

for (const [what, text, want] of STARTUP) {
  Deno.test(`startup checks: ${what}`, async () => {
    const o = mergeOptions(defaultOptions(), parseConfigString(text, "x.conf") as PartialOptions);
    let got = "";
    try {
      validateOptions(o);
    } catch (e) {
      got = (e as Error).message;
    }
    assert.equal(got, want);
    // A server that starts does not exit: only the refusals are compared with nats-server.
    if (HAVE_NATS_SERVER && want !== "") {
      assert.deepEqual(await reference(text, want, true, 1), [want]);
    }
  });
}

Deno.test("checkAccounts is a pure function of the accounts, for -t, startup and reload", () => {
  const exporter = account("A", {
    streamExports: [{ subject: "s.*", accounts: ["B"] }],
    serviceExports: [{ subject: "q", responseType: "Singleton", responseThresholdMs: 0 }],
  });
  const importer = account("B", {
    streamImports: [{ account: "A", subject: "s.x", prefix: "a" }],
    serviceImports: [{ account: "A", subject: "q", to: "q", share: false }],
  });
  assert.deepEqual(checkAccounts([exporter, importer]), []);
  const stranger = account("C", { streamImports: [{ account: "A", subject: "s.x" }] });
  assert.deepEqual(checkAccounts([exporter, importer, stranger]), [
    'Error adding stream import "s.x": stream import not authorized',
  ]);
  // The full subject-transform check can be plugged in.
  const mapped = account("D", { streamImports: [{ account: "A", subject: "s.*", to: "d.$1" }] });
  const seen: string[] = [];
  const transformError = (src: string, dest: string) => {
    seen.push(`${src} -> ${dest}`);
    return "nope";
  };
  const open = account("A", { streamExports: [{ subject: "s.*" }] });
  assert.deepEqual(checkAccounts([open, mapped], { transformError }), [
    'Error adding stream import "s.*": failed to create mapping transform for stream import ' +
    'subject "s.*" to "d.$1": nope',
  ]);
  assert.deepEqual(seen, ["s.* -> d.$1"]);
});

Deno.test("subject relations follow nats-server's sublist rules", () => {
  assert.equal(subjectsCollide("foo.*", "foo.bar"), true);
  assert.equal(subjectsCollide("foo.*", "*.bar"), true);
  assert.equal(subjectsCollide("foo.>", "foo"), false);
  assert.equal(subjectsCollide("foo.*", "foo.*.baz"), false);
  assert.equal(subjectsCollide("a.>", "*.b.c"), true);
  assert.equal(subjectsCollide("a.b", "a.c"), false);
  assert.equal(isSubsetMatch(["foo", "*"], ">"), true);
  assert.equal(isSubsetMatch(["foo", "*"], "*.*"), true);
  assert.equal(isSubsetMatch(["foo", "*"], "foo.bar"), false);
  assert.equal(isSubsetMatch(["foo", "bar"], "foo.*x"), true); // Go looks at one character
  assert.equal(isSubsetMatch(["foo"], "foo.>"), false);
  assert.equal(subjectIsLiteral("a.*"), false);
  assert.equal(subjectIsLiteral("a.*b.>c"), true);
  assert.equal(subjectIsLiteral("a..b"), true);
});

/** A seeded generator of account blocks whose imports mostly aim at (refined) exports. */
function randomAccounts(seed: number): string {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];
  const subjects = ["a", "a.b", "a.*", "a.>", "*.b", ">", "b.*.c", "a.*.*", "x", "a.*.c"];
  const locals = ["l", "l.*", "l.>", "a", "a.*", "l.$1", "l.*.*", "a.b", "a.>", "l.$2.$1"];
  const refine = (subj: string) =>
    subj.split(".").map((t) =>
      t === "*" && rnd() < 0.4 ? pick(["b", "c", "B", "C"]) : t === ">" && rnd() < 0.3 ? "z.*" : t
    ).join(".");
  const names = ["A", "B", "C", "D"].slice(0, 2 + Math.floor(rnd() * 3));
  const exported = new Map<string, { kind: string; subj: string }[]>();
  const exportText = new Map<string, string[]>();
  for (const name of names) {
    const list: { kind: string; subj: string }[] = [];
    const text: string[] = [];
    for (let i = Math.floor(rnd() * 4); i > 0; i--) {
      const kind = rnd() < 0.5 ? "stream" : "service";
      const subj = pick(subjects);
      list.push({ kind, subj });
      let e = `{${kind}: "${subj}"`;
      if (rnd() < 0.2) e += `, accounts: [${names.filter(() => rnd() < 0.6).join(", ")}]`;
      if (rnd() < 0.05) e += `, account_token_position: ${pick([1, 2, 3])}`;
      text.push(e + "}");
    }
    exported.set(name, list);
    exportText.set(name, text);
  }
  let out = "accounts {\n";
  for (const name of names) {
    const imports: string[] = [];
    for (let i = Math.floor(rnd() * 4); i > 0; i--) {
      const from = pick(names);
      const offers = exported.get(from)!;
      const target = offers.length > 0 && rnd() < 0.8
        ? pick(offers)
        : { kind: rnd() < 0.5 ? "stream" : "service", subj: pick(subjects) };
      let e = `{${target.kind}: {account: ${from}, subject: "${refine(target.subj)}"}`;
      if (target.kind === "stream" && rnd() < 0.3) e += `, prefix: "${pick(["p", "p.q", "p.*"])}"`;
      else if (rnd() < 0.4) e += `, to: "${pick(locals)}"`;
      imports.push(e + "}");
    }
    out += `  ${name} { exports: [${exportText.get(name)!.join(", ")}], imports: [${
      imports.join(", ")
    }] }\n`;
  }
  return out + "}\n";
}

Deno.test({
  name: "random account blocks get nats-server's verdict (authorization, cycles, transforms)",
  ignore: !HAVE_NATS_SERVER,
  fn: async () => {
    // Checked offline over 1,900 such configs; a few dozen here keep the suite quick.
    for (let seed = 1; seed <= 40; seed++) {
      const text = randomAccounts(seed * 7919);
      const ours = errorOf(text);
      const seen = await reference(text, ours, false, 12);
      assert.ok(seen.includes(ours), `${text}ours: ${ours}\nnats-server: ${JSON.stringify(seen)}`);
    }
  },
});
