const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * A comma-separated list of durations (`5s,5m,30m,2h`; units ms, s, m, h) in milliseconds, or the first
 * entry it cannot read.
 */
export function parseDurations(text: string): { ok: true; ms: number[] } | { ok: false; bad: string } {
  const ms: number[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(entry);
    if (!match) return { ok: false, bad: entry };
    ms.push(Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]));
  }
  return { ok: true, ms };
}
