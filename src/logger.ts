import { createRequire } from 'node:module';
import { pino } from 'pino';

export type Logger = pino.Logger;

/** `pretty`: coloured one-line records for a person at a terminal; `json`: one JSON object per line. */
export type LogFormat = 'pretty' | 'json';

type PrettyFactory = (options: Record<string, unknown>) => pino.DestinationStream;

/** pino-pretty is a dev dependency: absent from a production install (`npm ci --omit=dev`). */
function loadPretty(): PrettyFactory | undefined {
  try {
    return createRequire(import.meta.url)('pino-pretty') as PrettyFactory;
  } catch {
    return undefined;
  }
}

/** Pretty only in development at a terminal, and only when pino-pretty is installed; JSON otherwise. */
export function chooseLogFormat(nodeEnv: string, isTTY: boolean, prettyInstalled: boolean): LogFormat {
  return nodeEnv === 'development' && isTTY && prettyInstalled ? 'pretty' : 'json';
}

/** The format for this process's standard output. */
export function stdoutLogFormat(nodeEnv: string): LogFormat {
  return chooseLogFormat(nodeEnv, process.stdout.isTTY === true, loadPretty() !== undefined);
}

/**
 * Standard output, written in chunks of at least 4 KiB (and at least every 200 ms) rather than one write
 * per line: at a few thousand requests a second the per-line write was ~4% of the API's CPU. pino flushes
 * what is buffered when the process exits, also on a crash; a SIGKILL can lose the last 200 ms of lines.
 */
function bufferedStdout(): pino.DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => stream.flush(), 200).unref();
  return stream;
}

/** pino-pretty on `destination` (standard output when none), written synchronously: it is for development. */
function prettyStream(destination: pino.DestinationStream | undefined): pino.DestinationStream | undefined {
  return loadPretty()?.({
    destination: destination ?? 1,
    colorize: destination === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    sync: true,
  });
}

/**
 * Structured logs, JSON unless `format` is `pretty`. Request bodies are never logged; the redaction list is
 * a second net for credentials and card numbers that a careless log call might pass (it applies before
 * either format).
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const pretty = format === 'pretty' ? prettyStream(destination) : undefined;
  return pino(
    {
      level,
      base: { service: 'cardlink' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'pan',
          '*.pan',
          '*.*.pan',
          'password',
          '*.password',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'headers.cookie',
          '*.api_key',
          '*.client_secret',
          '*.signing_secret',
          '*.webhook_secret',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    pretty ?? destination ?? bufferedStdout(),
  );
}
