// Lighthouse on the signed-in page: `node bench/lighthouse.mjs <page url> <email> <password>` prints one JSON line.
// Started by bench/lighthouse.py (which brings up a stack with a synced bank); needs `lighthouse` and
// `puppeteer-core` installed under .tools/lighthouse (git-ignored):
//   npm install --prefix .tools/lighthouse lighthouse puppeteer-core
// Chromium: CHROMIUM_PATH or Debian's /usr/bin/chromium.
//
// The page keeps its session in an HttpOnly refresh cookie: Chromium signs in through the page's own form first,
// then Lighthouse runs on that browser with its storage reset off (the cookie stays) and the HTTP cache cleared
// just before (so its load is a first, cold one). A second plain load afterwards counts what a return visit asks.

import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const tools = path.join(here, "..", ".tools", "lighthouse", "package.json");
const require = createRequire(tools);
const { default: lighthouse } = await import(require.resolve("lighthouse"));
const { default: desktopConfig } = await import(require.resolve("lighthouse/core/config/desktop-config.js"));
const puppeteer = (await import(require.resolve("puppeteer-core"))).default;

const [url, email, password] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});

function summary(lhr) {
  const requests = lhr.audits["network-requests"].details.items;
  const score = (name) => Math.round((lhr.categories[name]?.score ?? 0) * 100);
  const failing = Object.values(lhr.audits)
    .filter((audit) => audit.score !== null && audit.score < 0.9 && audit.scoreDisplayMode !== "informative")
    .map((audit) => `${audit.id} (${audit.score})`);
  return {
    accessibility: score("accessibility"),
    best_practices: score("best-practices"),
    performance: score("performance"),
    requests: requests.length,
    transfer_bytes: requests.reduce((sum, item) => sum + (item.transferSize ?? 0), 0),
    resource_bytes: requests.reduce((sum, item) => sum + (item.resourceSize ?? 0), 0),
    fcp_ms: Math.round(lhr.audits["first-contentful-paint"].numericValue),
    lcp_ms: Math.round(lhr.audits["largest-contentful-paint"].numericValue),
    cls: Number(lhr.audits["cumulative-layout-shift"].numericValue.toFixed(3)),
    tbt_ms: Math.round(lhr.audits["total-blocking-time"].numericValue),
    below_90: failing,
  };
}

try {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: "networkidle0" });
  await page.waitForSelector("#auth:not([hidden])");
  await page.$eval("#email", (input) => (input.value = ""));
  await page.$eval("#password", (input) => (input.value = ""));
  await page.type("#email", email);
  await page.type("#password", password);
  await page.click("#login");
  await page.waitForFunction(() => document.querySelector("#signed-in-as")?.textContent.trim());
  await page.waitForSelector("#accounts .account");

  const cdp = await page.createCDPSession();
  const results = {};
  for (const [name, config] of [
    ["mobile", undefined],
    ["desktop", desktopConfig],
  ]) {
    await cdp.send("Network.clearBrowserCache");
    await page.goto("about:blank"); // the signed-in page's teardown is not counted in the measured load
    const flags = {
      output: "json",
      logLevel: "error",
      disableStorageReset: true,
      onlyCategories: ["accessibility", "best-practices", "performance"],
    };
    const run = await lighthouse(url, flags, config, page);
    results[name] = summary(run.lhr);
    // The whole report, to see what an audit flags: LIGHTHOUSE_REPORT_DIR=/tmp/lh node bench/lighthouse.mjs …
    if (process.env.LIGHTHOUSE_REPORT_DIR) {
      writeFileSync(path.join(process.env.LIGHTHOUSE_REPORT_DIR, `${name}.json`), JSON.stringify(run.lhr));
    }
  }

  // A return visit: what is asked of the network (not answered from the cache).
  let asked = 0;
  let bytes = 0;
  page.on("response", async (response) => {
    if (response.fromCache()) return;
    asked += 1;
    const length = Number(response.headers()["content-length"] ?? 0);
    bytes += Number.isFinite(length) ? length : 0;
  });
  await page.goto(url, { waitUntil: "networkidle0" });
  await page.waitForSelector("#accounts .account");
  results.return_visit = { requests_to_network: asked, content_length_bytes: bytes };
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
