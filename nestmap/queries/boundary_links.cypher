// The interfaces a family crosses on each referral link between active services.
MATCH (src:Service)-[r:REFERS_TO]->(tgt:Service)
WHERE src.status = 'active' AND tgt.status = 'active'
  AND ($area = '' OR EXISTS { MATCH (src)-[:COVERS]->(:Area {code: $area}) })
OPTIONAL MATCH (src)-[:COVERS]->(shared:Area)<-[:COVERS]-(tgt)
WITH src, r, tgt, count(shared) AS shared_areas
OPTIONAL MATCH (src)-[:COVERS]->(own:Area)
WITH src, r, tgt, shared_areas, count(own) AS source_areas
WITH src, r, tgt,
     src.threshold <> tgt.threshold AS threshold_change,
     'postnatal' IN src.stages AND 'postnatal' IN tgt.stages
       AND (src.min_age_months IS NOT NULL OR src.max_age_months IS NOT NULL)
       AND (tgt.min_age_months IS NOT NULL OR tgt.max_age_months IS NOT NULL)
       AND (coalesce(src.max_age_months, $max_age_months) < coalesce(tgt.min_age_months, 0)
            OR coalesce(tgt.max_age_months, $max_age_months) < coalesce(src.min_age_months, 0)) AS age_mismatch,
     shared_areas > 0 AND shared_areas < source_areas AS geography_partial,
     shared_areas = 0 AS geography_none,
     NOT any(stage IN src.stages WHERE stage IN tgt.stages) AS stage_handover
WHERE threshold_change OR age_mismatch OR geography_partial OR geography_none OR stage_handover
RETURN src.id AS from_service, tgt.id AS to_service, r.reason AS reason,
       threshold_change, age_mismatch, geography_partial, geography_none, stage_handover,
       src.threshold AS from_threshold, tgt.threshold AS to_threshold
