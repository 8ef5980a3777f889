// Referral links from active services that send families where the support asked for is not.
// not_offered: a parent-infant relationship referral to a service that does no parent-infant
// relationship work at all - no specialised offer at any level and no offer at universal or
// targeted level (a universal or targeted service supports the relationship within wider work).
MATCH (src:Service)-[r:REFERS_TO]->(tgt:Service)
WHERE src.status = 'active'
  AND ($area = '' OR EXISTS { MATCH (src)-[:COVERS]->(:Area {code: $area}) })
OPTIONAL MATCH (src)-[:COVERS]->(shared:Area)<-[:COVERS]-(tgt)
WITH src, r, tgt, count(shared) AS shared_areas
OPTIONAL MATCH (tgt)-[o:OFFERS]->(l:Level)
WITH src, r, tgt, shared_areas,
     sum(CASE WHEN o.focus = 'specialised' THEN 1 ELSE 0 END) AS specialised_offers,
     sum(CASE WHEN l.name IN ['universal', 'targeted'] THEN 1 ELSE 0 END) AS first_line_offers
WITH src, r, tgt,
     r.reason = 'parent_infant_relationship' AND specialised_offers = 0
       AND first_line_offers = 0 AS not_offered,
     shared_areas = 0 AS out_of_area,
     NOT any(stage IN src.stages WHERE stage IN tgt.stages) AS wrong_stage,
     tgt.status <> 'active' AS inactive_target
WHERE not_offered OR out_of_area OR wrong_stage OR inactive_target
RETURN src.id AS from_service, tgt.id AS to_service, r.reason AS reason, r.count AS count,
       coalesce(r.count_basis, 'per_year') AS count_basis,
       not_offered, out_of_area, wrong_stage, inactive_target
