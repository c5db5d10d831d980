// Scale check (not a timed test): a 10,000 subtraders x 100 markets world serves a 1,000,000-row
// obligation by streaming. Run: npx tsx apps/klear-sim/scripts/big-world-check.ts
import { startKlearSimulator } from '../src/index';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const sim = await startKlearSimulator({ port: 0, seed: 7, subtraders: 10_000, markets: 100, days: 3, rateLimit: false });
const headers = { authorization: `Bearer ${sim.options.adminUserId}:${sim.options.accessToken}` };
await fetch(`${sim.adminUrl}/clock/settle-open-cycle`, { method: 'POST', headers: { 'x-sim-admin-token': sim.options.adminToken } });

async function streamed(path: string): Promise<void> {
  const started = performance.now();
  const response = await fetch(`${sim.url}${path}`, { headers });
  let bytes = 0;
  let detailRows = 0;
  const decoder = new TextDecoder();
  let carry = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    const text = carry + decoder.decode(chunk, { stream: true });
    detailRows += text.split('"id":"sd-').length - 1;
    carry = text.slice(-12);
    if (carry.includes('"id":"sd-')) carry = '';
  }
  console.log(
    `${path}: status ${response.status}, ${mb(bytes)}, ${detailRows} settlement-detail rows, ${Math.round(performance.now() - started)} ms`,
  );
}

await streamed('/margin/active_obligation');
await streamed('/margin/obligation_history?limit=2');
for (const path of ['/margin/settlement_balance_history', '/margin/settlement_estimate_by_asset_class', '/margin/large_trader_positions']) {
  const started = performance.now();
  const response = await fetch(`${sim.url}${path}`, { headers });
  const body = await response.text();
  console.log(`${path}: status ${response.status}, ${mb(body.length)}, ${Math.round(performance.now() - started)} ms`);
}
clearInterval(sampler);
console.log(`peak RSS: ${mb(peakRss)} (heap used now ${mb(process.memoryUsage().heapUsed)})`);
await sim.close();
