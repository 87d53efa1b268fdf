/**
 * @module The dashboard's static assets: `/` redirects to `/ui/`, `/ui/*` serves the files of the
 * package's `web/` folder (plain ES modules, no build step), `/ui/vendor/*` the browser builds of
 * the libraries it uses, resolved from node_modules. Only files listed when the routes are
 * registered are served (no path from the URL reaches the file system). No token is needed for
 * the assets; the pages call the API with the token the user gives them (docs/DASHBOARD.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The `web/` folder of the package (beside `src/` and `dist/`). */
export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** The vendor files the pages import (through the import map in web/index.html). */
function vendorFiles(): Map<string, string> {
  const require = createRequire(import.meta.url);
  const dirOf = (pkg: string): string => dirname(require.resolve(`${pkg}/package.json`));
  const htmDist = dirname(require.resolve('htm'));
  return new Map([
    ['preact.mjs', join(dirOf('preact'), 'dist', 'preact.module.js')],
    ['preact-hooks.mjs', join(dirOf('preact'), 'hooks', 'dist', 'hooks.module.js')],
    ['htm.mjs', join(htmDist, 'htm.module.js')],
    ['uplot.mjs', join(dirOf('uplot'), 'dist', 'uPlot.esm.js')],
    ['uplot.css', join(dirOf('uplot'), 'dist', 'uPlot.min.css')],
  ]);
}

/** Every file under `root`, by its URL path relative to it (`views/events.js`). */
function listFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && TYPES[extname(entry.name)]) files.set(relative(root, path).split(sep).join('/'), path);
    }
  };
  walk(root);
  return files;
}

function send(reply: FastifyReply, path: string, cache: string): FastifyReply {
  return reply
    .header('content-type', TYPES[extname(path)] ?? 'application/octet-stream')
    .header('cache-control', cache)
    .header('x-content-type-options', 'nosniff')
    .send(readFileSync(path));
}

export interface DashboardOptions {
  /** Where the assets are; default {@link WEB_ROOT}. */
  readonly root?: string;
}

export function registerDashboardRoutes(app: FastifyInstance, options: DashboardOptions = {}): void {
  const root = options.root ?? WEB_ROOT;
  const files = listFiles(root);
  const vendor = vendorFiles();
  const index = files.get('index.html');
  // The pages are small and change with the server version: revalidate each load.
  const fresh = 'no-cache';

  app.get('/', async (_req, reply) => reply.redirect('/ui/', 302));
  app.get('/ui', async (_req, reply) => reply.redirect('/ui/', 302));
  app.get('/ui/', async (_req, reply) => {
    if (!index) return reply.code(404).type('text/plain').send('the dashboard is not installed (web/index.html)');
    return send(reply, index, fresh);
  });
  app.get<{ Params: { name: string } }>('/ui/vendor/:name', async (req, reply) => {
    const path = vendor.get(req.params.name);
    if (!path) return reply.code(404).type('text/plain').send(`no vendor file ${req.params.name}`);
    return send(reply, path, 'public, max-age=3600');
  });
  app.get<{ Params: { '*': string } }>('/ui/*', async (req, reply) => {
    const path = files.get(req.params['*']);
    if (!path) return reply.code(404).type('text/plain').send(`no dashboard file ${req.params['*']}`);
    return send(reply, path, fresh);
  });
}
