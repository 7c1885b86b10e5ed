/**
 * CONNECT's JSON decoded as nats-server decodes it (Go's encoding/json into ClientOpts). The
 * expected messages are Go 1.19's own, produced by decoding each input with encoding/json.
 */

import assert from "node:assert/strict";
import { checkClientInfo, type ConnectOptions, decodeConnect } from "../src/connect.ts";
import { GoJsonError } from "../src/go_json.ts";

function defaults(): ConnectOptions {
  return {
    verbose: true,
    pedantic: true,
    echo: true,
    headers: false,
    no_responders: false,
    protocol: 0,
    name: "",
    lang: "",
    version: "",
  };
}

/** The input as bytes, one per UTF-16 unit (so "\u00e9" is the single byte 0xE9). */
function latin1(s: string): Uint8Array {
  return Uint8Array.from([...s].map((c) => c.charCodeAt(0)));
}

function decode(s: string | Uint8Array): ConnectOptions {
  const o = defaults();
  decodeConnect(typeof s === "string" ? latin1(s) : s, o);
  return o;
}

Deno.test("decodeConnect refuses what Go refuses, with Go's message", () => {
  const cases: [string, string][] = [
    ["", "unexpected end of JSON input"],
    [" ", "unexpected end of JSON input"],
    ["[]", "json: cannot unmarshal array into Go value of type server.ClientOpts"],
    ["1", "json: cannot unmarshal number into Go value of type server.ClientOpts"],
    ['"x"', "json: cannot unmarshal string into Go value of type server.ClientOpts"],
    ["true", "json: cannot unmarshal bool into Go value of type server.ClientOpts"],
    ["{", "unexpected end of JSON input"],
    ['{"a"', "unexpected end of JSON input"],
    ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
    ["[1,]", "invalid character ']' looking for beginning of value"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1}}', "invalid character '}' after top-level value"],
    [
      '{"verbose":"false"}',
      "json: cannot unmarshal string into Go struct field ClientOpts.verbose of type bool",
    ],
    [
      '{"verbose":0}',
      "json: cannot unmarshal number into Go struct field ClientOpts.verbose of type bool",
    ],
    [
      '{"verbose":[]}',
      "json: cannot unmarshal array into Go struct field ClientOpts.verbose of type bool",
    ],
    [
      '{"verbose":{}}',
      "json: cannot unmarshal object into Go struct field ClientOpts.verbose of type bool",
    ],
    [
      '{"protocol":1.5}',
      "json: cannot unmarshal number 1.5 into Go struct field ClientOpts.protocol of type int",
    ],
    [
      '{"protocol":"1"}',
      "json: cannot unmarshal string into Go struct field ClientOpts.protocol of type int",
    ],
    [
      '{"protocol":1e2}',
      "json: cannot unmarshal number 1e2 into Go struct field ClientOpts.protocol of type int",
    ],
    [
      '{"protocol":9223372036854775808}',
      "json: cannot unmarshal number 9223372036854775808 into Go struct field ClientOpts.protocol of type int",
    ],
    [
      '{"protocol":true}',
      "json: cannot unmarshal bool into Go struct field ClientOpts.protocol of type int",
    ],
    [
      '{"name":5}',
      "json: cannot unmarshal number into Go struct field ClientOpts.name of type string",
    ],
    [
      '{"import":{"allow":[1]}}',
      "json: cannot unmarshal number into Go struct field SubjectPermission.import.allow of type string",
    ],
    [
      '{"import":{"allow":"a"}}',
      "json: cannot unmarshal string into Go struct field SubjectPermission.import.allow of type []string",
    ],
    [
      '{"import":true}',
      "json: cannot unmarshal bool into Go struct field ClientOpts.import of type server.SubjectPermission",
    ],
    [
      '{"export":{"deny":{}}}',
      "json: cannot unmarshal object into Go struct field SubjectPermission.export.deny of type []string",
    ],
    ['{"verbose":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"verbose":fals', "invalid character ' ' in literal false (expecting 'e')"],
    ['{"a":-}', "invalid character '}' in numeric literal"],
    ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"a":1e}', "invalid character '}' in exponent of numeric literal"],
    ['{"a":01}', "invalid character '1' after object key:value pair"],
    ["-", "invalid character ' ' in numeric literal"],
    ["tru", "invalid character ' ' in literal true (expecting 'e')"],
    ['"abc', "unexpected end of JSON input"],
    ['"a\\', "invalid character ' ' in string escape code"],
    ['"\\u12', "invalid character ' ' in \\u hexadecimal character escape"],
    ["{} x", "invalid character 'x' after top-level value"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ['{"name":"a\nb"}', "invalid character '\\n' in string literal"],
    ['{"name":"\\x"}', "invalid character 'x' in string escape code"],
    ['{"name":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"],
    [
      '{"verbose":"x","pedantic":1}',
      "json: cannot unmarshal string into Go struct field ClientOpts.verbose of type bool",
    ],
    ['{"verbose":"x","a":}', "invalid character '}' looking for beginning of value"],
    ["\u00e9", "invalid character 'é' looking for beginning of value"],
    ["{\u00a0}", "invalid character '\\u00a0' looking for beginning of object key string"],
    ["{\u007f}", "invalid character '\\x7f' looking for beginning of object key string"],
    ["{\u0001}", "invalid character '\\x01' looking for beginning of object key string"],
    ["[".repeat(10001), "invalid character '[' exceeded max depth"],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => decode(input), (e: Error) => {
      assert.ok(e instanceof GoJsonError, String(e));
      assert.equal(e.message, message, JSON.stringify(input.slice(0, 40)));
      return true;
    });
  }
});

Deno.test("decodeConnect: case-insensitive keys, last one wins, null keeps, unknown ignored", () => {
  assert.deepEqual(decode("null"), defaults());
  assert.deepEqual(decode("{}"), defaults());
  assert.deepEqual(decode('{"verbose":null,"x":[1,{"y":2}]}'), defaults());
  const o = decode('{"Verbose":false,"PEDANTIC":false,"verbose":true,"VERBOSE":false}');
  assert.equal(o.verbose, false);
  assert.equal(o.pedantic, false);
  // Go folds the Kelvin sign onto k and the long s onto s.
  const f = decode(new TextEncoder().encode('{"n\u212aey":"N","\u017fig":"S"}'));
  assert.equal(f.nkey, "N");
  assert.equal(f.sig, "S");
  const all = decode(
    '{"echo":false,"headers":true,"no_responders":true,"protocol":1,"name":"n","lang":"l",' +
      '"version":"v","user":"u","pass":"p","auth_token":"t","account":"a","new_account":true}',
  );
  assert.deepEqual(all, {
    ...defaults(),
    echo: false,
    headers: true,
    no_responders: true,
    protocol: 1,
    name: "n",
    lang: "l",
    version: "v",
    user: "u",
    pass: "p",
    auth_token: "t",
    account: "a",
    new_account: true,
  });
});

Deno.test("decodeConnect: strings as Go decodes them (escapes, surrogates, invalid UTF-8)", () => {
  assert.equal(decode('{"name":"a\\u00e9\\ud83d\\ude00"}').name, "a\u00e9\u{1f600}");
  // A lone or mismatched surrogate is U+FFFD; the escape after it stands on its own.
  assert.equal(decode('{"name":"\\ud800\\ud800\\udc00"}').name, "\ufffd\u{10000}");
  assert.equal(decode('{"name":"\\udc00x"}').name, "\ufffdx");
  // Each byte of an invalid sequence is one U+FFFD.
  const bytes = Uint8Array.from([...latin1('{"name":"'), 0xe2, 0x82, 0x41, ...latin1('"}')]);
  assert.equal(decode(bytes).name, "\ufffd\ufffdA");
});

Deno.test("checkClientInfo types INFO's fields as nats-server's Info struct", () => {
  const bad: [string, string][] = [
    ['{"port":"x"}', "json: cannot unmarshal string into Go struct field Info.port of type int"],
    [
      '{"max_payload":2147483648}',
      "json: cannot unmarshal number 2147483648 into Go struct field Info.max_payload of type int32",
    ],
    [
      '{"client_id":-1}',
      "json: cannot unmarshal number -1 into Go struct field Info.client_id of type uint64",
    ],
    [
      '{"connect_urls":["a",1]}',
      "json: cannot unmarshal number into Go struct field Info.connect_urls of type string",
    ],
    [
      '{"gateway_cmd_payload":[1,300]}',
      "json: cannot unmarshal number 300 into Go struct field Info.gateway_cmd_payload of type uint8",
    ],
    ["[]", "json: cannot unmarshal array into Go value of type server.Info"],
  ];
  for (const [input, message] of bad) {
    assert.throws(() => checkClientInfo(latin1(input)), { message });
  }
  checkClientInfo(latin1('{"server_id":"x","port":4222,"connect_urls":["a",null],"ldm":true}'));
  checkClientInfo(latin1("null"));
});
