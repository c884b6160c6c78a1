// Writes every vector of the pinned cctv-age package (the C2SP/CCTV age
// test vectors) as a file into the folder given as the only argument, for
// tests/unit/test_age_vectors.c. Run `npm ci` here first
// (scripts/install-deps does).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
if (!out) {
  console.error("usage: node extract.mjs OUTDIR");
  process.exit(2);
}
let vectors;
try {
  vectors = await import("cctv-age");
} catch (err) {
  console.error(`extract: cannot load the cctv-age package (${err.message}); run scripts/install-deps`);
  process.exit(1);
}
mkdirSync(out, { recursive: true });
let n = 0;
for (const [name, data] of Object.entries(vectors)) {
  if (!(data instanceof Uint8Array)) continue;
  writeFileSync(join(out, name), data);
  n++;
}
if (n === 0) {
  console.error("extract: the cctv-age package holds no vectors");
  process.exit(1);
}
console.log(`extract: ${n} vectors written to ${out}`);
