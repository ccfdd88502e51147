// The import rules `npm run lint` keeps (dependency-cruiser, type-only imports included):
// no circle anywhere in src/ or ui/, and the control plane never reaches into the HTTP server.
// `npx depcruise src ui --output-type dot | dot -T svg` draws the graph.
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import circle (types count): each module must be readable and testable without the ones that use it.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'control-never-imports-server',
      severity: 'error',
      comment:
        'control/ (stores, counters, the ledger) knows nothing of HTTP: the server depends on it, never the reverse.',
      from: { path: '^src/control/' },
      to: { path: '^src/server/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
