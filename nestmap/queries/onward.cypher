// The facts misdirected's `onward` needs, as lists: per LA its destinations (as pathways: active
// services covering it with a specialised targeted or specialist offer); per active service the
// active services it refers families to (any reason); and per active service the LAs it covers
// (for a 'covers' row the list holds LA codes). nestmap.analysis.misdirected then searches, level
// by level as pathways does, whether a chain of 0-6 links leads from each misdirected link's
// target to a destination of one of its source's LAs.
MATCH (d:Service)-[o:OFFERS]->(l:Level)
WHERE d.status = 'active' AND o.focus = 'specialised'
// the level in a later step than the focus: see need.cypher
WITH d, l
WHERE l.name IN ['targeted', 'specialist']
WITH DISTINCT d
MATCH (d)-[:COVERS]->(a:Area)
WHERE a.kind = 'local_authority'
RETURN 'destination' AS kind, a.code AS key, collect(d.id) AS services
UNION ALL
MATCH (s:Service)-[:REFERS_TO]->(t:Service)
WHERE s.status = 'active' AND t.status = 'active'
RETURN 'link' AS kind, s.id AS key, collect(t.id) AS services
UNION ALL
MATCH (s:Service)-[:COVERS]->(a:Area)
WHERE s.status = 'active' AND a.kind = 'local_authority'
RETURN 'covers' AS kind, s.id AS key, collect(a.code) AS services
