/** @module The one place that maps error codes to HTTP statuses and shapes error bodies. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, HomeostatError } from '../core/errors.js';

const STATUS: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.INVALID]: 400,
  [ErrorCode.EVENT_INVALID]: 400,
  [ErrorCode.EVENT_TOO_LARGE]: 413,
  [ErrorCode.REQUEST_TOO_LARGE]: 413,
  [ErrorCode.TOO_DEEP]: 400,
  [ErrorCode.MALFORMED_JSON]: 400,
  [ErrorCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCode.SCHEMA_VIOLATION]: 400,
  [ErrorCode.SCHEMA_INVALID]: 400,
  [ErrorCode.SCHEMA_INCOMPATIBLE]: 409,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.BACKPRESSURE]: 429,
  [ErrorCode.CONFIG_INVALID]: 500,
  [ErrorCode.BACKEND]: 503,
  [ErrorCode.CLOSED]: 503,
  [ErrorCode.UNAVAILABLE]: 503,
  [ErrorCode.INTERNAL]: 500,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** Converts Fastify's own errors (body limit, bad content type, 404) into HomeostatErrors. */
function fromFastify(err: FastifyError, req: FastifyRequest, maxRequestBytes: number): HomeostatError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HomeostatError(
        ErrorCode.REQUEST_TOO_LARGE,
        `request body is larger than ${maxRequestBytes} bytes (ingest.maxRequestSize); split it into smaller batches`,
        { details: { limit: maxRequestBytes } },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HomeostatError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not accepted here; send application/json`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HomeostatError(ErrorCode.MALFORMED_JSON, `request body is not valid JSON: ${err.message}`);
    default:
      if (err.validation) {
        const problems = err.validation.map((v) => ({
          pointer: `${err.validationContext === 'querystring' ? '?' : ''}${v.instancePath || '/'}`,
          message: v.message ?? 'invalid',
        }));
        return new HomeostatError(ErrorCode.INVALID, `invalid request: ${err.message}`, { problems });
      }
      if (err.statusCode !== undefined && err.statusCode < 500) {
        return new HomeostatError(ErrorCode.INVALID, err.message);
      }
      return new HomeostatError(ErrorCode.INTERNAL, 'internal error; see the server log', { cause: err });
  }
}

export function toHomeostatError(err: unknown, req: FastifyRequest, maxRequestBytes: number): HomeostatError {
  if (err instanceof HomeostatError) return err;
  return fromFastify(err as FastifyError, req, maxRequestBytes);
}

/** Sends an error with its status, `Retry-After` for backpressure, and the standard body. */
export function sendError(reply: FastifyReply, err: HomeostatError): FastifyReply {
  const status = statusOf(err.code);
  const retryAfterMs = err.details.retryAfterMs;
  if (typeof retryAfterMs === 'number')
    reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return reply.code(status).send({ error: err.toJSON() });
}
