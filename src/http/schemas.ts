import { z } from '@hono/zod-openapi';
import type { Page } from '../db/paginate.ts';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: 'validation_failed' }),
    request_id: z.string().nullable(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

/** The error responses every authenticated JSON route can give. */
export const errorResponses = {
  400: problemResponse('Malformed request'),
  401: problemResponse('Missing or wrong credentials'),
  404: problemResponse('No such resource'),
  409: problemResponse('Conflict'),
  413: problemResponse('Body too large'),
  415: problemResponse('Unsupported media type'),
  422: problemResponse('Invalid fields, each listed in `errors`'),
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  ...(description ? { description } : {}),
  content: { 'application/json': { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Makes the POST safe to retry for 24 hours; the first response is replayed.' }),
});

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ description: 'Page size (1 to 500)' }),
  starting_after: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: 'An id from the previous page: the page starts after it' }),
});

export const listOf = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ data: z.array(item), has_more: z.boolean() }).openapi(name);

/** The page a list route's query asks for. */
export const pageQuery = (query: z.infer<typeof ListQuery>): Page => ({
  limit: query.limit,
  startingAfter: query.starting_after,
});

/** A page of rows as a list route answers it (`listOf`). */
export const presentPage = <Row, Item>(
  page: { data: Row[]; hasMore: boolean },
  present: (row: Row) => Item,
) => ({ data: page.data.map(present), has_more: page.hasMore });

export const IdParam = (prefix: string) =>
  z.object({
    id: z
      .string()
      .max(64)
      .openapi({ param: { name: 'id', in: 'path' }, example: `${prefix}_01jh…` }),
  });

export const Timestamp = z.string().openapi({ format: 'date-time' });

export const Status = z.enum(['active', 'disabled']);
