MATCH (s:Service)
RETURN s.id AS id, s.name AS name, s.provider AS provider, s.sector AS sector,
       s.status AS status, s.areas AS areas, s.stages AS stages,
       s.min_age_months AS min_age_months, s.max_age_months AS max_age_months,
       s.threshold AS threshold, s.self_referral AS self_referral,
       s.capacity_per_year AS capacity_per_year,
       s.assesses_relationship AS assesses_relationship,
       s.supports_fathers AS supports_fathers, s.source AS source
