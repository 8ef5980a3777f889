// Referral links whose source mentions "illustrative" anywhere: the few candidates that
// nestmap.provenance.link_is_illustrative then decides on (the source starts with it), so that
// a page asking "does any figure rest on illustrative links?" reads these, not every link.
MATCH (a:Service)-[r:REFERS_TO]->(b:Service)
WHERE toLower(r.source) CONTAINS 'illustrative'
RETURN a.id AS from_service, b.id AS to_service, r.reason AS reason, r.count AS count,
       r.source AS source
