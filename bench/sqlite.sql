-- The "real program" workload of memscope-bench: the sqlite3 shell runs this
-- script on an in-memory database (`sqlite3 -bail :memory: < sqlite.sql`).
-- It is deterministic: the text comes from a hash of the row number, not from
-- random(), so every run allocates the same way.
PRAGMA cache_size = -65536;

CREATE TABLE item (
  id    INTEGER PRIMARY KEY,
  grp   INTEGER NOT NULL,
  name  TEXT NOT NULL,
  body  TEXT NOT NULL
);

-- 50k rows; name is 8-24 chars, body 16-400 chars, both derived from the id.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
INSERT INTO item (id, grp, name, body)
SELECT i,
       (i * 7919) % 97,
       substr(printf('%x%x%x', i * 2654435761 % 4294967296, i * 40503, i * 977), 1, 8 + i % 17),
       substr(replace(hex(zeroblob(200)), '00', printf('%x', (i * 2246822519) % 4093)), 1, 16 + (i * 31) % 385)
FROM n;

CREATE INDEX item_grp ON item (grp);
CREATE INDEX item_name ON item (name);

SELECT grp, count(*), sum(length(body)), max(name) FROM item GROUP BY grp ORDER BY 3 DESC LIMIT 5;
SELECT count(*) FROM item WHERE name LIKE 'a%';
SELECT a.id, b.id FROM item a JOIN item b ON a.name = b.name AND a.id < b.id LIMIT 5;
SELECT grp, group_concat(substr(name, 1, 4), ',') FROM item WHERE id % 1000 = 0 GROUP BY grp LIMIT 5;

UPDATE item SET body = body || name WHERE grp % 3 = 0;
DELETE FROM item WHERE id % 4 = 0;
SELECT count(*), sum(length(body)) FROM item;
SELECT name FROM item ORDER BY body DESC LIMIT 3;

DROP INDEX item_name;
DELETE FROM item WHERE grp < 50;
SELECT count(*) FROM item;
