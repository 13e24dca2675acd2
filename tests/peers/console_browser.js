// Drive the device console page in headless Chromium (playwright-core):
// log in, evaluate an expression, upload a file and download it back, all
// through the page's own terminal and buttons.
// usage: node console_browser.js URL PASSWORD SCREENSHOT.png
const { chromium } = require("playwright-core");

async function main() {
  const [url, password, shot] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const result = { frames: 0 };
  try {
    const page = await browser.newPage();
    page.on("websocket", (ws) => { ws.on("framesent", () => result.frames++); });
    await page.goto(url);
    const term = page.locator("#term");
    await page.waitForFunction(() => document.getElementById("term").textContent.includes("Password: "), null, { timeout: 10000 });
    await term.click();
    await page.keyboard.type(password);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.getElementById("term").textContent.includes("WebREPL connected"), null, { timeout: 10000 });
    await page.keyboard.type("6*7");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /\n42\s*\n>>> /.test(document.getElementById("term").textContent), null, { timeout: 10000 });
    result.terminal = await term.textContent();

    const content = "uploaded from Chromium\n" + "x".repeat(3000) + "\nend\n";
    await page.setInputFiles("#upfile", { name: "local.txt", mimeType: "text/plain", buffer: Buffer.from(content) });
    await page.fill("#upname", "up.txt");
    await page.click("#up");
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("upload"), null, { timeout: 10000 });
    result.uploadStatus = await page.textContent("#status");

    await page.fill("#downname", "up.txt");
    await page.click("#down");
    await page.waitForFunction(() => /download/.test(document.getElementById("status").textContent), null, { timeout: 10000 });
    result.downloadStatus = await page.textContent("#status");
    result.downloaded = await page.evaluate(async () => {
      const data = await window.consoleDownload("up.txt");
      return data ? new TextDecoder().decode(data) : null;
    });
    result.sent = content;
    if (shot) await page.screenshot({ path: shot });
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
}
main().catch((e) => { console.error(e); process.exit(1); });
