// The simulator's summary as a person reads it.
import type { SimulationSummary } from './simulate.ts';

const n = (value: number) => value.toLocaleString('en-US');

/** Rows of two or more columns, padded to line up. */
export function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  return rows
    .map((row) =>
      `${indent}${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd(),
    )
    .join('\n');
}

export function formatSimulationSummary(summary: SimulationSummary): string {
  const { plan, sent, answers, timing } = summary;
  const errors = Object.entries(sent.http_errors)
    .map(([status, count]) => `${status} × ${count}`)
    .join(', ');
  const lines = [
    '',
    `Simulated processor feed — seed ${JSON.stringify(summary.seed)}, run ${summary.run}, started ${summary.started_at}`,
    '',
    'Planned (the same for the same seed and options):',
    table([
      ['purchases', n(plan.purchases)],
      [
        'events',
        `${n(plan.events)}: ${n(plan.by_type.authorization)} authorizations, ${n(plan.by_type.clearing)} clearings, ` +
          `${n(plan.by_type.refund)} refunds, ${n(plan.by_type.reversal)} reversals`,
      ],
      [
        'feeds',
        `JSON ${n(plan.by_format.json)} · ISO 8583 ${n(plan.by_format.iso8583)} · Stripe Issuing ${n(plan.by_format.stripe)} ` +
          `(+${n(plan.card_token_links)} card token links)`,
      ],
      [
        'lifecycles',
        `${n(plan.partial_clearings)} partial clearings, ${n(plan.partial_refunds)} partial refunds, ` +
          `${n(plan.partial_reversals)} partial reversals, ${n(plan.clearing_only)} clearing-only, ` +
          `${n(plan.never_cleared)} never cleared`,
      ],
      [
        'disorder',
        `${n(plan.duplicates)} re-sent, ${n(plan.out_of_order)} authorizations after their clearing, ` +
          `${n(plan.late_clearings)} late clearings in ${n(plan.batches)} settlement batches`,
      ],
      ['plan sha256', summary.digests.plan],
      ['bytes sha256', `${summary.digests.requests} (the same again with --start and --run)`],
    ]),
    '',
    'Sent and answered:',
    table([
      ['requests', `${n(sent.requests)} (${n(sent.attempts)} attempts), ${n(sent.late_sends)} sent late`],
      [
        'events',
        `${n(answers.accepted)} accepted · ${n(answers.duplicate)} duplicate (${n(answers.duplicates_recognised)} ` +
          `of ${n(plan.duplicates)} re-sends) · ${n(answers.rejected)} rejected` +
          `${answers.ignored ? ` · ${n(answers.ignored)} ignored` : ''}${answers.failed ? ` · ${n(answers.failed)} failed` : ''}`,
      ],
      ['actions', `${n(answers.actions)} created by these events`],
      [
        'card tokens',
        `${n(sent.card_tokens_linked)} linked${sent.card_token_failures ? `, ${n(sent.card_token_failures)} failed` : ''}`,
      ],
      [
        'errors',
        `${errors || 'none'}${sent.network_errors ? `; ${n(sent.network_errors)} network errors` : ''}`,
      ],
      [
        'rate',
        `${n(timing.events_per_second)} events/s over ${timing.seconds} s; answer ms p50 ${timing.answer_ms.p50} · ` +
          `p90 ${timing.answer_ms.p90} · p99 ${timing.answer_ms.p99} · max ${timing.answer_ms.max}`,
      ],
    ]),
  ];
  if (summary.problems.length > 0)
    lines.push('', 'First problems:', ...summary.problems.map((problem) => `  - ${problem}`));
  return `${lines.join('\n')}\n`;
}
