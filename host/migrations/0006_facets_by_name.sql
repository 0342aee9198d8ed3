-- Search results list the facets they were found by: look them up by name within the hit
-- instead of reading every facet of it (an SBOM gives its manifest a thousand).
DROP INDEX facets_target;
CREATE INDEX facets_target ON facets(repository_id, digest, name, value);
