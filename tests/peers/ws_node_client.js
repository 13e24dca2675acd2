// Node `ws` client for the interop tests: connects, sends the messages
// given as JSON on argv, checks each echo, prints one JSON line of results.
// usage: node ws_node_client.js URL [compress:0|1] [ca.pem]
const WebSocket = require('ws');
const fs = require('fs');
const url = process.argv[2];
const compress = process.argv[3] === '1';
const opts = { perMessageDeflate: compress, maxPayload: 64 * 1024 * 1024 };
if (process.argv[4]) opts.ca = fs.readFileSync(process.argv[4]);
const ws = new WebSocket(url, opts);
const sizes = [0, 16, 125, 126, 1024, 65535, 65536, 100000];
const sent = [];
let i = 0;
const result = { ok: 0, bad: [], extensions: null, pong: false };
function next() {
  if (i >= sizes.length * 2) { ws.ping(Buffer.from('nodeping')); return; }
  const n = sizes[i >> 1];
  const msg = (i & 1) ? Buffer.alloc(n, i) : 'é'.repeat(n >> 1) + 'x'.repeat(n & 1);
  sent.push(msg);
  ws.send(msg);
  i++;
}
ws.on('open', () => { result.extensions = ws.extensions; next(); });
ws.on('message', (data, isBinary) => {
  const want = sent.shift();
  const same = isBinary ? (Buffer.isBuffer(want) && want.equals(data)) : (typeof want === 'string' && data.toString() === want);
  if (same) result.ok++; else result.bad.push(i);
  next();
});
ws.on('pong', (d) => { result.pong = d.toString() === 'nodeping'; ws.close(4001, 'node done'); });
ws.on('close', (code, reason) => {
  result.code = code; result.reason = reason.toString();
  console.log(JSON.stringify(result));
  process.exit(0);
});
ws.on('error', (e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
setTimeout(() => { console.log(JSON.stringify({ error: 'timeout', result })); process.exit(1); }, 60000);
