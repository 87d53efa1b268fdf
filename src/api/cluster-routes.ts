/**
 * @module Cluster routes: GET /v1/cluster (this node, the leader, partitions, live nodes), and the
 * hook that sends requests only the leader serves to the leader. Ingest and event reads
 * (/v1/events…) are served by every node; other /v1 requests on a follower get a 307 to the same
 * path on the leader's advertised URL, or a 503 with Retry-After while no leader is elected. The
 * dashboard's page is redirected to the leader's too (its assets are served anywhere).
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { sendError } from './errors.js';

export interface ClusterApi {
  /** undefined while the node is joining or no leader is elected. */
  route(): 'here' | { readonly leaderUrl: string; readonly leader: string } | undefined;
  status(): Promise<unknown>;
}

/** Paths every node serves itself. */
function servedEverywhere(path: string): boolean {
  return path === '/v1/events' || path.startsWith('/v1/events/') || path === '/v1/cluster';
}

export function registerClusterRoutes(app: FastifyInstance, cluster: ClusterApi): void {
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?', 1)[0]!;
    // The dashboard calls /v1 on its own origin: a follower sends the browser to the leader's.
    const dashboard = path === '/' || path === '/ui' || path === '/ui/';
    if (!dashboard && (!path.startsWith('/v1/') || servedEverywhere(path))) return;
    const route = cluster.route();
    if (route === 'here' || (dashboard && route === undefined)) return;
    if (route === undefined) {
      return sendError(
        reply,
        new HomeostatError(
          ErrorCode.UNAVAILABLE,
          'no cluster leader is elected yet (a node died or the cluster is starting); retry in a second',
          { details: { retryAfterMs: 1000 } },
        ),
      );
    }
    const location = `${route.leaderUrl}${req.url}`;
    return reply
      .code(307)
      .header('location', location)
      .send({ redirect: location, leader: route.leader, reason: 'this node is not the cluster leader' });
  });
  app.get('/v1/cluster', { config: { scope: 'read' } }, async () => cluster.status());
}
