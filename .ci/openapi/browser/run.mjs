// Drives the TypeScript client in Debian's headless Chromium (playwright-core,
// no browser download) from two pages on other loopback origins than the
// API's: the page of the origin CORS_ORIGINS lists runs the walkthrough
// (its preflights answered 204), the page of another origin is refused
// (its preflight answered 403, its calls unreadable).
//
//   node run.mjs API_URL ALLOWED_PORT OTHER_PORT
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, normalize, extname } from "node:path";

const [api, allowedPort, otherPort] = process.argv.slice(2);
const root = process.cwd();
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript" };

// serve serves this directory (the page, the compiled client, openapi-fetch)
// on a loopback port: one origin.
function serve(port) {
  const server = createServer(async (req, res) => {
    const path = normalize(new URL(req.url, "http://x").pathname).replace(/^\/+/, "");
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { "Content-Type": types[extname(path)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(Number(port), "127.0.0.1", () => resolve(server)));
}

const servers = [await serve(allowedPort), await serve(otherPort)];
const profile = await mkdtemp(join(tmpdir(), "chromium-profile-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
let failed = false;
try {
  for (const [port, run, wantPreflight] of [[allowedPort, "walkthrough", 204], [otherPort, "probe", 403]]) {
    const page = await browser.newPage();
    // Chromium sends preflights on its own; its DevTools protocol reports
    // them as responses of type Preflight.
    const preflights = [];
    const cdp = await browser.newCDPSession(page);
    await cdp.send("Network.enable");
    cdp.on("Network.responseReceived", (e) => {
      if (e.type === "Preflight") preflights.push(e.response.status);
    });
    const origin = `http://127.0.0.1:${port}`;
    await page.goto(`${origin}/page.html?run=${run}&api=${encodeURIComponent(api)}`);
    const result = await page.evaluate(() => window.result);
    console.log(`${origin} (${run}): ${result.ok ? "ok" : "FAILED"}`);
    for (const line of result.lines) console.log(`  ${line}`);
    console.log(`  preflights answered: ${preflights.join(", ") || "none"}`);
    if (!result.ok || preflights.length === 0 || preflights.some((s) => s !== wantPreflight)) failed = true;
    if (run === "probe" && !result.lines.every((l) => l.includes("refused"))) failed = true;
    await page.close();
  }
} finally {
  await browser.close();
  await rm(profile, { recursive: true, force: true });
  for (const s of servers) s.close();
}
if (failed) {
  console.error("browser: the TypeScript client did not behave as the CORS contract says");
  process.exit(1);
}
console.log("browser: the allowed origin's calls succeed, another origin's are refused");
