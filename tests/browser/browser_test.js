// Drives the echo_server example's page in headless Chromium, as a person
// would: load the page, Connect, type a message, Send, see it echoed, Close
// Socket, see the close with code 1000. Saves a screenshot at the end (also
// after a failure, when the page got that far).
//
//   node browser_test.js PAGE_URL SCREENSHOT.png
//
// Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM); playwright-core
// only drives it and never downloads a browser. Exits non-zero on any
// failure. Every wait has a generous limit so that a broken server fails
// the run instead of hanging it; no assertion is about how long anything
// took.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const [pageUrl, screenshot] = process.argv.slice(2);
if (!pageUrl || !screenshot) {
  console.error("usage: node browser_test.js PAGE_URL SCREENSHOT.png");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT = { timeout: 30000 };

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

async function logLines(page) {
  return page.$$eval("#log > div", (rows) => rows.map((r) => r.lastChild.textContent));
}

async function waitForLog(page, prefix) {
  await page.waitForFunction(
    (p) => [...document.querySelectorAll("#log > div")].some((r) => r.lastChild.textContent.startsWith(p)),
    prefix,
    WAIT,
  );
}

async function main() {
  // A new, empty profile for every run.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "wsock-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1000, height: 760 },
    // The https:// run (run.sh) uses a self-signed certificate made for it.
    ignoreHTTPSErrors: pageUrl.startsWith("https:"),
  });
  const problems = [];
  let page;
  try {
    page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });

    const response = await page.goto(pageUrl, WAIT);
    check(response && response.status() === 200, `GET ${pageUrl} answered 200 (got ${response && response.status()})`);
    check((await page.title()) === "wsock echo", "the page title is 'wsock echo'");
    // Over https:// the page must come over HTTP/2 (ALPN h2), so that the
    // socket can be an extended CONNECT on the same connection.
    const protocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
    const wantProtocol = pageUrl.startsWith("https:") ? "h2" : "http/1.1";
    check(protocol === wantProtocol, `the page came over ${wantProtocol} (got ${protocol})`);
    console.log(`  page over ${protocol}`);
    check((await page.textContent("#state")) === "Not connected", "the state starts as 'Not connected'");
    const wsUrl = await page.inputValue("#url");
    check(wsUrl === pageUrl.replace(/^http/, "ws").replace(/\/[^/]*$/, "/ws"), `the URL field points at /ws (${wsUrl})`);

    await page.click("#connect");
    await page.waitForSelector('#state[data-state="Open"]', WAIT);
    await waitForLog(page, "OPEN: ");

    const text = `Hello from Chromium ${Date.now()} \u00e9\u20ac\u{1F600}`;
    await page.fill("#message", text);
    await page.click("#send");
    await waitForLog(page, `RECEIVE: ${text}`);
    check((await logLines(page)).includes(`SEND: ${text}`), "the send is in the log");

    // A second message, sent with the Enter key.
    await page.fill("#message", "second message");
    await page.press("#message", "Enter");
    await waitForLog(page, "RECEIVE: second message");

    await page.click("#close");
    await waitForLog(page, "CLOSE: ");
    await page.waitForSelector('#state[data-state="Closed"]', WAIT);
    const close = (await logLines(page)).find((l) => l.startsWith("CLOSE: "));
    // The server answers with the client's code (the reason is not echoed).
    check(close.startsWith("CLOSE: code 1000,"), `a close with code 1000 (${close})`);
    check(!close.includes("not clean"), "the close was clean");
    const lines = await logLines(page);
    check(!lines.some((l) => l.startsWith("ERROR: ")), "no error event");
    check(problems.length === 0, `no page or console errors (${problems.join("; ")})`);
    console.log(lines.map((l) => `  ${l}`).join("\n"));
  } finally {
    if (page) {
      fs.mkdirSync(path.dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    }
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => console.log("browser test: passed"),
  (e) => {
    console.error(`browser test: FAILED: ${e.message}`);
    process.exit(1);
  },
);
