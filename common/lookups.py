"""`AnyOf`: a field among many values, as one parameter on PostgreSQL (issue 15)."""

from django.core.exceptions import EmptyResultSet
from django.db.models import F, Lookup


class AnyOf(Lookup):
    """`filter(AnyOf(F("account_id"), ids))`: the field is one of `ids` — `IN`, written `= ANY(%s)` with
    one array parameter on PostgreSQL.

    The daily run asks for the rows of 500 subscriptions or accounts at a time, several times per
    chunk: `__in` prepares, resolves and binds each value as a parameter of its own, which cost it
    more than the queries themselves. The values are ids, taken as they are.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def __init__(self, lhs, rhs):
        super().__init__(F(lhs) if isinstance(lhs, str) else lhs, list(rhs))

    def get_prep_lookup(self):
        return self.rhs

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::{self.lhs.output_field.cast_db_type(connection)}[])", [*params, self.rhs]
        if not self.rhs:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*params, *self.rhs]
