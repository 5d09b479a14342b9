/**
 * Runs the bundled image-publisher handler once, in its own process, so that its wall time and peak RSS are its own.
 * argv: <handler.js> <event.json>. Prints one JSON line: { seconds, maxRssMb, summary }, or { error } when the handler
 * throws (its CloudFormation response, SUCCESS or FAILED, goes to the event's ResponseURL).
 */
const fs = require('fs');

const [handlerFile, eventFile] = process.argv.slice(2);
const event = JSON.parse(fs.readFileSync(eventFile, 'utf8'));
let summary;
const log = console.log;
// The handler logs JSON lines; keep the summary, drop the rest.
console.log = (line) => {
  try {
    const parsed = JSON.parse(line);
    if (parsed.summary) summary = parsed.summary;
  } catch {
    // not ours
  }
};
const { handler } = require(handlerFile);
const started = process.hrtime.bigint();
handler(event, { getRemainingTimeInMillis: () => 900_000, awsRequestId: 'bench' }).then(() => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  log(JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, summary }));
}, (err) => {
  log(JSON.stringify({ error: String(err) }));
  process.exit(1);
});
