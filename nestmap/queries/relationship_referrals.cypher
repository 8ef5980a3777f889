// Every parent-infant relationship referral link from an active service (to a service of any
// status), with its count (blank: 0) and whether the receiving service has a specialised offer:
// the facts of concentration, link by link. nestmap.analysis.slices keeps them beside the
// results of a dataset version and sums one LA's links from them (concentration's shares are of
// the LA's own total, so they cannot be cut out of the whole country's).
MATCH (t:Service)
OPTIONAL MATCH (t)-[o:OFFERS]->(:Level)
WHERE o.focus = 'specialised'
WITH t, count(o) > 0 AS specialised
MATCH (src:Service)-[r:REFERS_TO]->(t)
WHERE src.status = 'active' AND r.reason = 'parent_infant_relationship'
RETURN src.id AS from_service, t.id AS to_service, coalesce(r.count, 0) AS count, specialised
