// Headless Chromium's own WebSocket client against our echo server:
// text (UTF-8), binary, a large text message, then a clean close.
// usage: node ws_chromium.js ws://127.0.0.1:PORT/
const { chromium } = require("playwright-core");

async function main() {
  const url = process.argv[2];
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    const result = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const inbox = [];
      let waiter = null;
      ws.onmessage = (e) => { inbox.push(e.data); if (waiter) { const w = waiter; waiter = null; w(); } };
      const next = () => new Promise((res) => { if (inbox.length) res(); else waiter = res; })
        .then(() => inbox.shift());
      await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error("ws error")); });
      const out = { extensions: ws.extensions };
      ws.send("h\u00e9llo \u{1F600}");
      out.text = await next();
      const bin = new Uint8Array(100000);
      for (let i = 0; i < bin.length; i++) bin[i] = (i * 7) & 255;
      ws.send(bin);
      const back = new Uint8Array(await next());
      out.binaryOk = back.length === bin.length && back.every((v, i) => v === bin[i]);
      const big = "abc\u00e9".repeat(50000);
      ws.send(big);
      out.bigOk = (await next()) === big;
      const closed = new Promise((res) => { ws.onclose = (e) => res({ code: e.code, clean: e.wasClean }); });
      ws.close(1000, "done");
      out.close = await closed;
      return out;
    }, url);
    console.log(JSON.stringify(result));
  } finally {
    await browser.close();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
