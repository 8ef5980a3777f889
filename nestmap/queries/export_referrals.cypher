MATCH (a:Service)-[r:REFERS_TO]->(b:Service)
RETURN a.id AS from_service, b.id AS to_service, r.reason AS reason, r.count AS count,
       r.count_basis AS count_basis, r.source AS source
