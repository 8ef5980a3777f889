// The facts the pathways search needs, one kind per row: each LA's entry points (active
// services with a universal offer covering it), each LA's destinations (active services covering
// it with a specialised targeted or specialist offer) and the referral links between active
// services (any reason). nestmap.analysis.pathways finds the shortest chain (0-6 links) from
// each entry point to a destination of its LA by a breadth-first search that stops at the
// nearest one: the embedded engine's SHORTEST runs a full search per entry point instead
// (minutes for the 20,000 entry points of a national dataset).
MATCH (a:Area)<-[:COVERS]-(e:Service)-[:OFFERS]->(u:Level)
WHERE a.kind = 'local_authority' AND e.status = 'active' AND u.name = 'universal'
  AND ($area = '' OR a.code = $area)
RETURN 'entry' AS kind, a.code AS area_code, e.id AS service, '' AS target
UNION ALL
MATCH (a:Area)<-[:COVERS]-(d:Service)-[o:OFFERS]->(l:Level)
WHERE a.kind = 'local_authority' AND d.status = 'active' AND ($area = '' OR a.code = $area)
// focus and level in separate steps: see need.cypher
WITH a, d, o, l
WHERE o.focus = 'specialised' AND l.name IN ['targeted', 'specialist']
RETURN DISTINCT 'destination' AS kind, a.code AS area_code, d.id AS service, '' AS target
UNION ALL
MATCH (s:Service)-[:REFERS_TO]->(t:Service)
WHERE s.status = 'active' AND t.status = 'active'
RETURN 'link' AS kind, '' AS area_code, s.id AS service, t.id AS target
