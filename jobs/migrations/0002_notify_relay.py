"""Wake the relay when a job needs publishing: NOTIFY on commit, no polling lag.

Notifications are transactional: the relay hears of a job only once the
transaction that made it commits, and identical notifications within one
transaction are delivered once.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION jobs_notify_relay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bazaar_jobs', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_notify_relay
AFTER INSERT OR UPDATE OF status, published_at, run_at ON jobs_jobrecord
FOR EACH ROW WHEN (NEW.status = 'queued' AND NEW.published_at IS NULL)
EXECUTE FUNCTION jobs_notify_relay();
"""

DROP = """
DROP TRIGGER IF EXISTS jobs_notify_relay ON jobs_jobrecord;
DROP FUNCTION IF EXISTS jobs_notify_relay();
"""


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
