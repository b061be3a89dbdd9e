-- The store's schema as dmct before Alembic created it (metadata.create_all, schema version 1),
-- captured from that code: the legacy stores that open_store must adopt without losing data.
CREATE TABLE dmct_meta (
	"key" VARCHAR(64) NOT NULL,
	value VARCHAR(255) NOT NULL,
	PRIMARY KEY ("key")
);
CREATE TABLE testing_issues (
	id VARCHAR(64) NOT NULL,
	seq INTEGER NOT NULL,
	version INTEGER NOT NULL,
	severity INTEGER NOT NULL,
	status VARCHAR(8) NOT NULL,
	entries JSON NOT NULL,
	route VARCHAR(1),
	exclusion_rationale TEXT,
	exclusion_tag VARCHAR(16),
	dispute_severity INTEGER,
	dispute_state VARCHAR(16),
	service_provider VARCHAR(255),
	title TEXT NOT NULL,
	raised VARCHAR(64),
	tests JSON NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT ck_issue_severity CHECK (severity BETWEEN 1 AND 5),
	CONSTRAINT ck_issue_status CHECK (status IN ('open', 'closed')),
	CONSTRAINT ck_issue_route CHECK (route IS NULL OR route IN ('a', 'b', 'c', 'd')),
	CONSTRAINT ck_issue_exclusion_tag CHECK (exclusion_tag IS NULL OR exclusion_tag IN ('pending', 'agreed', 'disagreed')),
	CONSTRAINT ck_issue_dispute_severity CHECK (dispute_severity IS NULL OR dispute_severity BETWEEN 1 AND 5),
	CONSTRAINT ck_issue_dispute_state CHECK (dispute_state IS NULL OR dispute_state IN ('pending', 'resolved')),
	CONSTRAINT ck_issue_version CHECK (version >= 1),
	UNIQUE (seq)
);
CREATE TABLE dmct_store_events (
	id INTEGER NOT NULL,
	at VARCHAR(64) NOT NULL,
	actor VARCHAR(255) NOT NULL,
	action VARCHAR(32) NOT NULL,
	detail JSON NOT NULL,
	PRIMARY KEY (id)
);
CREATE TABLE testing_issue_history (
	id INTEGER NOT NULL,
	issue_id VARCHAR(64) NOT NULL,
	at VARCHAR(64),
	actor VARCHAR(255),
	action VARCHAR(32),
	field VARCHAR(64),
	record JSON NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(issue_id) REFERENCES testing_issues (id) ON DELETE CASCADE
);
CREATE INDEX ix_testing_issue_history_issue_id ON testing_issue_history (issue_id);
INSERT INTO dmct_meta ("key", value) VALUES ('schema_version', '1');
