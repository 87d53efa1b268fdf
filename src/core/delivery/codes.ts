/** @module The error codes a delivery attempt can record (trace, dead letters): data, not thrown errors. */

/**
 * Codes of `SerializedError`s produced by the built-in actions and the input transform. They are
 * recorded in the trace and in dead letters; they are not HTTP API errors (see core/errors.ts).
 * Keep docs/ACTIONS.md in step with this object.
 */
export const DeliveryErrorCode = {
  /** The input transform or an action's `<$.path>` placeholder names a field the event lacks. */
  TRANSFORM: 'E_TRANSFORM',
  /** The attempt did not finish within the target's `timeoutMs`. */
  TIMEOUT: 'E_TIMEOUT',
  /** The attempt was stopped by shutdown before it finished. */
  ABORTED: 'E_ABORTED',
  /** An HTTP target answered with a status other than 2xx; `details.status` says which. */
  HTTP_STATUS: 'E_HTTP_STATUS',
  /** An HTTP target could not be reached (connection refused or reset, DNS, TLS). */
  HTTP_NETWORK: 'E_HTTP_NETWORK',
  /** An exec command exited with a non-zero code or was killed by a signal. */
  EXEC_EXIT: 'E_EXEC_EXIT',
  /** An exec command could not be started (missing file, no permission, bad cwd). */
  EXEC_SPAWN: 'E_EXEC_SPAWN',
  /** An emitted event was rejected by ingest (invalid envelope or schema violation). */
  EMIT_REJECTED: 'E_EMIT_REJECTED',
  /** An emitted event could not be appended now (backpressure, backend failure). */
  EMIT_UNAVAILABLE: 'E_EMIT_UNAVAILABLE',
  /** The action's configuration does not allow the delivery (missing secret, command not allowlisted). */
  ACTION_CONFIG: 'E_ACTION_CONFIG',
} as const;
export type DeliveryErrorCode = (typeof DeliveryErrorCode)[keyof typeof DeliveryErrorCode];
