// The service catalogue: every service (any status) with its offers and covered LAs.
// Each collect groups by the service node alone: grouping the second by the returned
// properties and the offers list as well took three times as long at 50,000 services.
MATCH (s:Service)
WHERE $area = '' OR EXISTS { MATCH (s)-[:COVERS]->(:Area {code: $area}) }
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
