// End-to-end test of loads-master --web in a real browser (Debian's chromium, driven by
// playwright-core): the numbers on the page move and match the run, Stop stops it.
//
//   node tests/web/dashboard.mjs BUILD_DIR [--distributed]
//
// Starts the demo target and a 300 s run with --web 127.0.0.1:0, opens the page, reads
// the request and hit counts twice (they must grow and never exceed the final report),
// clicks Stop, and checks that the master exits 0 within 20 s of the click, that the page's
// final counts equal the JSON report's, and saves BUILD_DIR/test-output/dashboard.png.
// With --distributed the run goes through a loads-broker and two loads-agents on free
// loopback ports (as scripts/demo.sh does): the page must also list both agents running,
// then done after Stop with their request counts equal to the report's, and every
// agent must log that its slave ended; screenshots are dashboard-distributed*.png.
// Every wait is a condition with a timeout. Exits 1 on any failure (a missing chromium
// is a failure, not a skip).
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CHROMIUM, check, freePort, launchBrowser, runTest, startAndWaitFor, tempDir, withTimeout } from "./support.mjs";

const RUN_SECONDS = 300;  // far longer than the test: only Stop can end it in time
const build = resolve(process.argv[2] || "build");
const distributed = process.argv.includes("--distributed");
const AGENTS = 2;
const shotName = distributed ? "dashboard-distributed" : "dashboard";
const outDir = join(build, "test-output");
const work = tempDir("loads-web-");
const jsonFile = join(work, "run.json");

// Distributed mode: a broker and AGENTS agents; returns the master's extra arguments.
async function startCluster(work) {
  const frontend = `tcp://127.0.0.1:${await freePort()}`;
  const backend = `tcp://127.0.0.1:${await freePort()}`;
  const broker = startAndWaitFor(join(build, "broker/loads-broker"), ["--frontend", frontend, "--backend", backend],
    /(masters on)/, 10000);
  await broker.found;
  const agents = [];
  for (let i = 1; i <= AGENTS; ++i) {
    agents.push(startAndWaitFor(join(build, "agent/loads-agent"), ["--broker", backend, "--id", `web-agent-${i}`,
      "--cache-dir", join(work, `cache-${i}`)], /(registered with)/, 10000));
  }
  for (const a of agents) await a.found;
  return { agents, args: ["--broker", frontend, "--agents", String(AGENTS), "--wait-agents", "10s"] };
}

async function readCounts(page) {
  return page.evaluate(() => ({
    requests: Number(document.getElementById("requests").dataset.value),
    hits: Number(document.getElementById("hits").dataset.value),
    state: document.getElementById("state").textContent,
    updates: Number(document.body.dataset.updates || 0),
  }));
}

// The agents table: [{id, state, requests}], empty while it is hidden.
async function readAgents(page) {
  return page.evaluate(() => {
    if (document.getElementById("agents-section").hidden) return [];
    return [...document.querySelectorAll("#agents tbody tr")].map((tr) => {
      const td = [...tr.querySelectorAll("td")].map((c) => c.textContent);
      return { id: td[0], state: td[2], requests: Number((td[4] || "").replace(/[^0-9]/g, "")) };
    });
  });
}

async function waitForAgents(page, state, timeout) {
  await page.waitForFunction(([n, want]) => {
    const rows = [...document.querySelectorAll("#agents tbody tr")];
    return !document.getElementById("agents-section").hidden && rows.length === n &&
      rows.every((tr) => tr.querySelectorAll("td")[2]?.textContent === want);
  }, [AGENTS, state], { timeout });
}

async function main() {
  check(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does)`);
  const targetBin = join(build, "examples/target/loads-target");
  const masterBin = join(build, "master/loads-master");
  const library = join(build, "examples/blog/libblog.so");
  const needed = [targetBin, masterBin, library];
  if (distributed) needed.push(join(build, "broker/loads-broker"), join(build, "agent/loads-agent"), join(build, "agent/loads-slave"));
  for (const f of needed) check(existsSync(f), `${f} is missing: build first`);

  const target = startAndWaitFor(targetBin, ["--port", "0"], /listening on (\S+)/, 10000);
  const serverUrl = await target.found;
  const cluster = distributed ? await startCluster(work) : { agents: [], args: [] };
  const master = startAndWaitFor(masterBin, [...cluster.args, library, "-u", "6", "-d", `${RUN_SECONDS}s`,
    "--web", "127.0.0.1:0", "--server-url", serverUrl, "--json", jsonFile], /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/, 20000);
  const dashboardUrl = await master.found;

  const browser = await launchBrowser({ width: 1200, height: 1100 });
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
  if (distributed) {
    // Both agents are listed as running, and each one's request count moves.
    await waitForAgents(page, "running", 10000);
    const before = await readAgents(page);
    check(before.map((a) => a.id).sort().join() === "web-agent-1,web-agent-2", `agents on the page: ${JSON.stringify(before)}`);
    await page.waitForFunction((old) => [...document.querySelectorAll("#agents tbody tr")].every((tr, i) =>
      Number(tr.querySelectorAll("td")[4].textContent.replace(/[^0-9]/g, "")) > old[i]), before.map((a) => a.requests), { timeout: 15000 });
  }
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, `${shotName}.png`), fullPage: true });

  // Stop: the run ends like Ctrl-C; the page shows the final state.
  // Timed from the click, not from the master's start: a busy machine (a compile beside the
  // test) may take long to get here, but not to stop.
  const clicked = Date.now();
  await page.click("#stop");
  await page.waitForFunction(() => document.getElementById("state").textContent === "finished", null, { timeout: 30000 });
  const final = await readCounts(page);
  const finalAgents = await readAgents(page);
  await page.screenshot({ path: join(outDir, `${shotName}-final.png`), fullPage: true });
  const { code, signal } = await withTimeout(master.exited, 30000, "loads-master to exit after Stop");
  const seconds = (Date.now() - clicked) / 1000;
  const { out, err } = master.output();
  check(code === 0, `loads-master exited ${code} (signal ${signal})\nstdout: ${out}\nstderr: ${err}`);
  check(seconds < 20, `loads-master exited ${seconds} s after the click: Stop did not stop it`);
  check(/Stop pressed on the dashboard/.test(err), `no stop message on stderr: ${err}`);

  const report = JSON.parse(readFileSync(jsonFile, "utf8"));
  const summary = report.summary;
  check(second.requests <= summary.requests, `page showed ${second.requests} requests, the report has ${summary.requests}`);
  check(final.requests === summary.requests, `final requests: page ${final.requests}, report ${summary.requests}`);
  check(final.hits === summary.hits, `final hits: page ${final.hits}, report ${summary.hits}`);
  check(pageErrors.length === 0, `errors on the page: ${pageErrors.join("; ")}`);
  if (distributed) await checkAgentsEnded(cluster.agents, finalAgents, report);
  console.log(`ok${distributed ? " (distributed, 2 agents)" : ""}: ${first.requests} -> ${second.requests} requests live; ` +
    `final ${final.requests} requests, ${final.hits} hits = report; exited ${seconds.toFixed(1)} s after Stop; ` +
    `screenshot ${join(outDir, `${shotName}.png`)}`);
}

// After Stop: every agent's slave ended (its own log says so), the page lists both agents
// done, and each one's request count equals the report's for that agent.
async function checkAgentsEnded(agents, rows, report) {
  for (const a of agents) await a.waitFor(/job ended, exit code [01], signal 0/, 15000);
  check(rows.length === AGENTS && rows.every((r) => r.state === "done"), `agents after Stop: ${JSON.stringify(rows)}`);
  const bySource = Object.values(report.requestsBySource).sort((x, y) => x - y);
  const onPage = rows.map((r) => r.requests).sort((x, y) => x - y);
  check(JSON.stringify(bySource) === JSON.stringify(onPage), `agents' requests: page ${onPage}, report ${bySource}`);
}

await runTest(main);
