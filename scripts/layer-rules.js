// SPDX-License-Identifier: Apache-2.0
// ARCHITECTURE.md's layer table as per-folder import restrictions:
//   cli -> capture -> agent | collector | doctor -> probes | enrich | exporters -> ebpf | lib
// A folder may import its own layer and the layers below it, never a sibling
// component or anything above. Only src/ebpf loads the native addon.
// Specifiers are matched as written (relative), so `(../)+x/` means "the src/x folder".

const folder = (names) => `^(\\.\\./)+(${names.join('|')})/`;
const ADDON = { regex: '(^|/)ebpf/native(\\.js)?$', message: 'Only src/ebpf loads the native addon; import src/ebpf/index.js.' };

/** [files, forbidden folders, why, extra patterns] */
const TABLE = [
  ['src/lib/**/*.ts', ['ebpf', 'probes', 'enrich', 'exporters', 'agent', 'collector', 'doctor', 'cli', 'capture'], 'src/lib imports nothing above it.'],
  ['src/ebpf/**/*.ts', ['probes', 'enrich', 'exporters', 'agent', 'collector', 'doctor', 'cli', 'capture'], 'src/ebpf knows nothing of probes, enrichment or exporters.'],
  ['src/probes/**/*.ts', ['enrich', 'exporters', 'agent', 'collector', 'doctor', 'cli', 'capture'], 'Probes decode and load; they do not enrich or export.', [ADDON]],
  // Enrichment reads decoded events (type imports of a probe) but never loads BPF.
  ['src/enrich/**/*.ts', ['ebpf', 'exporters', 'agent', 'collector', 'doctor', 'cli', 'capture'], 'src/enrich does not touch BPF, exporters or components.',
    [{ regex: folder(['probes']), allowTypeImports: true, message: 'src/enrich may read probe event types, not load probes.' }]],
  ['src/exporters/**/*.ts', ['ebpf', 'probes', 'enrich', 'agent', 'collector', 'doctor', 'cli', 'capture'], 'Exporters only serialise what they are given.'],
  ['src/agent/**/*.ts', ['collector', 'doctor', 'cli', 'capture'], 'The agent imports downward only.', [ADDON]],
  ['src/collector/**/*.ts', ['ebpf', 'probes', 'enrich', 'agent', 'doctor', 'cli', 'capture'], 'The collector imports downward only.'],
  ['src/doctor/**/*.ts', ['agent', 'collector', 'cli', 'capture'], 'The doctor imports downward only.', [ADDON]],
  // Capture files sit between the CLI and the components they record and replay.
  ['src/capture/**/*.ts', ['ebpf', 'probes', 'enrich', 'exporters', 'doctor', 'cli'], 'src/capture imports the agent, collector and anomaly components and src/lib only.', [ADDON]],
  ['src/cli/**/*.ts', [], '', [ADDON]],
];

const blocks = TABLE.map(([files, forbidden, message, extra = []]) => ({
  files: [files],
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', {
      patterns: [...(forbidden.length ? [{ regex: folder(forbidden), message }] : []), ...extra],
    }],
  },
}));

// A probe's agent face (its module, its source, an enrichment pipeline of its own) runs its events
// through src/enrich, which never loads BPF: those files may import it. The rest of a probe decodes and loads.
blocks.push({
  files: ['src/probes/probe-module.ts', 'src/probes/*/*-module.ts', 'src/probes/*/*-source.ts', 'src/probes/*/*-pipeline.ts'],
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', {
      patterns: [{ regex: folder(['exporters', 'agent', 'collector', 'doctor', 'cli']), message: 'A probe module enriches through src/enrich; it does not export or know the components above it.' }, ADDON],
    }],
  },
});

// A probe's CLI commands (src/probes/<name>/cli/) are part of the CLI layer: they may import the
// components (agent stream client, enrichment, the probe's loader), as src/cli does.
blocks.push({
  files: ['src/probes/*/cli/**/*.ts'],
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [ADDON] }] },
});

export const layerRules = blocks;
