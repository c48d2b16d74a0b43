-- Personal-data reporting (server/src/personal_data): progress of each Connect tenant's cycle, so
-- a restart resumes where it stopped, and a lease so that one instance at a time works a tenant.
-- Times are Unix seconds. `last_account` is the last accountId whose batch Atlassian answered in the
-- running cycle (accounts are reported in accountId order); NULL with `cycle_started_at` NULL:
-- no cycle running. Counters are those of the running (or last) cycle.
CREATE TABLE personal_data_reports (
    client_key        TEXT PRIMARY KEY NOT NULL,
    cycle_started_at  BIGINT,
    last_account      TEXT,
    -- Earliest time the next step may run: the next cycle, or a resume after 429/503/errors.
    next_at           BIGINT NOT NULL,
    -- The last Cycle-Period Atlassian stated (seconds); NULL: the configured default.
    cycle_period_secs BIGINT,
    lease_owner       TEXT,
    lease_until       BIGINT,
    reported          BIGINT NOT NULL DEFAULT 0,
    closed            BIGINT NOT NULL DEFAULT 0,
    erased            BIGINT NOT NULL DEFAULT 0,
    errors            BIGINT NOT NULL DEFAULT 0
);

-- The retention sweep looks for tenants uninstalled before a cut-off.
CREATE INDEX tenants_uninstalled_at ON tenants (uninstalled_at);
