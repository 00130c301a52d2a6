-- The baseline: one raw one-row insert, one commit.
INSERT INTO ceiling.raw (id, data) VALUES (gen_random_uuid(), '{"course":"c1","student":"s1"}');
