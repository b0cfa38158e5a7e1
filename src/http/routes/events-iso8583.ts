import { createRoute, z } from '@hono/zod-openapi';
import { ISO8583_MTI_TABLE } from '../../adapters/iso8583.ts';
import { invalidFields } from '../../errors.ts';
import { ingestIso8583 } from '../../ingest/from-iso8583.ts';
import { IngestResult, MAX_EVENTS_PER_REQUEST } from '../../ingest/schema.ts';
import { batchOf, envelopeOnlyHook } from '../ingest-envelope.ts';
import { processorOf, processorSecurity, requireProcessor } from '../middleware/processor-auth.ts';
import { createRouter } from '../router.ts';
import { errorResponses, jsonBody, jsonResponse } from '../schemas.ts';

const de = (description: string, example?: string) =>
  z
    .string()
    .optional()
    .openapi(example === undefined ? { description } : { description, example });

/** For the document only: the route validates each message itself, naming data elements in errors. */
const Iso8583Message = z
  .object({
    mti: z.string().openapi({ description: 'Message type indicator (see the table above)', example: '0100' }),
    '2': de(
      'PAN, 12-19 digits (fingerprinted and dropped; never stored, logged or echoed)',
      '4111111111111111',
    ),
    '3': de('Processing code, 6 digits; `20xxxx` is a refund', '000000'),
    '4': de('Amount, 12 digits in minor units', '000000000475'),
    '7': de('Transmission date and time, MMDDhhmmss UTC', '1123161502'),
    '11': de('System trace audit number, 6 digits', '000042'),
    '12': de('Local transaction time hhmmss (with 13)', '081502'),
    '13': de('Local transaction date MMDD (with 12)', '1123'),
    '18': de('Merchant category code', '5814'),
    '22': de('POS entry mode, 3 digits', '071'),
    '37': de('Retrieval reference number, 12 characters', '123456789012'),
    '38': de('Authorization code, 6 characters', 'A1B2C3'),
    '41': de('Terminal id, up to 8 characters', 'T1'),
    '42': de('Merchant id (card acceptor id), up to 15 characters', '000123'),
    '43': de(
      'Name/location, 40 characters: name 25, city 13, country 2',
      'BLUE BOTTLE COFFEE       OAKLAND      US',
    ),
    '49': de('Currency, ISO 4217 numeric', '840'),
    '90': de('Original data elements, 42 digits (reversals): MTI, STAN, DE7, acquirer, forwarder'),
    '95': de('Replacement amounts, 42 digits (partial reversals): the first 12 are the amount that stands'),
  })
  .catchall(z.string())
  .openapi('Iso8583Message');

const Iso8583Batch = z
  .object({ messages: z.array(Iso8583Message).min(1).max(MAX_EVENTS_PER_REQUEST) })
  .openapi('Iso8583Batch');

const Iso8583Request = z
  .record(z.string(), z.unknown(), {
    error: 'must be a JSON object: one message, or `{ "messages": [...] }`',
  })
  .openapi({
    oneOf: [{ $ref: '#/components/schemas/Iso8583Message' }, { $ref: '#/components/schemas/Iso8583Batch' }],
  });

const mtiTable = Object.entries(ISO8583_MTI_TABLE)
  .map(([mti, type]) => `| ${mti}, ${mti.slice(0, 3)}${Number(mti[3]) + 1} | ${type} |`)
  .join('\n');

export const iso8583EventsRouter = createRouter();
iso8583EventsRouter.openAPIRegistry.register('Iso8583Message', Iso8583Message);
iso8583EventsRouter.openAPIRegistry.register('Iso8583Batch', Iso8583Batch);

iso8583EventsRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/events/iso8583',
    tags: ['Processors: events'],
    security: processorSecurity,
    middleware: [requireProcessor] as const,
    summary: 'Push ISO 8583 messages',
    description: `ISO 8583:1987 messages as JSON keyed by data element (\`"mti"\`, \`"2"\` … \`"128"\`, values as strings), one per request or \`{ "messages": [...] }\` with 1 to ${MAX_EVENTS_PER_REQUEST}. Authenticated and answered exactly like \`POST /v1/events\` (api key plus Standard Webhooks signature of the raw body; one result per message after commit). A bad single message is a 422 whose \`errors\` name the data elements (\`path: "4"\`); in a batch it is \`rejected\` alone with those errors.

**Message type → event type** (a repeat, odd last digit, is the same message again and gets the same id):

| MTI | event |
|---|---|
${mtiTable}

0100/0200 are authorization and financial requests, 0120 a stand-in authorization advice, 0220 a completion or store-and-forward advice, 0320 a batch-upload advice, 0400/0420 reversals. A processing code (DE3) starting \`20\` makes a non-reversal a \`refund\`; accepted DE3 types are 00 purchase, 01 cash, 09 purchase with cashback, 11 quasi-cash, 20 refund.

**Event id** = \`<MTI>:<DE7>:<DE11>:<DE41>:<DE42>\` (repeat folded, DE41/DE42 trimmed and URI-encoded). A reversal's \`original_id\` is built the same way from DE90 (original MTI, STAN, DE7) with the reversal's DE41/DE42; without DE90 it is matched by card, MID, auth code and amount. DE90 on an advice links it to the pre-authorization it completes. DE95 on a reversal makes it partial (amount reversed = DE4 − DE95's first 12 digits).

**Fields**: DE4 amount in minor units; DE49 numeric → alpha-3 currency; DE43 positions 1–25 name, 26–38 city, 39–40 alpha-2 country (or 38–40 numeric); DE18 MCC; DE37 RRN; DE38 auth code; DE41 terminal; DE42 MID; DE22 → \`entry_mode\` (01/79 manual, 02/80/90 magstripe, 05/95 chip, 07/91 contactless, 09/81 ecommerce, 10/82 card_on_file). \`occurred_at\` is DE7 (UTC) shown in the local offset that DE12/DE13 imply (rounded to 15 minutes; UTC when they are absent or too far off).`,
    request: { body: jsonBody(Iso8583Request) },
    responses: {
      200: jsonResponse(
        z.object({ results: z.array(IngestResult) }).openapi('Iso8583IngestResponse'),
        'One result per message, in request order',
      ),
      ...errorResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const batch = batchOf(body, 'messages');
    const results = await ingestIso8583(c.get('deps'), processorOf(c), batch ?? [body]);
    const [only] = results;
    // A single message is the whole request: if it is bad, the request is.
    if (!batch && only?.status === 'rejected') throw invalidFields(only.errors ?? []);
    return c.json({ results }, 200);
  },
  envelopeOnlyHook,
);
