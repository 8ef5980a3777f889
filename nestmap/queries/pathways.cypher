// From each universal entry point in an LA, the shortest referral chain (0-6 links, through
// active services) to a service covering the LA with specialised targeted/specialist work.
MATCH (a:Area {kind: 'local_authority'})<-[:COVERS]-(e:Service)-[:OFFERS]->(:Level {name: 'universal'})
WHERE e.status = 'active' AND ($area = '' OR a.code = $area)
WITH DISTINCT a, e
OPTIONAL MATCH (a)<-[:COVERS]-(d:Service)-[o:OFFERS]->(l:Level)
WHERE d.status = 'active' AND o.focus = 'specialised' AND l.name IN ['targeted', 'specialist']
WITH a, e, collect(DISTINCT d) AS destinations
OPTIONAL MATCH p = ANY SHORTEST (e)(()-[:REFERS_TO]->(n:Service WHERE n.status = 'active')){0,6}(d:Service)
WHERE d IN destinations
WITH a, e, d, length(p) AS hops
ORDER BY hops, d.id
WITH a, e, collect(CASE WHEN d IS NULL THEN NULL ELSE {destination: d.id, hops: hops} END) AS found
RETURN a.code AS area_code, e.id AS entry_service,
       found[0].destination AS destination, found[0].hops AS hops
