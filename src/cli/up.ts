/** @module `homeostat up`: run a server in this process until SIGINT or SIGTERM. */
import { type Command, Option } from 'commander';
import type { HomeostatConfig } from '../runtime/config.js';
import { examples, parseIntFlag } from './options.js';
import { ExitCode, note, out } from './output.js';

interface UpFlags {
  readonly host?: string;
  readonly port?: string;
  readonly dataDir?: string;
  readonly config?: string;
  readonly fsync?: 'normal' | 'always';
  readonly log?: string;
  readonly store?: string;
  readonly cluster?: boolean;
  readonly nodeId?: string;
  readonly advertiseUrl?: string;
}

/** Registers `up` on the program. */
export function registerUp(program: Command): void {
  const cmd = program
    .command('up')
    .description('start a Homeostat server (settings: flags > HOMEOSTAT_* environment > config file)')
    .option('--host <host>', 'address to bind (env HOMEOSTAT_HOST; default 127.0.0.1)')
    .option('--port <port>', 'port to bind, 0 for a free one (env HOMEOSTAT_PORT; default 8420)')
    .option('--data-dir <dir>', 'where the log and stores live (env HOMEOSTAT_DATA_DIR; default ./.homeostat)')
    .option('--config <file>', 'YAML or JSON config file (env HOMEOSTAT_CONFIG)')
    .addOption(
      new Option('--fsync <mode>', 'durability of each commit (env HOMEOSTAT_FSYNC; default normal)').choices([
        'normal',
        'always',
      ]),
    )
    .option(
      '--log <url>',
      'the event log: nats://host:4222 for NATS JetStream (env HOMEOSTAT_LOG_URL; default SQLite in the data directory)',
    )
    .option(
      '--store <url>',
      'the state: postgres://user@host:5432/db for PostgreSQL (env HOMEOSTAT_STORE_URL; default SQLite in the data directory)',
    )
    .option(
      '--cluster',
      'run as one node of several sharing the --log and --store (env HOMEOSTAT_CLUSTER; docs/DEPLOYMENT.md)',
    )
    .option('--node-id <id>', "this node's name in a cluster (env HOMEOSTAT_NODE_ID; default <hostname>-<pid>)")
    .option(
      '--advertise-url <url>',
      'where clients reach this node when it leads (env HOMEOSTAT_ADVERTISE_URL; default the URL it serves)',
    )
    .action((flags: UpFlags) => runUp(flags));
  examples(cmd, [
    'homeostat up',
    'homeostat up --port 0 --data-dir /tmp/hs',
    'homeostat up --config examples/homeostat.yaml --fsync always',
    'homeostat up --log nats://127.0.0.1:4222 --store postgres://postgres@127.0.0.1:5432/homeostat',
    'homeostat up --cluster --node-id a --port 8421 --log nats://127.0.0.1:4222 --store postgres://postgres@127.0.0.1:5432/homeostat',
  ]);
}

function overridesFrom(flags: UpFlags): HomeostatConfig {
  const cfg: HomeostatConfig = {};
  const port = parseIntFlag('--port', flags.port, 0, 65535);
  if (flags.host !== undefined || port !== undefined) cfg.server = { host: flags.host, port };
  if (flags.dataDir !== undefined) cfg.dataDir = flags.dataDir;
  if (flags.fsync !== undefined || flags.log !== undefined) cfg.log = { fsync: flags.fsync, url: flags.log };
  if (flags.store !== undefined) cfg.store = { url: flags.store };
  if (flags.cluster !== undefined || flags.nodeId !== undefined || flags.advertiseUrl !== undefined) {
    cfg.cluster = { enabled: flags.cluster, nodeId: flags.nodeId, advertiseUrl: flags.advertiseUrl };
  }
  return cfg;
}

async function runUp(flags: UpFlags): Promise<void> {
  // Loaded lazily so client commands do not pay for the server's dependencies.
  const { loadConfig } = await import('../runtime/config.js');
  const { startEmbedded } = await import('../runtime/embedded.js');
  const config = loadConfig({ file: flags.config, env: process.env, overrides: overridesFrom(flags) });
  const server = await startEmbedded(config);
  out(`homeostat: serving ${server.url} (data: ${server.config.dataDir})`);
  if (config.log.url !== undefined || config.store.url !== undefined) {
    note(`homeostat: log ${server.backends.log}; state ${server.backends.store}`);
  }
  if (config.cluster) note(`homeostat: cluster node '${config.cluster.nodeId}' (see GET /v1/cluster)`);
  await waitForSignal();
  await server.close();
  process.exitCode = ExitCode.ok;
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      note(`homeostat: ${signal} received, shutting down (send it again to force)`);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
