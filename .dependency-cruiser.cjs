// The layers of src/, lowest first: a module may import from its own layer and the ones below it,
// never from one above, and no import cycle is allowed anywhere (README, "Layers").
// `npm run layers` prints the violations; test/layers.test.ts fails the tests on any.
const LAYERS = [
  ['core'],
  ['config', 'storage'],
  ['engine'],
  ['watch'],
  ['service'],
  ['desktop'],
  // The composition root: app.ts picks storages and the like; host.ts adds the service's parts.
  ['app.ts', 'host.ts'],
  ['cli'],
];

/** A path pattern for these parts of src/: a folder and everything in it, or one top-level file. */
const under = (parts) => `^src/(${parts.map((p) => p.replace('.', '\\.')).join('|')})($|/)`;

const upward = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  if (above.length === 0) return [];
  return [{ name: `${layer.join('+')}-not-upward`, comment: `${layer.join(' and ')} must not import ${above.join(', ')}: they are above it.`, severity: 'error', from: { path: under(layer) }, to: { path: under(above) } }];
});

/** config/ and storage/ share a layer but know nothing of each other. */
const sideways = [
  ['config', 'storage'],
  ['storage', 'config'],
].map(([from, to]) => ({ name: `${from}-not-${to}`, comment: `${from} must not import ${to}: they are independent.`, severity: 'error', from: { path: under([from]) }, to: { path: under([to]) } }));

module.exports = {
  forbidden: [
    ...upward,
    ...sideways,
    {
      name: 'no-circular',
      comment: 'An import cycle ties modules that should be separable.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-plain',
      comment: 'core/ is plain data and rules: no node:* module.',
      severity: 'error',
      from: { path: under(['core']) },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'single-binary-at-the-top',
      comment: 'Only the desktop, the composition root and the CLI know about the single binary; lower layers are told paths.',
      severity: 'error',
      from: { path: under(LAYERS.slice(0, LAYERS.findIndex((l) => l.includes('desktop'))).flat()) },
      to: { path: '^src/single-binary\\.ts$' },
    },
  ],
  options: {
    // The TypeScript in use (7.0) has no API for dependency-cruiser to parse with; swc parses it,
    // type-only imports included.
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
  },
};
