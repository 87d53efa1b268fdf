/** Layering rules (docs/ARCHITECTURE.md): dependencies point inward; only runtime/ picks backends. */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-is-pure',
      comment:
        'core/ does no I/O: no node: modules, no other layer, no npm package except the pure CEL evaluator (@bufbuild/cel)',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { pathNot: '^(src/core/|node_modules/@bufbuild/cel/|@bufbuild/cel)' },
    },
    {
      name: 'ports-depend-on-core-only',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { pathNot: '^src/(core|ports)/' },
    },
    {
      name: 'only-runtime-picks-backends',
      comment: 'concrete backends (log/sqlite, log/nats, store/sqlite, store/postgres) are wired in runtime/ only',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(runtime|log|store)/' },
      to: { path: '^src/(log|store)/(sqlite|nats|postgres)/' },
    },
    {
      name: 'actions-depend-on-core-and-ports',
      comment: 'actions/ (Target implementations) use core/, ports/ and npm packages only; the runtime wires them',
      severity: 'error',
      from: { path: '^src/actions/' },
      to: { path: '^src/', pathNot: '^src/(core|ports|actions)/' },
    },
    {
      name: 'providers-depend-on-core-and-ports',
      comment:
        'providers/ (local, sim, kubernetes, aws) use core/, ports/, their own folder, node: modules and npm packages only; the runtime wires them',
      severity: 'error',
      from: { path: '^src/providers/' },
      to: { path: '^src/', pathNot: '^src/(core|ports|providers)/' },
    },
    {
      name: 'only-runtime-picks-providers',
      comment: 'the engine knows providers through ports/provider.ts; concrete providers are wired in runtime/ only',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(runtime|providers)/' },
      to: { path: '^src/providers/' },
    },
    {
      name: 'sources-depend-on-core-and-ports',
      comment:
        'sources/ (metrics scrapers and other event sources) use core/, ports/, their own folder, node: modules and npm packages only; the runtime wires them',
      severity: 'error',
      from: { path: '^src/sources/' },
      to: { path: '^src/', pathNot: '^src/(core|ports|sources)/' },
    },
    {
      name: 'only-runtime-picks-sources',
      comment: 'concrete sources are wired in runtime/ only',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(runtime|sources)/' },
      to: { path: '^src/sources/' },
    },
    {
      name: 'inner-layers-do-not-reach-interfaces',
      severity: 'error',
      from: { path: '^src/(core|ports|log|store|ingest|auth)/' },
      to: { path: '^src/(api|cli|runtime)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
