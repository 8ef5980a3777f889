#!/usr/bin/env node
// Lints Cypher files with Neo4j's own linter, @neo4j-cypher/language-support
// (the engine behind Neo4j's VS Code extension and Query/Workspace editors):
// syntax errors, semantic errors (undefined variables, type errors, ...) and
// unknown functions/procedures, plus warnings (deprecations, labels or
// relationship types missing from schema.json).
//
// Usage:
//   node lint.cjs [--schema FILE] FILE...
//   node lint.cjs [--schema FILE] < list.json
//     where list.json is a JSON array whose items are file paths, or
//     {"name": "...", "query": "..."} objects for inline queries.
//
// Prints one JSON report on stdout:
//   {"linter": {...}, "summary": {"files", "errors", "warnings"},
//    "files": [{"file", "errors", "warnings", "diagnostics": [
//       {"severity": "Error"|"Warning"|"Information"|"Hint", "message",
//        "line", "column", "endLine", "endColumn", "deprecated"?}]}]}
// Lines and columns are 1-based. A human-readable list goes to stderr.
//
// Exit status: 0 no Error diagnostics (warnings allowed), 1 at least one
// Error, 2 bad usage or an internal failure.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const PACKAGE = '@neo4j-cypher/language-support';
const SEVERITY = { 1: 'Error', 2: 'Warning', 3: 'Information', 4: 'Hint' };
const DEPRECATED_TAG = 2; // DiagnosticTag.Deprecated in the LSP types
// Namespaces of plugins whose functions/procedures the package's bundled
// registry (a dump of a real server) contains; left out unless schema.json
// lists them under "plugins".
const KNOWN_PLUGIN_NAMESPACES = ['apoc', 'gds'];

function fail(message) {
  process.stderr.write(`cypher-lint: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  let schemaPath = path.join(__dirname, 'schema.json');
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--schema') {
      if (i + 1 >= argv.length) fail('--schema needs a file');
      schemaPath = argv[++i];
    } else if (arg === '--') {
      files.push(...argv.slice(i + 1));
      break;
    } else if (arg === '-h' || arg === '--help') {
      process.stdout.write(
        'usage: node lint.cjs [--schema FILE] FILE...\n' +
          '       node lint.cjs [--schema FILE] < list.json\n',
      );
      process.exit(0);
    } else if (arg.startsWith('--')) {
      fail(`unknown option ${arg}`);
    } else {
      files.push(arg);
    }
  }
  return { schemaPath, files };
}

function readInputs(files) {
  if (files.length > 0) return files;
  let raw;
  try {
    raw = fs.readFileSync(0, 'utf8');
  } catch (e) {
    fail(`no files given and stdin unreadable: ${e.message}`);
  }
  let items;
  try {
    items = JSON.parse(raw);
  } catch (e) {
    fail(`stdin is not JSON: ${e.message}`);
  }
  if (!Array.isArray(items)) fail('stdin JSON must be an array');
  for (const item of items) {
    const inline =
      item && typeof item === 'object' && typeof item.query === 'string';
    if (typeof item !== 'string' && !inline) {
      fail('stdin items must be paths or {"name", "query"} objects');
    }
  }
  return items;
}

function unique(values) {
  return [...new Set(values)];
}

// Keep Neo4j's built-in functions and procedures from the package's bundled
// registry, plus those of the plugins schema.json enables.
function registries(ls, plugins) {
  const bundled = ls.testData && ls.testData.mockSchema;
  if (!bundled || !bundled.functions || !bundled.procedures) {
    fail(`${PACKAGE} no longer ships testData.mockSchema; update lint.cjs`);
  }
  const allowed = new Set(plugins);
  const isPlugin = (name) => {
    const ns = name.split('.')[0];
    return KNOWN_PLUGIN_NAMESPACES.includes(ns) && !allowed.has(ns);
  };
  const functions = {};
  const procedures = {};
  for (const version of Object.keys(bundled.functions)) {
    functions[version] = {};
    for (const [name, fn] of Object.entries(bundled.functions[version])) {
      if (fn.isBuiltIn || allowed.has(name.split('.')[0])) {
        functions[version][name] = fn;
      }
    }
  }
  for (const version of Object.keys(bundled.procedures)) {
    procedures[version] = {};
    for (const [name, proc] of Object.entries(bundled.procedures[version])) {
      if (!isPlugin(name)) procedures[version][name] = proc;
    }
  }
  return { functions, procedures };
}

function loadSchema(ls, schemaPath) {
  let spec;
  try {
    spec = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
  } catch (e) {
    fail(`cannot read schema ${schemaPath}: ${e.message}`);
  }
  const nodes = spec.nodes || {};
  const rels = spec.relationships || {};
  const version = spec.cypherVersion || 'CYPHER 5';
  if (!ls.cypherVersions.includes(version)) {
    fail(`schema cypherVersion ${version} not in ${ls.cypherVersions}`);
  }
  const plugins = spec.plugins || [];
  const unknown = plugins.filter((p) => !KNOWN_PLUGIN_NAMESPACES.includes(p));
  if (unknown.length > 0) {
    fail(`schema plugins ${unknown} unknown; known: ${KNOWN_PLUGIN_NAMESPACES}`);
  }
  const { functions, procedures } = registries(ls, plugins);
  return {
    labels: Object.keys(nodes),
    relationshipTypes: Object.keys(rels),
    propertyKeys: unique([...Object.values(nodes), ...Object.values(rels)].flat()),
    functions,
    procedures,
    defaultLanguage: version,
    parameters: {},
  };
}

function position(pos) {
  return { line: pos.line + 1, column: pos.character + 1 };
}

// Text left once comments, whitespace and semicolons are gone; empty means
// the file holds no statement. (Errs only towards "not empty".)
function hasStatement(query) {
  return (
    query
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/[^\n]*/g, '')
      .replace(/[\s;]/g, '').length > 0
  );
}

function lintOne(ls, schema, name, query) {
  // Parameters are bound at run time by the Python code, so every $param a
  // query uses counts as declared; without this the linter reports each
  // one as "Parameter $x is not defined." (an Error).
  const parameters = {};
  for (const p of ls.parseParameters(query, false)) parameters[p] = null;
  const raw = ls.lintCypherQuery(query, { ...schema, parameters }, false);
  const diagnostics = raw.map((d) => {
    const start = position(d.range.start);
    const end = position(d.range.end);
    const out = {
      severity: SEVERITY[d.severity] || 'Error',
      message: d.message,
      line: start.line,
      column: start.column,
      endLine: end.line,
      endColumn: end.column,
    };
    if ((d.tags || []).includes(DEPRECATED_TAG)) out.deprecated = true;
    return out;
  });
  if (!hasStatement(query)) {
    diagnostics.push({
      severity: 'Error',
      message: 'File contains no Cypher statement.',
      line: 1,
      column: 1,
      endLine: 1,
      endColumn: 1,
    });
  }
  return diagnostics;
}

function main() {
  const { schemaPath, files } = parseArgs(process.argv.slice(2));
  const inputs = readInputs(files);

  const ls = require(PACKAGE);
  const pkgJson = JSON.parse(
    fs.readFileSync(
      path.join(path.dirname(require.resolve(PACKAGE)), '..', '..', 'package.json'),
      'utf8',
    ),
  );
  const schema = loadSchema(ls, schemaPath);

  const report = {
    linter: {
      package: PACKAGE,
      version: pkgJson.version,
      cypherVersion: schema.defaultLanguage,
      schema: path.resolve(schemaPath),
    },
    summary: { files: 0, errors: 0, warnings: 0 },
    files: [],
  };
  for (const item of inputs) {
    let name;
    let diagnostics;
    if (typeof item === 'string') {
      name = item;
      let query;
      try {
        query = fs.readFileSync(item, 'utf8');
      } catch (e) {
        query = null;
        diagnostics = [
          {
            severity: 'Error',
            message: `Cannot read file: ${e.message}`,
            line: 1,
            column: 1,
            endLine: 1,
            endColumn: 1,
          },
        ];
      }
      if (query !== null) diagnostics = lintOne(ls, schema, name, query);
    } else {
      name = item.name || '<inline>';
      diagnostics = lintOne(ls, schema, name, item.query);
    }
    const errors = diagnostics.filter((d) => d.severity === 'Error').length;
    const warnings = diagnostics.filter((d) => d.severity === 'Warning').length;
    report.files.push({ file: name, errors, warnings, diagnostics });
    report.summary.files += 1;
    report.summary.errors += errors;
    report.summary.warnings += warnings;
  }

  for (const f of report.files) {
    for (const d of f.diagnostics) {
      process.stderr.write(
        `${f.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}\n`,
      );
    }
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exitCode = report.summary.errors > 0 ? 1 : 0;
}

try {
  main();
} catch (e) {
  fail(`internal error: ${e && e.stack ? e.stack : e}`);
}
