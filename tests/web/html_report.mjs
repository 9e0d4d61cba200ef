// The HTML report in a real browser (Debian's chromium, driven by playwright-core), at
// phone size (390x844) and laptop size (1366x768).
//
//   node tests/web/html_report.mjs BUILD_DIR
//
// Makes a report from a real 3 s run of the demo target (loads-master --html), and
// re-renders the golden distributed report (tests/report/golden/run.json, hostile text
// and a per-agent chart) with --report. Each page is opened from its file: the body must
// not overflow sideways, every chart's SVG must have a non-zero size, the tables must
// be there, and the page must make no request other than the file itself (every
// request is observed, and any other is aborted and fails the test). Screenshots go to
// BUILD_DIR/test-output/report-{phone,laptop}.png (and golden-report-*.png).
// Exits 1 on any failure (a missing chromium is a failure, not a skip).
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CHROMIUM, check, launchBrowser, runTest, startAndWaitFor, tempDir, withTimeout } from "./support.mjs";

const build = resolve(process.argv[2] || "build");
const source = fileURLToPath(new URL("../..", import.meta.url));
const outDir = join(build, "test-output");
const work = tempDir("loads-report-");
const SIZES = { phone: { width: 390, height: 844 }, laptop: { width: 1366, height: 768 } };

// A real short run against the demo target, written as HTML (and JSON for the counts).
async function reportOfRealRun() {
  const target = startAndWaitFor(join(build, "examples/target/loads-target"), ["--port", "0"], /listening on (\S+)/, 10000);
  const serverUrl = await target.found;
  const html = join(work, "run.html");
  const master = startAndWaitFor(join(build, "master/loads-master"), [join(build, "examples/blog/libblog.so"),
    "-u", "4", "-d", "3s", "-q", "--server-url", serverUrl, "--html", html], /(never)/, 60000);
  const { code } = await withTimeout(master.exited, 60000, "loads-master to finish a 3 s run");
  check(code === 0, `loads-master exited ${code}: ${JSON.stringify(master.output())}`);
  return html;
}

async function reportOfGoldenJson() {
  const html = join(work, "golden.html");
  const master = startAndWaitFor(join(build, "master/loads-master"), ["--report", join(source, "tests/report/golden/run.json"),
    "--html", html], /(never)/, 30000);
  const { code } = await withTimeout(master.exited, 30000, "loads-master --report");
  // run.json records exit code 1 and a failed threshold; re-rendering it is not a run.
  check(existsSync(html), `loads-master --report wrote no HTML (exit ${code}): ${JSON.stringify(master.output())}`);
  return html;
}

// Opens `file` at `size` and checks layout, charts, tables and network; saves a screenshot.
async function checkPage(browser, file, sizeName, shot, minCharts) {
  const fileUrl = pathToFileURL(file).href;
  const page = await browser.newPage();
  await page.setViewportSize(SIZES[sizeName]);
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.route("**/*", (route) => (route.request().url() === fileUrl ? route.continue() : route.abort()));
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(fileUrl, { waitUntil: "load" });
  const facts = await page.evaluate(() => ({
    bodyScroll: document.body.scrollWidth,
    docScroll: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
    svgs: [...document.querySelectorAll("svg")].map((s) => {
      const r = s.getBoundingClientRect();
      return { label: s.getAttribute("aria-label"), width: r.width, height: r.height };
    }),
    tables: [...document.querySelectorAll("table")].map((t) => t.querySelectorAll("tbody tr").length),
    headings: [...document.querySelectorAll("h2")].map((h) => h.textContent),
  }));
  const where = `${file} at ${sizeName}`;
  check(facts.bodyScroll <= facts.viewport && facts.docScroll <= facts.viewport,
    `${where}: the page is wider than the screen (body ${facts.bodyScroll}, document ${facts.docScroll}, viewport ${facts.viewport})`);
  check(facts.svgs.length >= minCharts, `${where}: ${facts.svgs.length} charts, expected at least ${minCharts}`);
  for (const s of facts.svgs) check(s.width > 0 && s.height > 0, `${where}: chart "${s.label}" is ${s.width}x${s.height}`);
  check(facts.tables.length >= 3 && facts.tables.every((rows) => rows > 0), `${where}: tables ${JSON.stringify(facts.tables)}`);
  check(["Summary", "Over time", "Run"].every((h) => facts.headings.some((t) => t.startsWith(h))), `${where}: sections ${facts.headings}`);
  await page.screenshot({ path: join(outDir, `${shot}-${sizeName}.png`), fullPage: true });
  const others = requests.filter((u) => u !== fileUrl);
  check(others.length === 0, `${where}: the page requested ${others.join(", ")}`);
  check(requests.length === 1, `${where}: requests ${JSON.stringify(requests)}`);
  check(pageErrors.length === 0, `${where}: errors on the page: ${pageErrors.join("; ")}`);
  await page.close();
  return facts.svgs.length;
}

async function main() {
  check(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does)`);
  for (const f of ["examples/target/loads-target", "master/loads-master", "examples/blog/libblog.so"]) {
    check(existsSync(join(build, f)), `${join(build, f)} is missing: build first`);
  }
  const real = await reportOfRealRun();
  const golden = await reportOfGoldenJson();
  mkdirSync(outDir, { recursive: true });
  const browser = await launchBrowser(SIZES.laptop);
  const summary = [];
  for (const sizeName of Object.keys(SIZES)) {
    // requests/s, errors/s, latency, users; the golden report adds req/s per agent
    summary.push(`${sizeName}: ${await checkPage(browser, real, sizeName, "report", 4)} + ` +
      `${await checkPage(browser, golden, sizeName, "golden-report", 5)} charts`);
  }
  console.log(`ok: ${summary.join("; ")}; one request per page (the file); screenshots in ${outDir}/report-*.png`);
}

await runTest(main);
