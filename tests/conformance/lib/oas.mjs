// Direct schema checks against Auth0's OpenAPI document with Ajv (the same
// validator and options Prism uses). Used where Prism's verdict is known to be
// wrong (the ambiguous list `oneOf`s) to prove the body still matches one of
// the documented shapes, and for the shape checks a test wants to name.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

export class Oas {
  constructor(path) {
    this.doc = JSON.parse(readFileSync(path, 'utf8'));
    this.ajv = new Ajv({
      allErrors: true,
      allowUnionTypes: true,
      allowMatchingProperties: true,
      strict: false,
      validateSchema: false,
      logger: false,
    });
    addFormats(this.ajv);
    this.ajv.addSchema(this.doc, 'oas');
    this.cache = new Map();
  }

  // The JSON schema of one response, or null when the document has none.
  responseSchema(method, template, status) {
    const op = this.doc.paths?.[template]?.[method.toLowerCase()];
    const r = op?.responses?.[String(status)];
    return r?.content?.['application/json']?.schema ?? null;
  }

  // The branches of a `oneOf` (following one $ref), as $ref strings.
  oneOfBranches(schema) {
    let s = schema;
    if (s?.$ref) s = this.resolve(s.$ref);
    if (!Array.isArray(s?.oneOf)) return [];
    return s.oneOf;
  }

  resolve(ref) {
    const parts = ref.replace(/^#\//, '').split('/');
    let cur = this.doc;
    for (const p of parts) cur = cur?.[p.replace(/~1/g, '/').replace(/~0/g, '~')];
    return cur;
  }

  // Errors (strings) of `value` against a schema fragment of the document
  // (an object that may hold local "#/components/..." refs); [] when valid.
  errors(schema, value) {
    const key = JSON.stringify(schema);
    let fn = this.cache.get(key);
    if (!fn) {
      fn = this.ajv.compile(rebase(schema));
      this.cache.set(key, fn);
    }
    if (fn(value)) return [];
    return (fn.errors || []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  }

  // Errors of `value` against components/schemas/NAME.
  errorsFor(name, value) {
    return this.errors({ $ref: `#/components/schemas/${name}` }, value);
  }
}

// Local refs inside the document become refs into the schema registered as 'oas'.
function rebase(schema) {
  return JSON.parse(
    JSON.stringify(schema, (k, v) => (k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `oas${v}` : v)),
  );
}
