// The console page's status view in headless Chromium (playwright-core):
// log in at the terminal's prompt, open "Board status", read the table.
// usage: node console_status.js URL PASSWORD [WRONG]
// With WRONG, the login is skipped and WRONG typed into the status view's
// own password field instead.
const { chromium } = require("playwright-core");

async function main() {
  const [url, password, wrong] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const result = {};
  try {
    const page = await browser.newPage();
    await page.goto(url);
    const text = (id) => document.getElementById(id).textContent;
    if (!wrong) {
      await page.waitForFunction(() => document.getElementById("term").textContent.includes("Password: "), null, { timeout: 10000 });
      await page.locator("#term").click();
      await page.keyboard.type(password);
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => document.getElementById("term").textContent.includes("WebREPL connected"), null, { timeout: 10000 });
      await page.click("#showstatus");
      await page.waitForFunction(() => document.getElementById("statustable").rows.length > 0, null, { timeout: 10000 });
    } else {
      await page.click("#showstatus");
      await page.waitForFunction(() => !document.getElementById("statusask").hidden, null, { timeout: 10000 });
      await page.fill("#statuspw", wrong);
      await page.click("#statusgo");
      await page.waitForFunction(() => document.getElementById("statusnote").textContent.startsWith("status:"), null, { timeout: 10000 });
    }
    result.rows = await page.evaluate(() => Array.from(document.getElementById("statustable").rows, (r) => [r.cells[0].textContent, r.cells[1].textContent]));
    result.note = await page.evaluate(text, "statusnote");
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
}
main().catch((e) => { console.error(e); process.exit(1); });
