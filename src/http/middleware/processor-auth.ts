import type { Context, MiddlewareHandler } from 'hono';
import type { ProcessorRow } from '../../db/schema/index.ts';
import { authenticateProcessor } from '../../ingest/processor-auth.ts';
import { handOverBodyText } from '../body-handover.ts';
import { clientAddress } from '../client-address.ts';
import type { AppEnv } from '../env.ts';

const utf8 = new TextDecoder();

/**
 * Processor authentication for ingestion routes: bearer api key plus a Standard Webhooks signature of the
 * RAW body, checked before anything parses it. Nothing is read or stored for a request that fails.
 * The authenticated processor is available to the handler as `processorOf(c)`.
 */
export const requireProcessor: MiddlewareHandler<AppEnv> = async (c, next) => {
  const body = new Uint8Array(await c.req.arrayBuffer());
  const deps = c.get('deps');
  const processor = await authenticateProcessor(deps, {
    authorization: c.req.header('authorization'),
    signature: {
      id: c.req.header('webhook-id'),
      timestamp: c.req.header('webhook-timestamp'),
      signature: c.req.header('webhook-signature'),
    },
    body,
    address: clientAddress(c),
  });
  c.set('processor', processor);
  handOverBodyText(c, utf8.decode(body));
  await next();
};

/** The processor `requireProcessor` authenticated for this request. */
export function processorOf(c: Context<AppEnv>): ProcessorRow {
  const processor = c.get('processor');
  if (!processor) throw new Error('processorOf() used on a route without requireProcessor');
  return processor;
}

/** OpenAPI security requirement for processor routes. */
export const processorSecurity = [{ processorApiKey: [] }];
