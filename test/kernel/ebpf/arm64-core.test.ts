// SPDX-License-Identifier: Apache-2.0
// CO-RE relocations of the arm64 objects, resolved by the real libbpf (through the addon's
// btfCustomPath) against the BTF of Debian's arm64 kernel, as on an arm64 machine. libbpf
// relocates every program before it loads any; the load into this kernel (not arm64) is not the
// check and its outcome is ignored: libbpf's debug log of each relocation is.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openObject, setLibbpfLogHandler } from '../../../src/ebpf/index.js';
import { kernelSkip, sleep } from '../../helpers/kernel.js';
import { ARM64_OBJECT_DIR, ARM64_PROBES, arm64BtfSkip, arm64BuildSkip, arm64KernelBtf, repo } from '../../helpers/arm64.js';

const skip = kernelSkip() || arm64BuildSkip() || arm64BtfSkip();

interface Relocations {
  processed: number; // relocations libbpf worked on
  matched: Map<string, number>; // "prog#relo" -> target byte offset, for each relocation that found its target
  absent: string[]; // targets of *_exists relocations that are absent (resolved to 0, which the code checks)
  unresolved: string[]; // targets of relocations libbpf poisoned ("substituting insn ... w/ invalid insn")
}

// The addon queues at most 1024 log lines between turns of the event loop; more are dropped.
const LOG_QUEUE = 1024;

async function drained(lines: string[]): Promise<void> {
  for (let n = -1; n !== lines.length;) {
    n = lines.length;
    await sleep(50);
  }
}

/**
 * Opens an object (optionally against a custom kernel BTF) and lets libbpf relocate it one program
 * at a time (libbpf relocates only programs it loads), reading libbpf's debug log of each relocation.
 */
async function relocate(path: string, btfCustomPath?: string): Promise<Relocations> {
  // The bytes are opened unverified: the arm64 objects' signed manifest says arm64, which this host is not.
  const bytes = readFileSync(path);
  const name = basename(path, '.bpf.o');
  const probe = openObject(bytes, name);
  const programs = probe.programs.map((p) => p.name);
  probe.close();
  const r: Relocations = { processed: 0, matched: new Map(), absent: [], unresolved: [] };
  const lines: string[] = [];
  setLibbpfLogHandler((_level, line) => lines.push(line), 'debug');
  try {
    for (const prog of programs) {
      const spec = openObject(bytes, name, btfCustomPath ? { btfCustomPath } : {});
      for (const other of programs) if (other !== prog) spec.setAutoload(other, false);
      await drained(lines);
      lines.length = 0;
      try {
        spec.load().close();
      } catch {
        // arm64-relocated programs need not pass this kernel's verifier; relocation came first
      }
      await drained(lines);
      assert.ok(lines.length < LOG_QUEUE, `${path} ${prog}: ${lines.length} log lines, some may have been dropped`);
      parse(lines, r);
    }
  } finally {
    setLibbpfLogHandler(null);
  }
  return r;
}

function parse(lines: string[], r: Relocations): void {
  const local = new Map<string, string>(); // "prog#relo" -> "<kind> spec"
  for (const line of lines.join('\n').split('\n')) {
    let m = /prog '([^']+)': relo #(\d+): (<[a-z_]+>) \[\d+\] (\S+ \S+)/.exec(line);
    if (m && !/candidate/.test(line)) {
      local.set(`${m[1]}#${m[2]}`, `${m[3]} ${m[4]}`);
      r.processed++;
    }
    m = /prog '([^']+)': relo #(\d+): matching candidate #\d+ <[a-z_]+> \[\d+\] .+? \([^)]* @ offset (\d+)(?:\.\d+)?\)/.exec(line);
    if (m) r.matched.set(`${m[1]}#${m[2]}`, Number(m[3]));
    m = /prog '([^']+)': relo #(\d+): matching candidate #\d+ <(?:type|enumval)_[a-z_]+> /.exec(line);
    if (m) r.matched.set(`${m[1]}#${m[2]}`, -1);
    m = /prog '([^']+)': relo #(\d+): substituting insn #\d+ w\/ invalid insn/.exec(line);
    const target = (k: string): string => (local.get(k) ?? k).replace(/^<[a-z_]+> /, '');
    if (m && !r.unresolved.includes(target(`${m[1]}#${m[2]}`))) r.unresolved.push(target(`${m[1]}#${m[2]}`));
    m = /prog '([^']+)': relo #(\d+): no matching targets found/.exec(line);
    const spec = m ? local.get(`${m[1]}#${m[2]}`) : undefined;
    if (spec && /^<[a-z]+_exists>/.test(spec)) r.absent.push(target(`${m![1]}#${m![2]}`));
  }
}

/** Byte offsets of members of a struct in a raw BTF file, read with bpftool (independent of libbpf's relocation). */
function memberOffsets(btfPath: string, struct: string): Map<string, number> {
  const text = execFileSync('bpftool', ['btf', 'dump', 'file', btfPath, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const start = text.indexOf(`] STRUCT '${struct}' `);
  assert.ok(start >= 0, `struct ${struct} in ${btfPath}`);
  const out = new Map<string, number>();
  for (const line of text.slice(start).split('\n').slice(1)) {
    const m = /^\s+'([^']*)' type_id=\d+ bits_offset=(\d+)/.exec(line);
    if (!m) break;
    out.set(m[1]!, Number(m[2]) / 8);
  }
  return out;
}

describe('arm64 objects relocate against arm64 kernel BTF', { skip }, () => {
  test('every CO-RE relocation of every arm64 probe resolves against the arm64 kernel', async (t) => {
    for (const p of ARM64_PROBES) {
      const r = await relocate(join(ARM64_OBJECT_DIR, `${p}.bpf.o`), arm64KernelBtf());
      // A relocation may stay unresolved only behind an existence check of the same target that
      // found it absent: that code is dead on this kernel and the verifier drops it.
      const unguarded = r.unresolved.filter((u) => !r.absent.includes(u));
      assert.deepEqual(unguarded, [], `${p}: unresolved relocations`);
      const guarded = r.unresolved.length + r.absent.length;
      assert.ok(r.matched.size + guarded >= r.processed && r.matched.size <= r.processed, `${p}: ${r.matched.size} of ${r.processed} relocations matched, ${guarded} absent and guarded`);
      // The agent's probes read kernel structs (doctor's and the benchmark's programs do not).
      if (p === 'process' || p === 'tcp') assert.ok(r.processed > 0, `${p} has CO-RE relocations`);
      if (r.absent.length) t.diagnostic(`${p}: absent in the arm64 kernel and checked for at run time: ${r.absent.join('; ')}`);
    }
  });

  test('the syscall-exit program reads arm64 pt_regs at the arm64 kernel\'s offsets; against this x86 kernel they do not resolve', async () => {
    const btf = arm64KernelBtf();
    const ptRegs = memberOffsets(btf, 'pt_regs');
    const obj = join(ARM64_OBJECT_DIR, 'process.bpf.o');
    const onArm = await relocate(obj, btf);
    const onHost = await relocate(obj);
    // The target offsets libbpf patched into process__sys_exit, against those bpftool reads from the BTF.
    const want = [
      { what: 'pt_regs.syscallno', offset: ptRegs.get('syscallno') },
      { what: 'pt_regs.orig_x0 (the first syscall argument)', offset: ptRegs.get('orig_x0') },
    ];
    const sysExit = [...onArm.matched].filter(([k]) => k.startsWith('process__sys_exit#')).map(([, off]) => off);
    for (const w of want) {
      assert.equal(typeof w.offset, 'number', `${w.what} in the arm64 BTF`);
      assert.ok(sysExit.includes(w.offset!), `${w.what} relocated to offset ${w.offset} (got ${sysExit.join(', ')})`);
    }
    const scenarios = [
      { kernel: 'arm64 BTF', r: onArm, unresolved: [] as string[] },
      { kernel: 'this x86 kernel', r: onHost, unresolved: ['struct pt_regs.syscallno', 'struct pt_regs___arm64.orig_x0', 'struct user_pt_regs.regs[1]'] },
    ];
    for (const s of scenarios) {
      for (const u of s.unresolved) assert.ok(s.r.unresolved.includes(u), `${s.kernel}: ${u} is unresolved (got ${s.r.unresolved.join(', ')})`);
      if (s.unresolved.length === 0) assert.deepEqual(s.r.unresolved, [], s.kernel);
    }
  });

  test('the host (x86) object reads x86 pt_regs, which the arm64 kernel does not have', async () => {
    if (process.arch !== 'x64') return;
    const r = await relocate(join(repo, 'bpf/.output/process.bpf.o'), arm64KernelBtf());
    assert.ok(r.unresolved.includes('struct pt_regs.orig_ax'), `unresolved: ${r.unresolved.join(', ')}`);
  });
});
