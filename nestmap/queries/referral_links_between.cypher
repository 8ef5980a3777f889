// Every referral link (any reason) between given pairs of services ($pairs: a list of
// {from_service, to_service}): the links a pathway's chain may step along, with their sources,
// so the report can tell a chain that rests on links the data marks illustrative.
UNWIND $pairs AS pair
MATCH (a:Service {id: pair.from_service})-[r:REFERS_TO]->(b:Service {id: pair.to_service})
RETURN a.id AS from_service, b.id AS to_service, r.reason AS reason, r.source AS source
ORDER BY from_service, to_service, reason
