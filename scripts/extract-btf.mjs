#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Finds the kernel's .BTF blob inside a kernel image (an uncompressed arm64 Image, an ELF
// vmlinux, or either gzip'd) and writes it as a raw BTF file that bpftool and libbpf read.
// Usage: node scripts/extract-btf.mjs <image> <out.btf>
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const [image, out] = process.argv.slice(2);
if (!image || !out) {
  console.error('usage: extract-btf.mjs <kernel image> <out.btf>');
  process.exit(2);
}
let data = readFileSync(image);
if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);

// struct btf_header: u16 magic 0xeB9F, u8 version 1, u8 flags, u32 hdr_len 24, then type_off,
// type_len, str_off, str_len. The kernel lays types first and strings right after them; the
// string section starts and ends with a NUL. Anything else that happens to hold the magic is skipped.
const HDR = 24;
const found = [];
for (let i = data.indexOf(Buffer.from([0x9f, 0xeb, 0x01, 0x00])); i >= 0; i = data.indexOf(Buffer.from([0x9f, 0xeb, 0x01, 0x00]), i + 1)) {
  if (i + HDR > data.length || data.readUInt32LE(i + 4) !== HDR) continue;
  const typeOff = data.readUInt32LE(i + 8), typeLen = data.readUInt32LE(i + 12);
  const strOff = data.readUInt32LE(i + 16), strLen = data.readUInt32LE(i + 20);
  const end = i + HDR + strOff + strLen;
  if (typeOff !== 0 || strOff !== typeLen || typeLen === 0 || strLen === 0 || end > data.length) continue;
  if (data[i + HDR + strOff] !== 0 || data[end - 1] !== 0) continue;
  found.push({ offset: i, size: end - i, typeLen, strLen });
}
if (found.length !== 1) {
  console.error(`extract-btf: ${image}: expected one BTF blob, found ${found.length}`);
  process.exit(1);
}
const [b] = found;
writeFileSync(out, data.subarray(b.offset, b.offset + b.size));
console.log(JSON.stringify({ image, out, ...b }));
