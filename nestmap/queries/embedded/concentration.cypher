// Embedded sibling of concentration.cypher (same rows): "the referring service covers the LA"
// reads the covered-LA list each Service carries in the embedded graph (embedded/schema.cypher);
// this engine runs the pattern subquery per link: 0.26 s for one LA of a national dataset,
// against 0.02 s for the list.
MATCH (src:Service)-[r:REFERS_TO]->(t:Service)
WHERE src.status = 'active' AND r.reason = 'parent_infant_relationship'
  AND ($area = '' OR $area IN src.covers)
WITH t, coalesce(r.count_basis, 'per_year') AS count_basis, sum(coalesce(r.count, 0)) AS count
OPTIONAL MATCH (t)-[o:OFFERS]->(:Level)
WHERE o.focus = 'specialised'
RETURN t.id AS to_service, count_basis, count, count(o) > 0 AS specialised
