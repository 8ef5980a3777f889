// Embedded dialect of pathways: Kuzu-style SHORTEST with a node filter, and the best
// destination picked by min over "hops destination" (hops is one digit, so string order is
// hops first, then destination id).
MATCH (a:Area)<-[:COVERS]-(e:Service)-[:OFFERS]->(:Level {name: 'universal'})
WHERE a.kind = 'local_authority' AND e.status = 'active' AND ($area = '' OR a.code = $area)
WITH DISTINCT a, e
OPTIONAL MATCH p = (e)-[:REFERS_TO* SHORTEST 1..6 (r, n | WHERE n.status = 'active')]->(d:Service)
WHERE d.status = 'active'
  AND EXISTS { MATCH (d)-[:COVERS]->(a) }
  AND EXISTS { MATCH (d)-[o:OFFERS]->(l:Level)
               WHERE o.focus = 'specialised' AND l.name IN ['targeted', 'specialist'] }
WITH a, e, min(CASE WHEN d IS NULL THEN NULL ELSE CAST(length(p) AS STRING) + ' ' + d.id END) AS reached
WITH a, e, reached,
     EXISTS { MATCH (e)-[o:OFFERS]->(l:Level)
              WHERE o.focus = 'specialised' AND l.name IN ['targeted', 'specialist'] } AS is_destination
WITH a, e, CASE WHEN is_destination THEN '0 ' + e.id ELSE reached END AS best
RETURN a.code AS area_code, e.id AS entry_service,
       CASE WHEN best IS NULL THEN NULL ELSE substring(best, 3, size(best) - 2) END AS destination,
       CASE WHEN best IS NULL THEN NULL ELSE CAST(substring(best, 1, 1) AS INT64) END AS hops
