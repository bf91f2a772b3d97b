// npm run build, last step: bundles the compiled server (dist/src/main.js) into dist/server/, the
// files `npm start`, the Docker image and the process tests run.
//
// Why: a worker of the unbundled server resolves, reads, compiles and links about 2,000 module
// files at boot (rxjs, class-validator and its validator and libphonenumber tables, Fastify's ajv
// and serializer, Nest itself), which was most of its start. One file per import graph loads in a
// fraction of that (README, "Decisions a user should know"). What the server imports lazily stays lazy:
// each dynamic import() becomes a chunk of its own, loaded when it is (viem, @nestjs/swagger,
// Prisma's query compiler). dist/src/ stays as it is, for the CLI and the seed script.
//
// Left out and loaded from node_modules at run time: packages with native code or files of their
// own (Argon2's addon, PGlite's WASM and data files, ws's optional native helpers), and the optional packages Nest and Fastify
// probe for with a guarded import() (@fastify/static, @nestjs/microservices, ...), which are not
// installed: a missing one must fail at run time, inside the guard, not at build time.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = 'dist/server';
// bufferutil and utf-8-validate (ws's native helpers, for viem's WebSocket) find their addons from
// their own directory, which a bundle does not have: bundled, they fall back to JavaScript.
const EXTERNAL = ['@node-rs/argon2', '@electric-sql/pglite', 'pglite-prisma-adapter', 'bufferutil', 'utf-8-validate'];

/** Leaves a package import that does not resolve to run time. */
const unresolvableStayExternal = {
  name: 'unresolvable-stay-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'probe') return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'probe' });
      return resolved.errors.length > 0 ? { path: args.path, external: true } : undefined;
    });
  },
};

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Whether Node loads this file as CommonJS: .cjs, or .js under a package.json without "type": "module". */
function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')).type !== 'module';
    if (dirname(dir) === dir) return true;
  }
}

/**
 * import() of a CommonJS package. Node gives the importer `module.exports` as `default` and its
 * named exports (Nest's ValidationPipe calls `(await import('class-transformer')).plainToInstance`,
 * its Fastify adapter calls `(await import('@fastify/cors')).default`); an esbuild chunk of a
 * CommonJS module exports only `default`. So such an import loads a small ES module instead, which
 * requires the package (bundled: the same module.exports) and exports it as Node does, with the
 * names read by requiring it here, at build time.
 */
const commonJsDynamicImportsNamed = {
  name: 'commonjs-dynamic-imports-named',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.pluginData === 'probe') return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'probe' });
      if (resolved.errors.length > 0 || resolved.external) return undefined;
      if (!isCommonJs(resolved.path)) return undefined;
      const exported = createRequire(resolved.path)(resolved.path);
      if (exported === null || (typeof exported !== 'object' && typeof exported !== 'function')) return undefined;
      const names = Object.keys(exported).filter((name) => IDENTIFIER.test(name) && name !== 'default');
      return { path: resolved.path, namespace: 'commonjs-named', pluginData: names };
    });
    build.onLoad({ filter: /.*/, namespace: 'commonjs-named' }, (args) => ({
      resolveDir: dirname(args.path),
      contents: [
        `const commonJs = require(${JSON.stringify(args.path)});`,
        'export default commonJs;',
        ...(args.pluginData.length > 0 ? [`export const { ${args.pluginData.join(', ')} } = commonJs;`] : []),
      ].join('\n'),
    }));
  },
};

/**
 * Class names, kept without esbuild's keepNames (which wraps every function and closure in a
 * __name() call, per request on the hot paths: about 10 % of introspection throughput in our
 * measurement). esbuild renames a class's inner name where it would shadow another binding
 * (tsc's `let X = X_1 = class X {` comes out `var X = X_1 = class X2 {`) and turns a class
 * declaration that refers to itself into `var X = class _X {`, and a class's name is its inner
 * name. Nest and the OpenAPI document read class names (log contexts, operation ids, schema names),
 * so each such class gets its name back in a static block, run once as the class is defined.
 */
const RENAMED_CLASS = /\b(?:var|let|const) ([A-Za-z_$][\w$]*) = (?:[A-Za-z_$][\w$]* = )?class ([A-Za-z_$][\w$]*)\b/g;

/** Where the body of the class whose heritage starts at `from` opens: the first `{` outside brackets. */
function classBodyAt(code, from) {
  let depth = 0;
  for (let i = from; i < code.length; i++) {
    const c = code[i];
    if (c === '(' || c === '[') depth += 1;
    else if (c === ')' || c === ']') depth -= 1;
    else if (c === '{' && depth === 0) return i;
  }
  return -1;
}

function namesRestored(code) {
  const inserts = [];
  for (const match of code.matchAll(RENAMED_CLASS)) {
    const [whole, name, inner] = match;
    if (inner === name || (inner !== `_${name}` && !new RegExp(`^${name.replace(/\$/g, '\\$')}\\d+$`).test(inner))) continue;
    const body = classBodyAt(code, match.index + whole.length);
    if (body < 0) throw new Error(`bundle: no body for class ${inner}`);
    inserts.push([body + 1, ` static { Object.defineProperty(this, "name", { value: ${JSON.stringify(name)}, configurable: true }); }`]);
  }
  let out = '';
  let at = 0;
  for (const [index, text] of inserts) {
    out += code.slice(at, index) + text;
    at = index;
  }
  return { code: out + code.slice(at), restored: inserts.length };
}

rmSync(`${root}/${OUT_DIR}`, { recursive: true, force: true });
const { outputFiles } = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['dist/src/main.js'],
  outdir: OUT_DIR,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // The CommonJS packages inside (pg, ioredis, rxjs, ...) call require() for Node's own modules.
  banner: { js: "import { createRequire as __sigauthCreateRequire } from 'node:module';\nconst require = __sigauthCreateRequire(import.meta.url);" },
  keepNames: false,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [commonJsDynamicImportsNamed, unresolvableStayExternal],
  write: false,
});
mkdirSync(`${root}/${OUT_DIR}`, { recursive: true });
for (const file of outputFiles) {
  const { code, restored } = file.path.endsWith('.js') ? namesRestored(file.text) : { code: file.contents, restored: 0 };
  // What was inserted must leave the chunk valid JavaScript: a misplaced insertion fails the build, not the server.
  if (restored > 0) await esbuild.transform(code, { loader: 'js', format: 'esm', logLevel: 'silent' });
  writeFileSync(file.path, code);
}
