// One JSON error shape for every API error, and the mapping of framework errors onto it.
//
// Body: `{ error: <code>, message, requestId, fields? }`.
// - schema validation failures, malformed or empty JSON → 422 `validation_failed` /
//   `invalid_json`, with `fields: [{ field, message }]` naming each offending field;
// - unsupported Content-Type → 415, body too large → 413;
// - HttpError → its own status and code;
// - anything else → 500 `internal_error` (logged with the request id; no internals leak).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from './logger.ts';

export interface FieldIssue {
  field: string;
  message: string;
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields?: FieldIssue[];
  readonly headers?: Record<string, string>;
  constructor(status: number, code: string, message: string, extra: { fields?: FieldIssue[]; headers?: Record<string, string> } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = extra.fields;
    this.headers = extra.headers;
  }
}

export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);
export const unauthorized = (message = 'authentication required') => new HttpError(401, 'unauthorized', message);

export function errorBody(request: FastifyRequest, code: string, message: string, fields?: FieldIssue[]) {
  return fields ? { error: code, message, requestId: request.id, fields } : { error: code, message, requestId: request.id };
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string, fields?: FieldIssue[]) {
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(reply.request, code, message, fields));
}

interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function fieldsFromValidation(validation: AjvIssue[]): FieldIssue[] {
  return validation.map((issue) => {
    let field = (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const missing = issue.params?.missingProperty;
    if (issue.keyword === 'required' && typeof missing === 'string') field = field ? `${field}.${missing}` : missing;
    return { field: field || '(body)', message: issue.message ?? 'is invalid' };
  });
}

export function installErrorHandler(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      if (error.headers) reply.headers(error.headers);
      return sendError(reply, error.status, error.code, error.message, error.fields);
    }
    if (error.validation) {
      const fields = fieldsFromValidation(error.validation as AjvIssue[]);
      const where = error.validationContext ?? 'body';
      return sendError(reply, 422, 'validation_failed', `invalid ${where}: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, fields);
    }
    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 422, 'invalid_json', 'the request body must be a JSON object', [{ field: '(body)', message: error.message }]);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 415, 'unsupported_media_type', 'send Content-Type: application/json');
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 413, 'payload_too_large', 'the request body is too large');
    }
    const status = (error as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return sendError(reply, status, 'bad_request', error.message);
    log.error(`request ${request.id} ${request.method} ${request.url} failed`, error);
    return sendError(reply, 500, 'internal_error', 'internal error');
  });
}
