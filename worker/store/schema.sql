-- wirewatch embedded store. Bump SCHEMA_VERSION in sqlite.py when this changes.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stories (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,          -- newest article time: the story window runs from here
    last_development_at REAL,
    article_count INTEGER NOT NULL DEFAULT 0,
    development_count INTEGER NOT NULL DEFAULT 0,
    terms TEXT NOT NULL DEFAULT '{}',    -- aggregated term counts (capped), the story centroid
    storyline_id TEXT,                   -- the developing topic it belongs to
    first_published_at REAL,             -- span of its dated articles' publication times
    last_published_at REAL,              -- (NULL while it has none: worker/pipeline/timing.py)
    last_ingested_at REAL                -- newest ingestion time of any of its articles
);
CREATE INDEX IF NOT EXISTS stories_storyline ON stories(storyline_id, seq);

-- storylines: the stories of one developing topic over weeks (worker/pipeline/storylines.py)
CREATE TABLE IF NOT EXISTS storylines (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    last_development_at REAL,
    first_published_at REAL,
    last_published_at REAL,
    last_ingested_at REAL NOT NULL,
    story_count INTEGER NOT NULL DEFAULT 0,
    article_count INTEGER NOT NULL DEFAULT 0,
    development_count INTEGER NOT NULL DEFAULT 0,
    terms TEXT NOT NULL DEFAULT '{}'     -- aggregated term counts (capped), the centroid
);

CREATE TABLE IF NOT EXISTS articles (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    story_id TEXT NOT NULL REFERENCES stories(id),
    input TEXT NOT NULL,
    status TEXT NOT NULL,                -- new_story | development | duplicate
    match TEXT NOT NULL,                 -- how it joined: new | near_duplicate | same_story | revision
    similarity REAL,
    novelty REAL,
    content_hash TEXT NOT NULL UNIQUE,
    canonical_url TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    revision_of TEXT,
    url TEXT, title TEXT, source TEXT, author TEXT, published_at TEXT, language TEXT,
    site_name TEXT,
    text TEXT NOT NULL,
    event_time REAL NOT NULL,            -- published_at if plausible, else ingest time
    time_source TEXT NOT NULL DEFAULT 'ingested',  -- which of the two event_time is
    ingested_at REAL NOT NULL,
    dup_sig BLOB NOT NULL                -- MinHash of word 3-shingles, to verify near-duplicates
);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id, seq);
CREATE INDEX IF NOT EXISTS articles_url ON articles(canonical_url, seq);

CREATE TABLE IF NOT EXISTS sentences (
    article_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    units TEXT NOT NULL,                 -- JSON [{kind, text}]
    new_units TEXT NOT NULL,             -- JSON [{kind, text}] the story lacked before
    PRIMARY KEY (article_id, idx)
) WITHOUT ROWID;

-- every fact key a story (or a storyline, under its l_ id) holds, with the article that
-- brought it first
CREATE TABLE IF NOT EXISTS story_keys (
    story_id TEXT NOT NULL,
    key TEXT NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (story_id, key)
) WITHOUT ROWID;

-- LSH bands of both signatures; rows of stories past their window are pruned
CREATE TABLE IF NOT EXISTS lsh (
    key INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    story_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lsh_key ON lsh(key);
CREATE INDEX IF NOT EXISTS lsh_story ON lsh(story_id);

-- document frequencies learned online: the IDF of the stream so far
CREATE TABLE IF NOT EXISTS term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    story_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_story ON events(story_id, seq);

CREATE TABLE IF NOT EXISTS rejections (
    seq INTEGER PRIMARY KEY,
    input TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at REAL NOT NULL
);
