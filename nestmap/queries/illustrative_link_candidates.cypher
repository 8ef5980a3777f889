// Referral links whose source mentions "illustrative" anywhere: the few candidates that
// nestmap.provenance then decides on (the source starts with it: the link is illustrative; or
// it says "illustrative split": the count is an assumed share of its source's total), so that a
// page asking "does any figure rest on illustrative links?" reads these, not every link.
MATCH (a:Service)-[r:REFERS_TO]->(b:Service)
WHERE toLower(r.source) CONTAINS 'illustrative'
RETURN a.id AS from_service, b.id AS to_service, r.reason AS reason, r.count AS count,
       coalesce(r.count_basis, 'per_year') AS count_basis, r.source AS source
