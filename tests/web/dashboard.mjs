// End-to-end test of loads-master --web in a real browser (Debian's chromium, driven by
// playwright-core): the numbers on the page move and match the run, Stop stops it.
//
//   node tests/web/dashboard.mjs BUILD_DIR
//
// Starts the demo target and a 60 s run with --web 127.0.0.1:0, opens the page, reads
// the request and hit counts twice (they must grow and never exceed the final report),
// clicks Stop, and checks that the master exits 0 well before 60 s, that the page's
// final counts equal the JSON report's, and saves BUILD_DIR/test-output/dashboard.png.
// Every wait is a condition with a timeout. Exits 1 on any failure (a missing chromium
// is a failure, not a skip).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.LOADS_CHROMIUM || "/usr/bin/chromium";
const RUN_SECONDS = 60;
const build = resolve(process.argv[2] || "build");
const outDir = join(build, "test-output");
const work = mkdtempSync(join(tmpdir(), "loads-web-"));
const jsonFile = join(work, "run.json");
const children = [];
let browser = null;

function fail(message) {
  throw new Error(message);
}

function check(condition, message) {
  if (!condition) fail(message);
}

// Starts a program; resolves with the first match of `pattern` in its stdout.
function startAndWaitFor(program, args, pattern, timeoutMs) {
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
  return { child, found, exited, output: () => ({ out, err }) };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); })])
    .finally(() => clearTimeout(timer));
}

async function readCounts(page) {
  return page.evaluate(() => ({
    requests: Number(document.getElementById("requests").dataset.value),
    hits: Number(document.getElementById("hits").dataset.value),
    state: document.getElementById("state").textContent,
    updates: Number(document.body.dataset.updates || 0),
  }));
}

async function main() {
  check(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does)`);
  const targetBin = join(build, "examples/target/loads-target");
  const masterBin = join(build, "master/loads-master");
  const library = join(build, "examples/blog/libblog.so");
  for (const f of [targetBin, masterBin, library]) check(existsSync(f), `${f} is missing: build first`);

  const target = startAndWaitFor(targetBin, ["--port", "0"], /listening on (\S+)/, 10000);
  const serverUrl = await target.found;
  const started = Date.now();
  const master = startAndWaitFor(masterBin, [library, "-u", "5", "-d", `${RUN_SECONDS}s`, "--web", "127.0.0.1:0",
    "--server-url", serverUrl, "--json", jsonFile], /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/, 20000);
  const dashboardUrl = await master.found;

  const profile = mkdtempSync(join(tmpdir(), "loads-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 1100 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const page = browser.pages()[0] || (await browser.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(dashboardUrl);

  // The numbers move: requests arrive, and a later push shows more.
  await page.waitForFunction(() => Number(document.getElementById("requests").dataset.value) > 0, null, { timeout: 20000 });
  const first = await readCounts(page);
  check(first.state === "running", `the page says "${first.state}" while the run goes on`);
  await page.waitForFunction((n) => Number(document.getElementById("requests").dataset.value) > n, first.requests, { timeout: 10000 });
  const second = await readCounts(page);
  check(second.updates > first.updates, "no second push arrived");
  check(second.hits >= first.hits, `hits went down: ${first.hits} then ${second.hits}`);
  // The tables are filled from the run.
  const tables = await page.evaluate(() => ({
    requestRows: document.querySelectorAll("#request-table tbody tr").length,
    requestName: document.querySelector("#request-table tbody td")?.textContent || "",
    testRows: [...document.querySelectorAll("#test-table tbody td:first-child")].map((td) => td.textContent),
    chartWidth: document.getElementById("chart-rps").width,
  }));
  check(tables.requestRows > 0 && /^GET /.test(tables.requestName), `request table: ${JSON.stringify(tables)}`);
  check(tables.testRows.some((t) => t.includes(".")), `test table: ${JSON.stringify(tables)}`);
  check(tables.chartWidth > 0, "the request chart was not drawn");
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, "dashboard.png"), fullPage: true });

  // Stop: the run ends like Ctrl-C; the page shows the final state.
  await page.click("#stop");
  await page.waitForFunction(() => document.getElementById("state").textContent === "finished", null, { timeout: 30000 });
  const final = await readCounts(page);
  await page.screenshot({ path: join(outDir, "dashboard-final.png"), fullPage: true });
  const { code, signal } = await withTimeout(master.exited, 30000, "loads-master to exit after Stop");
  const seconds = (Date.now() - started) / 1000;
  const { out, err } = master.output();
  check(code === 0, `loads-master exited ${code} (signal ${signal})\nstdout: ${out}\nstderr: ${err}`);
  check(seconds < RUN_SECONDS - 20, `the run took ${seconds} s: Stop did not stop it`);
  check(/Stop pressed on the dashboard/.test(err), `no stop message on stderr: ${err}`);

  const report = JSON.parse(readFileSync(jsonFile, "utf8"));
  const summary = report.summary;
  check(second.requests <= summary.requests, `page showed ${second.requests} requests, the report has ${summary.requests}`);
  check(final.requests === summary.requests, `final requests: page ${final.requests}, report ${summary.requests}`);
  check(final.hits === summary.hits, `final hits: page ${final.hits}, report ${summary.hits}`);
  check(pageErrors.length === 0, `errors on the page: ${pageErrors.join("; ")}`);
  console.log(`ok: ${first.requests} -> ${second.requests} requests live; final ${final.requests} requests, ` +
    `${final.hits} hits = report; stopped after ${seconds.toFixed(1)} s; screenshot ${join(outDir, "dashboard.png")}`);
}

let status = 0;
try {
  await main();
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  status = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
}
process.exit(status);
