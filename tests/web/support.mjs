// Helpers shared by the browser tests: bounded waits, child processes, and Debian's
// chromium driven by playwright-core. Every wait has a timeout; every child started here
// is killed by cleanUp().
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.LOADS_CHROMIUM || "/usr/bin/chromium";
const children = [];
const dirs = [];
let browser = null;

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); })])
    .finally(() => clearTimeout(timer));
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

// Starts a program; `found` resolves with the first group of `pattern`'s first match in
// its stdout, `waitFor(re, ms)` when `re` shows in stdout or stderr.
export function startAndWaitFor(program, args, pattern, timeoutMs) {
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "", err = "";
  child.stderr.on("data", (d) => { err += d; });
  const exited = new Promise((res) => child.on("exit", (code, signal) => res({ code, signal })));
  const found = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${program}: no ${pattern} within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) { clearTimeout(timer); res(m[1]); }
    });
    exited.then(({ code }) => { clearTimeout(timer); rej(new Error(`${program} exited (${code}) before ${pattern}\nstdout: ${out}\nstderr: ${err}`)); });
  });
  found.catch(() => {});  // a caller that only waits for the exit must not see it as unhandled
  const waitFor = (re, ms) => withTimeout(new Promise((res) => {
    const poll = () => (re.test(out) || re.test(err) ? res() : setTimeout(poll, 100));
    poll();
  }), ms, `${program} to print ${re}\nstdout: ${out}\nstderr: ${err}`);
  return { child, found, exited, waitFor, output: () => ({ out, err }) };
}

// A TCP port that was free a moment ago (the broker cannot bind port 0 and print it).
export function freePort() {
  return new Promise((res, rej) => {
    const server = createServer();
    server.on("error", rej);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
  });
}

// Headless chromium with a throw-away profile and no background traffic of its own.
export async function launchBrowser(viewport) {
  browser = await chromium.launchPersistentContext(tempDir("loads-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  return browser;
}

// Runs `main`, prints FAIL and exits 1 when it throws; always cleans up.
export async function runTest(main) {
  let status = 0;
  try {
    await main();
  } catch (e) {
    console.error(`FAIL: ${e.message}`);
    status = 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  process.exit(status);
}
