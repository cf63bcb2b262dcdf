// SPDX-License-Identifier: Apache-2.0
// The layer table of ARCHITECTURE.md is enforced by lint (scripts/layer-rules.js):
// each scratch file breaks or keeps one rule, and ESLint, with the repository's
// own config, must flag exactly the breaking ones.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { repoRoot } from '../../../src/ebpf/index.js';

const RULE = '@typescript-eslint/no-restricted-imports';

/** [file, import line, flagged] */
const CASES: [string, string, boolean][] = [
  ['src/probes/tcp/scratch.ts', "import { createRedactor } from '../../enrich/redaction.js';", true],
  ['src/probes/tcp/scratch.ts', "import type { MetricFamily } from '../../exporters/openmetrics/exposition.js';", true],
  ['src/probes/scratch.ts', "import { createAgent } from '../agent/agent.js';", true],
  ['src/probes/tcp/scratch-source.ts', "import { parseStreamFilter } from '../../agent/http/stream-filter.js';", true],
  ['src/probes/tcp/scratch-module.ts', "import { createOtlpExporter } from '../../exporters/otlp/otlp-exporter.js';", true],
  ['src/agent/scratch.ts', "import { main } from '../cli/main.js';", true],
  ['src/agent/scratch.ts', "import { loadNative } from '../ebpf/native.js';", true],
  ['src/lib/scratch.ts', "import { createAgent } from '../agent/agent.js';", true],
  ['src/ebpf/scratch.ts', "import { TCP_EVENT_KIND } from '../probes/tcp/tcp-event.js';", true],
  ['src/exporters/scratch.ts', "import { createProcessCache } from '../enrich/process-cache.js';", true],
  ['src/enrich/scratch.ts', "import { createProcessProbe } from '../probes/process/process-probe.js';", true],
  ['src/collector/scratch.ts', "import { createAgent } from '../agent/agent.js';", true],
  ['src/collector/scratch.ts', "import { readCaptureBlocks } from '../capture/capture-reader.js';", true],
  ['src/capture/scratch.ts', "import { main } from '../cli/main.js';", true],
  // Allowed: downward imports, and enrichment reading a probe's event types.
  ['src/enrich/scratch.ts', "import type { ProcessEvent } from '../probes/process/process-event.js';", false],
  ['src/agent/scratch.ts', "import { createTcpProbe } from '../probes/tcp/tcp-probe.js';", false],
  ['src/probes/process/scratch-source.ts', "import { createRedactor } from '../../enrich/redaction.js';", false],
  ['src/probes/tcp/cli/scratch.ts', "import { openAgentStream } from '../../../cli/agent-stream.js';", false],
  ['src/probes/tcp/scratch.ts', "import { openAgentStream } from '../../cli/agent-stream.js';", true],
  ['src/probes/tcp/cli/scratch.ts', "import { loadNative } from '../../../ebpf/native.js';", true],
  ['src/probes/tcp/scratch.ts', "import { defineLayout } from '../../ebpf/index.js';", false],
  ['src/cli/scratch.ts', "import { createAgent } from '../agent/agent.js';", false],
  ['src/capture/scratch.ts', "import { createQueryClient } from '../collector/query-client.js';", false],
];

describe('lint enforces the layer rules', () => {
  // The text is not on disk, so type-aware rules (which need the file in the
  // project) are off; the import rules need no types.
  const eslint = new ESLint({ cwd: repoRoot(), overrideConfig: [tseslint.configs.disableTypeChecked] });
  for (const [file, line, flagged] of CASES) {
    test(`${file}: ${line} is ${flagged ? 'refused' : 'allowed'}`, async () => {
      const [res] = await eslint.lintText(`${line}\nexport const x = 1;\n`, { filePath: `${repoRoot()}/${file}` });
      const hits = (res?.messages ?? []).filter((m) => m.ruleId === RULE || m.fatal);
      assert.ok(!hits.some((m) => m.fatal), `lint ran: ${hits.map((m) => m.message).join('; ')}`);
      assert.equal(hits.length > 0, flagged, hits.map((m) => m.message).join('; ') || 'no layer message');
    });
  }
});
