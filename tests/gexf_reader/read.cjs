// Reads a GEXF file with graphology-gexf and prints what a sigma.js / Gephi Lite user would
// see: node and edge counts, the attribute names, nodes without an id, and edges flagged
// misdirected. Usage: node read.cjs FILE.gexf
'use strict';
const fs = require('fs');
const Graph = require('graphology');
const gexf = require('graphology-gexf');

const graph = gexf.parse(Graph, fs.readFileSync(process.argv[2], 'utf8'), {allowUndeclaredAttributes: false});
const nodeAttributes = new Set();
graph.forEachNode((node, attributes) => Object.keys(attributes).forEach(k => nodeAttributes.add(k)));
const edgeAttributes = new Set();
const misdirected = [];
graph.forEachEdge((edge, attributes, source, target) => {
  Object.keys(attributes).forEach(k => edgeAttributes.add(k));
  if (attributes.misdirected === true) misdirected.push([source, target, attributes.reason]);
});
process.stdout.write(JSON.stringify({
  order: graph.order,
  size: graph.size,
  type: graph.type,
  multi: graph.multi,
  node_attributes: [...nodeAttributes].sort(),
  edge_attributes: [...edgeAttributes].sort(),
  misdirected: misdirected,
  service_ids: graph.filterNodes((n, a) => a.kind === 'Service').map(n => graph.getNodeAttribute(n, 'service_id')),
}));
