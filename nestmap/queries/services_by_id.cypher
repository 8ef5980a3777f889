// The rows of the services query for the given ids ($ids), found by id: the few hundred
// services the network draws, without reading the whole catalogue.
UNWIND $ids AS wanted
MATCH (s:Service)
WHERE s.id = wanted
OPTIONAL MATCH (s)-[o:OFFERS]->(l:Level)
WITH s, collect([l.name, o.focus]) AS offers
OPTIONAL MATCH (s)-[:COVERS]->(a:Area)
WITH s, offers, collect(a.code) AS covers
RETURN s.id AS id, s.name AS name, s.provider AS provider, s.sector AS sector,
       s.status AS status, s.areas AS areas, covers, s.stages AS stages,
       s.min_age_months AS min_age_months, s.max_age_months AS max_age_months,
       s.threshold AS threshold, s.self_referral AS self_referral,
       s.capacity_per_year AS capacity_per_year,
       s.assesses_relationship AS assesses_relationship,
       s.supports_fathers AS supports_fathers, s.source AS source, offers
