// The TypeScript client of the example API, as a web page uses it: types
// generated from the served document by openapi-typescript (api.d.ts, made
// by .ci/openapi/run), calls made by openapi-fetch. tsc checks every path,
// parameter, body and answer below against the document's types.
import createClient from "openapi-fetch";
import type { paths, components } from "./api";

type Account = components["schemas"]["Account"];

// walkthrough runs the README's walkthrough from the page: register, log
// in, read the caller, open two accounts, deposit, transfer with an
// Idempotency-Key, and read the transfers a cursor page at a time. It
// returns one line per step and throws on any unexpected answer.
export async function walkthrough(baseUrl: string): Promise<string[]> {
  const log: string[] = [];
  const api = createClient<paths>({ baseUrl });
  const email = `ts-client-${Date.now()}@example.com`;

  const reg = await api.POST("/v1/auth/register", {
    body: { email, password: "correct-horse", name: "TS Client" },
  });
  if (reg.response.status !== 201 || !reg.data) throw new Error(`register: ${reg.response.status}`);
  const user = reg.data.data;
  if (!("email" in user)) throw new Error("register: a user without email");
  log.push(`register ${user.id} ${user.roles.join(",")}`);

  const bad = await api.POST("/v1/auth/register", { body: { email, password: "short", name: "" } });
  // The error is the envelope, or a problem document for a client that
  // asks for one: the types say both, and the page asked for neither.
  if (bad.response.status !== 400 || !bad.error || !("error" in bad.error)) {
    throw new Error(`bad register: ${bad.response.status}`);
  }
  const violations = bad.error.error.violations ?? [];
  log.push(`register refused ${bad.error.error.code} at ${violations.map((v) => v.location).join(" ")}`);

  const login = await api.POST("/v1/auth/login", { body: { email, password: "correct-horse" } });
  if (!login.data) throw new Error(`login: ${login.response.status}`);
  const headers = { Authorization: `Bearer ${login.data.data.accessToken}` };
  log.push(`login ${login.data.data.tokenType} ${login.data.data.expiresIn}s`);

  const me = await api.GET("/v1/users/me", { headers });
  if (!me.data) throw new Error(`me: ${me.response.status}`);
  log.push(`me ${me.data.data.name} request ${me.response.headers.get("X-Request-Id") ?? "(not exposed)"}`);

  const accounts: Account[] = [];
  for (let i = 0; i < 2; i++) {
    const acc = await api.POST("/v1/accounts", { headers, body: { currency: "EUR" } });
    if (!acc.data) throw new Error(`open account: ${acc.response.status}`);
    accounts.push(acc.data.data);
  }
  const [from, to] = accounts;
  const dep = await api.POST("/v1/accounts/{id}/deposits", {
    headers,
    params: { path: { id: from.id } },
    body: { amount: 5000 },
  });
  if (!dep.data) throw new Error(`deposit: ${dep.response.status}`);
  log.push(`deposit balance ${dep.data.data.balance}`);

  for (const amount of [1000, 200, 300]) {
    const tr = await api.POST("/v1/transfers", {
      headers,
      params: { header: { "Idempotency-Key": `ts-${Date.now()}-${amount}` } },
      body: { fromAccountId: from.id, toAccountId: to.id, amount },
    });
    if (tr.response.status !== 201 || !tr.data) throw new Error(`transfer: ${tr.response.status}`);
    log.push(`transfer ${tr.data.data.amount}`);
  }

  let cursor: string | undefined;
  let seen = 0;
  for (let page = 1; ; page++) {
    const list = await api.GET("/v1/accounts/{id}/transfers", {
      headers,
      params: { path: { id: from.id }, query: { limit: 2, cursor } },
    });
    if (!list.data) throw new Error(`transfers: ${list.response.status}`);
    seen += list.data.data.length;
    const next = list.data.meta.cursor.next;
    log.push(`transfers page ${page}: ${list.data.data.length}, hasMore ${list.data.meta.cursor.hasMore}`);
    if (next === null) break;
    cursor = next;
  }
  if (seen !== 3) throw new Error(`transfers: ${seen} over the pages, want 3`);
  return log;
}

// probe makes one preflighted call (a bearer token and a JSON body) and
// one simple call; from an origin the service does not list, both fail in
// the browser, which keeps the answer from the page.
export async function probe(baseUrl: string): Promise<string[]> {
  const api = createClient<paths>({ baseUrl });
  const out: string[] = [];
  try {
    const r = await api.POST("/v1/accounts", { headers: { Authorization: "Bearer x" }, body: { currency: "EUR" } });
    out.push(`preflighted call answered ${r.response.status}`);
  } catch (e) {
    out.push(`preflighted call refused: ${(e as Error).name}`);
  }
  try {
    const r = await api.GET("/healthz");
    out.push(`simple call answered ${r.response.status}`);
  } catch (e) {
    out.push(`simple call refused: ${(e as Error).name}`);
  }
  return out;
}
