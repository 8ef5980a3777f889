// What the network selects services by (nestmap.dashboard.network.passing): each service's id,
// status, covered LAs, stages and offers, without the rest of its row (a national catalogue is
// 50,000 services; only the few hundred drawn are read whole, by services_by_id).
MATCH (s:Service)
WHERE $area = '' OR EXISTS { MATCH (s)-[:COVERS]->(:Area {code: $area}) }
OPTIONAL MATCH (s)-[o:OFFERS]->(l:Level)
WITH s, collect([l.name, o.focus]) AS offers
OPTIONAL MATCH (s)-[:COVERS]->(a:Area)
WITH s, offers, collect(a.code) AS covers
RETURN s.id AS id, s.status AS status, covers, s.stages AS stages, offers
