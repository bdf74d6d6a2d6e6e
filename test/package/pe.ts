// The DLLs a Windows PE file (.dll / .node) imports at load time and the ones it delay-loads (loaded only
// when a function of theirs is first called). Reads the import (data directory 1) and delay-import (13)
// tables itself, so it works for x64 and arm64 PEs on any OS (binutils' objdump reads neither arm64 PEs
// nor delay-import names). `npx tsx test/package/pe.ts FILE…` prints them.
import * as fs from 'node:fs';

const MACHINES: Record<number, string> = { 0x8664: 'x86-64', 0xaa64: 'arm64', 0x14c: 'i386', 0x1c4: 'arm' };

export interface PeImports {
  machine: string;
  imports: string[];
  delayImports: string[];
}

export function peImports(b: Buffer): PeImports {
  if (b.readUInt16LE(0) !== 0x5a4d) throw new Error('not a PE file (no MZ header)');
  const pe = b.readUInt32LE(0x3c);
  if (b.readUInt32LE(pe) !== 0x4550) throw new Error('not a PE file (no PE signature)');
  const coff = pe + 4;
  const machine = MACHINES[b.readUInt16LE(coff)] ?? `0x${b.readUInt16LE(coff).toString(16)}`;
  const nSections = b.readUInt16LE(coff + 2);
  const optSize = b.readUInt16LE(coff + 16);
  const opt = coff + 20;
  const magic = b.readUInt16LE(opt);
  const pe32plus = magic === 0x20b;
  const imageBase = pe32plus ? b.readBigUInt64LE(opt + 24) : BigInt(b.readUInt32LE(opt + 28));
  const nDirs = b.readUInt32LE(opt + (pe32plus ? 108 : 92));
  const dirs = opt + (pe32plus ? 112 : 96);
  const dir = (i: number) => (i < nDirs ? { rva: b.readUInt32LE(dirs + 8 * i), size: b.readUInt32LE(dirs + 8 * i + 4) } : { rva: 0, size: 0 });
  const sections: { va: number; vsize: number; rawSize: number; raw: number }[] = [];
  for (let i = 0, s = opt + optSize; i < nSections; i++, s += 40) {
    sections.push({ va: b.readUInt32LE(s + 12), vsize: b.readUInt32LE(s + 8), rawSize: b.readUInt32LE(s + 16), raw: b.readUInt32LE(s + 20) });
  }
  const off = (rva: number): number => {
    for (const s of sections) if (rva >= s.va && rva < s.va + Math.max(s.vsize, s.rawSize)) return rva - s.va + s.raw;
    throw new Error(`RVA 0x${rva.toString(16)} is in no section`);
  };
  const cstr = (o: number) => b.toString('latin1', o, b.indexOf(0, o));

  const imports: string[] = [];
  const imp = dir(1);
  if (imp.rva) {
    for (let d = off(imp.rva); ; d += 20) {
      const name = b.readUInt32LE(d + 12);
      if (!name && !b.readUInt32LE(d) && !b.readUInt32LE(d + 16)) break;
      imports.push(cstr(off(name)));
    }
  }
  const delayImports: string[] = [];
  const delay = dir(13);
  if (delay.rva) {
    for (let d = off(delay.rva); ; d += 32) {
      const attrs = b.readUInt32LE(d),
        name = b.readUInt32LE(d + 4);
      if (!name) break;
      // attributes bit 0 set: RVAs (the modern format); clear: virtual addresses (subtract the image base).
      delayImports.push(cstr(off(attrs & 1 ? name : Number(BigInt(name) - imageBase))));
    }
  }
  return { machine, imports, delayImports };
}

if (require.main === module) {
  for (const f of process.argv.slice(2)) {
    const r = peImports(fs.readFileSync(f));
    console.log(`${f} (${r.machine})\n  imports:       ${r.imports.join(', ') || '(none)'}\n  delay-imports: ${r.delayImports.join(', ') || '(none)'}`);
  }
}
