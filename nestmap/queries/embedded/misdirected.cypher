// Embedded sibling of misdirected.cypher (same rows). "Do source and target share an LA" reads
// the covered-LA lists each Service carries in the embedded graph (embedded/schema.cypher):
// this engine runs the pattern form per link, ~40 s over a million links.
MATCH (tgt:Service)
OPTIONAL MATCH (tgt)-[o:OFFERS]->(l:Level)
WITH tgt,
     sum(CASE WHEN o.focus = 'specialised' THEN 1 ELSE 0 END) AS specialised_offers,
     sum(CASE WHEN l.name IN ['universal', 'targeted'] THEN 1 ELSE 0 END) AS first_line_offers
MATCH (src:Service)-[r:REFERS_TO]->(tgt)
WHERE src.status = 'active' AND ($area = '' OR $area IN src.covers)
WITH src, r, tgt,
     r.reason = 'parent_infant_relationship' AND specialised_offers = 0
       AND first_line_offers = 0 AS not_offered,
     NOT list_has_any(src.covers, tgt.covers) AS out_of_area,
     NOT list_has_any(src.stages, tgt.stages) AS wrong_stage,
     tgt.status <> 'active' AS inactive_target
WHERE not_offered OR out_of_area OR wrong_stage OR inactive_target
RETURN src.id AS from_service, tgt.id AS to_service, r.reason AS reason, r.count AS count,
       coalesce(r.count_basis, 'per_year') AS count_basis,
       not_offered, out_of_area, wrong_stage, inactive_target
