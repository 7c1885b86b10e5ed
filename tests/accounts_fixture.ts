/**
 * One multi-account setup written twice: as Options for our server (the accounts {} config
 * parser lands separately) and as the equivalent nats-server config file, so tests can run both
 * side by side. A exports a service and a stream, B imports both, SYS is the system account.
 */

import type { AccountOptions, PartialOptions } from "../src/options.ts";

export function account(name: string, extra: Partial<AccountOptions> = {}): AccountOptions {
  return {
    name,
    streamExports: [],
    serviceExports: [],
    streamImports: [],
    serviceImports: [],
    mappings: [],
    limits: { maxConnections: -1, maxSubscriptions: -1, maxPayload: -1, maxLeafnodes: -1 },
    ...extra,
  };
}

export const ACCOUNTS: PartialOptions = {
  serverName: "srv1",
  accounts: [
    account("A", {
      serviceExports: [{ subject: "svc.>", responseType: "Singleton", responseThresholdMs: 0 }],
      streamExports: [{ subject: "st.>" }],
    }),
    account("B", {
      serviceImports: [{ account: "A", subject: "svc.>", to: "svc.>", share: false }],
      streamImports: [{ account: "A", subject: "st.>" }],
    }),
    account("SYS"),
  ],
  users: [
    { username: "a", password: "a", account: "A" },
    { username: "b", password: "b", account: "B" },
    { username: "sys", password: "sys", account: "SYS" },
  ],
  systemAccount: "SYS",
};

export const ACCOUNTS_CONF = `server_name: srv1
accounts {
  A: { users: [{user: a, password: a}], exports: [{service: "svc.>"}, {stream: "st.>"}] }
  B: {
    users: [{user: b, password: b}]
    imports: [{service: {account: A, subject: "svc.>"}}, {stream: {account: A, subject: "st.>"}}]
  }
  SYS: { users: [{user: sys, password: sys}] }
}
system_account: SYS
`;
