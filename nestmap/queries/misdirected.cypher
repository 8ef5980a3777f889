// Referral links from active services that send families where the support asked for is not.
MATCH (src:Service)-[r:REFERS_TO]->(tgt:Service)
WHERE src.status = 'active'
  AND ($area = '' OR EXISTS { MATCH (src)-[:COVERS]->(:Area {code: $area}) })
OPTIONAL MATCH (src)-[:COVERS]->(shared:Area)<-[:COVERS]-(tgt)
WITH src, r, tgt, count(shared) AS shared_areas
OPTIONAL MATCH (tgt)-[o:OFFERS]->(:Level)
WHERE o.focus = 'specialised'
WITH src, r, tgt, shared_areas, count(o) AS specialised_offers
WITH src, r, tgt,
     r.reason = 'parent_infant_relationship' AND specialised_offers = 0 AS not_offered,
     shared_areas = 0 AS out_of_area,
     NOT any(stage IN src.stages WHERE stage IN tgt.stages) AS wrong_stage,
     tgt.status <> 'active' AS inactive_target
WHERE not_offered OR out_of_area OR wrong_stage OR inactive_target
RETURN src.id AS from_service, tgt.id AS to_service, r.reason AS reason, r.count AS count,
       not_offered, out_of_area, wrong_stage, inactive_target
