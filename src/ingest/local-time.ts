// Reads the UTC offset an RFC 3339 timestamp states (from which an event's local time follows).
/**
 * The offset an RFC 3339 timestamp states, or null when it states none (`Z` or `-00:00`, which RFC 3339
 * reserves for "local offset unknown").
 */
export function statedOffsetMinutes(timestamp: string): number | null {
  const match = /([+-])(\d{2}):(\d{2})$/.exec(timestamp);
  if (!match || timestamp.endsWith('-00:00')) return null;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}
