const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    } catch {
      formatter = null;
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The UTC offset (minutes) of an IANA time zone at an instant; 0 for an unknown zone. */
export function zoneOffsetMinutes(timeZone: string, at: Date): number {
  const formatter = formatterFor(timeZone);
  if (!formatter) return 0;
  const name = formatter.formatToParts(at).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

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

export interface LocalTime {
  /** Wall-clock time, `YYYY-MM-DD HH:MM:SS.mmm` (no zone). */
  localAt: string;
  utcOffsetMinutes: number;
}

/**
 * Where-the-card-was-used wall-clock time: from the timestamp's own offset, else from the merchant's time
 * zone, else UTC.
 */
export function localTimeOf(occurredAt: string, merchantTimeZone: string | null | undefined): LocalTime {
  const instant = new Date(occurredAt);
  const offset =
    statedOffsetMinutes(occurredAt) ?? (merchantTimeZone ? zoneOffsetMinutes(merchantTimeZone, instant) : 0);
  const wall = new Date(instant.getTime() + offset * 60_000).toISOString();
  return { localAt: `${wall.slice(0, 10)} ${wall.slice(11, 23)}`, utcOffsetMinutes: offset };
}
