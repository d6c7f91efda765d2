"""The change history of the models support reads (django-simple-history), as every model declares it.

`History` is simple-history's `HistoricalRecords`, except that a dry run (a preview, `common.dryrun`)
records nothing: what it writes is rolled back and no preview reads history back, so a history row
there is two queries spent on nothing (issue 15). Everything run for real is recorded as before.
"""

from simple_history.models import HistoricalRecords

from common.dryrun import is_dry_run


class History(HistoricalRecords):
    def post_save(self, instance, created, using=None, **kwargs):
        if not is_dry_run():
            super().post_save(instance, created, using=using, **kwargs)

    def post_delete(self, instance, using=None, **kwargs):
        if not is_dry_run():
            super().post_delete(instance, using=using, **kwargs)
