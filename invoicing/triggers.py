"""PostgreSQL triggers: raw SQL cannot rewrite issued invoices, their lines, issued credit notes and
their lines, the credit ledger, payments or refunds. The columns each trigger lets change are the ones
the ORM guards in invoicing.frozen let change (INVOICE_MUTABLE, CREDIT_NOTE_MUTABLE, LEDGER_*):
`?col` may only become NULL (a purged user), `!col` may only be set once from ''.

Installed by migration 0006 and again after every migrate (idempotent), so a test database built from
the models has them too.
"""

from invoicing import frozen

FUNCTION = r"""
CREATE OR REPLACE FUNCTION prorata_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := TG_ARGV[0];
    frozen boolean;
    old_row jsonb;
    new_row jsonb;
    col text;
    i integer;
BEGIN
    IF kind = 'invoice' THEN
        frozen := OLD.status <> 'draft';
    ELSIF kind = 'credit_note' THEN
        frozen := OLD.number IS NOT NULL;
    ELSIF kind = 'invoice_line' THEN
        IF TG_OP = 'INSERT' THEN
            frozen := EXISTS (SELECT 1 FROM invoicing_invoice WHERE id = NEW.invoice_id AND status <> 'draft');
        ELSIF TG_OP = 'UPDATE' THEN
            frozen := EXISTS (SELECT 1 FROM invoicing_invoice
                              WHERE id IN (OLD.invoice_id, NEW.invoice_id) AND status <> 'draft');
        ELSE
            frozen := EXISTS (SELECT 1 FROM invoicing_invoice WHERE id = OLD.invoice_id AND status <> 'draft');
        END IF;
    ELSIF kind = 'credit_note_line' THEN
        frozen := EXISTS (SELECT 1 FROM invoicing_creditnote WHERE id = OLD.credit_note_id AND number IS NOT NULL);
    ELSE
        frozen := true;  -- ledger entries, payments, refunds: from the start
    END IF;
    IF NOT frozen THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'prorata: % on % refused: issued documents and money records are append-only',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    old_row := to_jsonb(OLD);
    new_row := to_jsonb(NEW);
    FOR i IN 1 .. TG_NARGS - 1 LOOP
        col := TG_ARGV[i];
        IF left(col, 1) = '?' THEN
            col := substr(col, 2);
            IF new_row -> col = 'null'::jsonb THEN
                old_row := old_row - col;
                new_row := new_row - col;
            END IF;
        ELSIF left(col, 1) = '!' THEN
            col := substr(col, 2);
            IF old_row ->> col = '' THEN
                old_row := old_row - col;
                new_row := new_row - col;
            END IF;
        ELSE
            old_row := old_row - col;
            new_row := new_row - col;
        END IF;
    END LOOP;
    IF old_row IS DISTINCT FROM new_row THEN
        RAISE EXCEPTION 'prorata: UPDATE on % refused: issued documents and money records are append-only',
            TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
"""

INVOICE_MUTABLE = sorted(frozen.INVOICE_MUTABLE)  # the ORM's lists, in a stable order
CREDIT_NOTE_MUTABLE = [*sorted(frozen.CREDIT_NOTE_MUTABLE), "?created_by_id"]
TRIGGERS = {
    # table: (operations, kind, columns that may change)
    "invoicing_invoice": ("UPDATE OR DELETE", "invoice", INVOICE_MUTABLE),
    "invoicing_invoiceline": ("INSERT OR UPDATE OR DELETE", "invoice_line", []),
    "invoicing_creditnote": ("UPDATE OR DELETE", "credit_note", CREDIT_NOTE_MUTABLE),
    "invoicing_creditnoteline": ("UPDATE OR DELETE", "credit_note_line", []),
    "invoicing_creditentry": ("UPDATE OR DELETE", "ledger", []),
    "invoicing_payment": ("UPDATE OR DELETE", "ledger", ["?recorded_by_id"]),
    "invoicing_refund": ("UPDATE OR DELETE", "ledger", ["!gateway_id", "?created_by_id"]),
}


def install(connection) -> None:
    """Create or replace the function and the triggers (idempotent). PostgreSQL only."""
    if connection.vendor != "postgresql":
        return  # SQLite: the ORM guards in invoicing.frozen are the protection
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION)
        for table, (operations, kind, columns) in TRIGGERS.items():
            arguments = ", ".join(f"'{a}'" for a in [kind, *columns])
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE {operations} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION prorata_append_only({arguments})"
            )


def uninstall(connection) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        cursor.execute("DROP FUNCTION IF EXISTS prorata_append_only()")


def install_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate: also a test database built without migrations (--no-migrations) gets the triggers."""
    from django.db import connections

    install(connections[using])
