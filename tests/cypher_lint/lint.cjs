#!/usr/bin/env node
// Lints Cypher files with Neo4j's own linter, @neo4j-cypher/language-support
// (the engine behind Neo4j's VS Code extension and query editors): syntax
// errors, semantic errors (undefined variables, type errors, ...), unknown
// functions/procedures, plus warnings (deprecations; labels or relationship
// types missing from schema.json).
//
// Usage:
//   node lint.cjs [--schema FILE] [--no-cache] FILE...
//   node lint.cjs [options] < list.json
//     where list.json is a JSON array whose items are file paths, or
//     {"name": "...", "query": "..."} objects for inline queries.
//
// Prints one JSON report on stdout:
//   {"linter": {...}, "summary": {"files", "errors", "warnings", "cached"},
//    "files": [{"file", "errors", "warnings", "cached", "diagnostics": [
//       {"severity": "Error"|"Warning"|"Information"|"Hint", "message",
//        "line", "column", "endLine", "endColumn", "deprecated"?}]}]}
// Lines and columns are 1-based. A human-readable list goes to stderr.
//
// Exit status: 0 no Error diagnostics (warnings allowed), 1 at least one
// Error, 2 bad usage or an internal failure.
//
// Speed: the linter runs Neo4j's semantic analysis (Scala compiled to JS):
// about 1 s to load, 1-2 s to warm up, then 0.1-1.3 s per query. So results
// are cached per (query text, schema.json, this script, package version) in
// node_modules/.cache/nestmap-cypher-lint (--no-cache bypasses it). Worker
// threads were tried and were slower on 2 cores: V8's own GC and JIT threads
// already keep the second core busy.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const PACKAGE = '@neo4j-cypher/language-support';
const SEVERITY = { 1: 'Error', 2: 'Warning', 3: 'Information', 4: 'Hint' };
const DEPRECATED_TAG = 2; // DiagnosticTag.Deprecated in the LSP types
// Plugin namespaces present in the package's bundled function/procedure
// registry (a dump of a real server). Left out unless schema.json lists them
// under "plugins", so that a call into a plugin the server lacks is an Error.
const KNOWN_PLUGINS = ['apoc', 'gds'];
const CACHE_FORMAT = 1;

class UsageError extends Error {}

// ---------------------------------------------------------------- linting

function unique(values) {
  return [...new Set(values)];
}

// Neo4j's built-in functions and procedures from the package's bundled
// registry, plus those of the plugins schema.json enables.
function registries(ls, plugins) {
  const bundled = ls.testData && ls.testData.mockSchema;
  if (!bundled || !bundled.functions || !bundled.procedures) {
    throw new Error(`${PACKAGE} no longer ships testData.mockSchema; update lint.cjs`);
  }
  const enabled = new Set(plugins);
  const namespace = (name) => name.split('.')[0];
  const isDisabledPlugin = (name) =>
    KNOWN_PLUGINS.includes(namespace(name)) && !enabled.has(namespace(name));
  const functions = {};
  const procedures = {};
  for (const [version, fns] of Object.entries(bundled.functions)) {
    functions[version] = {};
    for (const [name, fn] of Object.entries(fns)) {
      if (fn.isBuiltIn || enabled.has(namespace(name))) functions[version][name] = fn;
    }
  }
  for (const [version, procs] of Object.entries(bundled.procedures)) {
    procedures[version] = {};
    for (const [name, proc] of Object.entries(procs)) {
      if (!isDisabledPlugin(name)) procedures[version][name] = proc;
    }
  }
  return { functions, procedures };
}

function buildDbSchema(ls, spec) {
  const nodes = spec.nodes || {};
  const rels = spec.relationships || {};
  if (!ls.cypherVersions.includes(spec.cypherVersion)) {
    throw new UsageError(
      `schema cypherVersion "${spec.cypherVersion}" is not one of ${ls.cypherVersions.join(', ')}`,
    );
  }
  return {
    labels: Object.keys(nodes),
    relationshipTypes: Object.keys(rels),
    propertyKeys: unique([...Object.values(nodes), ...Object.values(rels)].flat()),
    ...registries(ls, spec.plugins),
    defaultLanguage: spec.cypherVersion,
    parameters: {},
  };
}

// Empty once comments, whitespace and semicolons are gone: the file holds no
// statement. (Can only err towards "not empty".)
function hasStatement(query) {
  return (
    query
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/[^\n]*/g, '')
      .replace(/[\s;]/g, '').length > 0
  );
}

function position(pos) {
  return { line: pos.line + 1, column: pos.character + 1 };
}

function diagnostic(severity, message, start = { line: 1, column: 1 }, end = start) {
  return {
    severity,
    message,
    line: start.line,
    column: start.column,
    endLine: end.line,
    endColumn: end.column,
  };
}

function createLinter(spec) {
  const ls = require(PACKAGE);
  const dbSchema = buildDbSchema(ls, spec);
  return function lint(query) {
    // Parameters are bound at run time by the Python code, so every $param
    // the query uses counts as declared; otherwise the linter reports each
    // one as "Parameter $x is not defined." (an Error).
    const parameters = {};
    for (const name of ls.parseParameters(query, false)) parameters[name] = null;
    const raw = ls.lintCypherQuery(query, { ...dbSchema, parameters }, false);
    const diagnostics = raw.map((d) => {
      const out = diagnostic(
        SEVERITY[d.severity] || 'Error',
        d.message,
        position(d.range.start),
        position(d.range.end),
      );
      if ((d.tags || []).includes(DEPRECATED_TAG)) out.deprecated = true;
      return out;
    });
    if (!hasStatement(query)) {
      diagnostics.push(diagnostic('Error', 'File contains no Cypher statement.'));
    }
    return diagnostics;
  };
}

// -------------------------------------------------------------- command

function parseArgs(argv) {
  const opts = {
    schemaPath: path.join(__dirname, 'schema.json'),
    cache: true,
    files: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--schema') {
      if (i + 1 >= argv.length) throw new UsageError('--schema needs a file');
      opts.schemaPath = argv[++i];
    } else if (arg === '--no-cache') {
      opts.cache = false;
    } else if (arg === '--') {
      opts.files.push(...argv.slice(i + 1));
      break;
    } else if (arg === '-h' || arg === '--help') {
      process.stdout.write(
        'usage: node lint.cjs [--schema FILE] [--no-cache] FILE...\n' +
          '       node lint.cjs [options] < list.json\n',
      );
      process.exit(0);
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      opts.files.push(arg);
    }
  }
  return opts;
}

function readInputs(files) {
  if (files.length > 0) return files;
  let items;
  try {
    items = JSON.parse(fs.readFileSync(0, 'utf8'));
  } catch (e) {
    throw new UsageError(`no files given and stdin is not a JSON list: ${e.message}`);
  }
  const ok = (item) =>
    typeof item === 'string' ||
    (item !== null && typeof item === 'object' && typeof item.query === 'string');
  if (!Array.isArray(items) || !items.every(ok)) {
    throw new UsageError('stdin must be a JSON list of paths or {"name", "query"} objects');
  }
  return items;
}

function loadSpec(schemaPath) {
  let spec;
  try {
    spec = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read schema ${schemaPath}: ${e.message}`);
  }
  spec.cypherVersion = spec.cypherVersion || 'CYPHER 5';
  spec.plugins = spec.plugins || [];
  const unknown = spec.plugins.filter((p) => !KNOWN_PLUGINS.includes(p));
  if (unknown.length > 0) {
    throw new UsageError(`schema plugins ${unknown} unknown; known: ${KNOWN_PLUGINS}`);
  }
  return spec;
}

function packageVersion() {
  // The package's "exports" hide package.json; find it next to the entry point.
  const entry = require.resolve(PACKAGE); // <root>/dist/cjs/index.cjs
  const root = path.resolve(path.dirname(entry), '..', '..');
  return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
}

function makeCache(enabled, salt) {
  const dir = path.join(__dirname, 'node_modules', '.cache', 'nestmap-cypher-lint');
  const file = (query) =>
    path.join(dir, crypto.createHash('sha256').update(salt).update(query).digest('hex') + '.json');
  return {
    get(query) {
      if (!enabled) return undefined;
      try {
        return JSON.parse(fs.readFileSync(file(query), 'utf8'));
      } catch {
        return undefined;
      }
    },
    put(query, diagnostics) {
      if (!enabled) return;
      try {
        fs.mkdirSync(dir, { recursive: true });
        const target = file(query);
        const tmp = `${target}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(diagnostics));
        fs.renameSync(tmp, target);
      } catch {
        // A cache that cannot be written only costs time.
      }
    },
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const inputs = readInputs(opts.files);
  const spec = loadSpec(opts.schemaPath);
  const version = packageVersion();
  const salt = JSON.stringify({
    format: CACHE_FORMAT,
    version,
    spec,
    script: fs.readFileSync(__filename, 'utf8'),
  });
  const cache = makeCache(opts.cache, salt);

  const entries = inputs.map((item) => {
    if (typeof item !== 'string') {
      return { file: item.name || '<inline>', query: item.query };
    }
    try {
      return { file: item, query: fs.readFileSync(item, 'utf8') };
    } catch (e) {
      return {
        file: item,
        query: null,
        diagnostics: [diagnostic('Error', `Cannot read file: ${e.message}`)],
        cached: false,
      };
    }
  });
  const todo = [];
  for (const entry of entries) {
    if (entry.query === null) continue;
    const hit = cache.get(entry.query);
    entry.cached = hit !== undefined;
    if (entry.cached) entry.diagnostics = hit;
    else todo.push(entry);
  }

  if (todo.length > 0) {
    const lint = createLinter(spec); // loads the package: only when needed
    for (const entry of todo) {
      entry.diagnostics = lint(entry.query);
      cache.put(entry.query, entry.diagnostics);
    }
  }

  const report = {
    linter: {
      package: PACKAGE,
      version,
      cypherVersion: spec.cypherVersion,
      plugins: spec.plugins,
      schema: path.resolve(opts.schemaPath),
    },
    summary: { files: 0, errors: 0, warnings: 0, cached: 0 },
    files: [],
  };
  for (const entry of entries) {
    const count = (severity) => entry.diagnostics.filter((d) => d.severity === severity).length;
    const errors = count('Error');
    const warnings = count('Warning');
    report.files.push({
      file: entry.file,
      errors,
      warnings,
      cached: entry.cached,
      diagnostics: entry.diagnostics,
    });
    report.summary.files += 1;
    report.summary.errors += errors;
    report.summary.warnings += warnings;
    report.summary.cached += entry.cached ? 1 : 0;
    for (const d of entry.diagnostics) {
      process.stderr.write(`${entry.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}\n`);
    }
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exitCode = report.summary.errors > 0 ? 1 : 0;
}

try {
  main();
} catch (e) {
  const message = e instanceof UsageError ? e.message : `internal error: ${e && e.stack ? e.stack : e}`;
  process.stderr.write(`cypher-lint: ${message}\n`);
  process.exitCode = 2;
}
