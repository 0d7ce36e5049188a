// Errors of cluster mode that the HTTP layer maps to a status. In a file of their own, without the
// NATS client, so a single-node server that imports them does not load the cluster code.

/** The cluster cannot take or answer the request now (no WAL acknowledgement, no owner): a 503. */
export class ClusterUnavailableError extends Error {
  readonly statusCode = 503;
  constructor(message: string) {
    super(message);
    this.name = 'ClusterUnavailableError';
  }
}
