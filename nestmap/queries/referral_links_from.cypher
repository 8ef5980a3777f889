// The referral links (any reason) the given services make ($services: a list of ids): what
// the scenario builder offers to remove, and checks a shared link's choices against, without
// reading a national dataset's million links.
UNWIND $services AS service
MATCH (a:Service {id: service})-[r:REFERS_TO]->(b:Service)
RETURN a.id AS from_service, b.id AS to_service, r.reason AS reason
ORDER BY from_service, to_service, reason
