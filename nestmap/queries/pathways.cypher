// The facts the pathways search needs, as lists: per LA, its entry points (active services with
// a universal offer covering it) and its destinations (active services covering it with a
// specialised targeted or specialist offer); per active service, the active services it refers
// families to (any reason). nestmap.analysis.pathways then finds the shortest chain (0-6 links)
// from each entry point to a destination of its LA by a breadth-first search that stops at the
// nearest: the embedded engine's SHORTEST searches the whole graph for every entry point
// instead (minutes for the 20,000 entry points of a national dataset).
MATCH (a:Area)<-[:COVERS]-(e:Service)-[:OFFERS]->(u:Level)
WHERE a.kind = 'local_authority' AND e.status = 'active' AND u.name = 'universal'
  AND ($area = '' OR a.code = $area)
RETURN 'entry' AS kind, a.code AS key, collect(e.id) AS services
UNION ALL
MATCH (d:Service)-[o:OFFERS]->(l:Level)
WHERE d.status = 'active' AND o.focus = 'specialised'
// the level in a later step than the focus: see need.cypher
WITH d, l
WHERE l.name IN ['targeted', 'specialist']
WITH DISTINCT d
MATCH (d)-[:COVERS]->(a:Area)
WHERE a.kind = 'local_authority' AND ($area = '' OR a.code = $area)
RETURN 'destination' AS kind, a.code AS key, collect(d.id) AS services
UNION ALL
MATCH (s:Service)-[:REFERS_TO]->(t:Service)
WHERE s.status = 'active' AND t.status = 'active'
RETURN 'link' AS kind, s.id AS key, collect(t.id) AS services
