import { createRoute, type z } from '@hono/zod-openapi';
import {
  errorResponses,
  IdempotencyHeader,
  IdParam,
  jsonBody,
  jsonResponse,
  ListQuery,
  listOf,
} from './schemas.ts';

/** How the document names an operator's resource: `name` (its list `${name}List`), ids `${idPrefix}_…`. */
export interface OperatorResourceNames {
  name: string;
  idPrefix: string;
}

interface RouteText {
  summary: string;
  description?: string;
}

/**
 * The four routes every operator resource has, as route definitions (the route file keeps its handlers):
 * `register` is `POST path` with an Idempotency-Key, `list` is `GET path` (a page, newest first), `get` is
 * `GET path/{id}`, `update` is `PATCH path/{id}`. All need the operator token.
 */
export function operatorRoutes<P extends string, T extends z.ZodType>(
  path: P,
  schema: T,
  names: OperatorResourceNames,
) {
  const plural = path.slice(path.lastIndexOf('/') + 1);
  const noun = names.name.toLowerCase();
  const common = { tags: [`Operator: ${plural}`], security: [{ adminToken: [] }] };
  const itemPath = `${path}/{id}` as const;
  const idParams = IdParam(names.idPrefix);
  return {
    register: <B extends z.ZodType, C extends z.ZodType>(
      text: RouteText & { body: B; created: C; createdDescription: string },
    ) =>
      createRoute({
        method: 'post',
        path,
        ...common,
        summary: text.summary,
        description: text.description,
        request: { headers: IdempotencyHeader, body: jsonBody(text.body) },
        responses: { 201: jsonResponse(text.created, text.createdDescription), ...errorResponses },
      }),
    list: (text: RouteText) =>
      createRoute({
        method: 'get',
        path,
        ...common,
        ...text,
        request: { query: ListQuery },
        responses: {
          200: jsonResponse(listOf(schema, `${names.name}List`), `A page of ${plural}`),
          ...errorResponses,
        },
      }),
    get: (text: RouteText) =>
      createRoute({
        method: 'get',
        path: itemPath,
        ...common,
        ...text,
        request: { params: idParams },
        responses: { 200: jsonResponse(schema, `The ${noun}`), ...errorResponses },
      }),
    update: <B extends z.ZodType>(text: RouteText & { body: B }) =>
      createRoute({
        method: 'patch',
        path: itemPath,
        ...common,
        summary: text.summary,
        description: text.description,
        request: { params: idParams, body: jsonBody(text.body) },
        responses: { 200: jsonResponse(schema, `The updated ${noun}`), ...errorResponses },
      }),
  };
}
