/** Logging of every handler: one JSON document per line, so that CloudWatch Logs Insights can query the fields. */

/** Writes one JSON line. */
export function log(entry: Record<string, unknown>): void {
  console.log(JSON.stringify(entry));
}
