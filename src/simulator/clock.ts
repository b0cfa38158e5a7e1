// Wall-clock renderings of the simulated timeline: RFC 3339 with the merchant's UTC offset, and its parts.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, found);
  }
  return found;
}

// Offsets change only at whole quarter hours (DST and the like): one look-up per zone and quarter hour.
const QUARTER_HOUR = 15 * 60_000;
const offsets = new Map<string, number>();

/** The UTC offset of `timeZone` at an instant, in minutes (−480 for Los Angeles in winter). */
export function offsetMinutes(instantMs: number, timeZone: string): number {
  const quarter = Math.floor(instantMs / QUARTER_HOUR);
  const key = `${timeZone} ${quarter}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    offset = lookUpOffset(quarter * QUARTER_HOUR, timeZone);
    if (offsets.size > 100_000) offsets.clear();
    offsets.set(key, offset);
  }
  return offset;
}

function lookUpOffset(instantMs: number, timeZone: string): number {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(instantMs))
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return Math.round((wall - Math.floor(instantMs / 1000) * 1000) / 60_000);
}

/** RFC 3339 at whole seconds, in the local time of `timeZone` with its offset: `2026-11-23T08:15:02-08:00`. */
export function localTimestamp(instantMs: number, timeZone: string): string {
  const seconds = Math.floor(instantMs / 1000) * 1000;
  const offset = offsetMinutes(seconds, timeZone);
  const wall = new Date(seconds + offset * 60_000).toISOString().slice(0, 19);
  const abs = Math.abs(offset);
  return `${wall}${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The local wall time of an instant in `timeZone` as a Date whose UTC fields read it. */
export function wallTime(instantMs: number, timeZone: string): Date {
  const seconds = Math.floor(instantMs / 1000) * 1000;
  return new Date(seconds + offsetMinutes(seconds, timeZone) * 60_000);
}
