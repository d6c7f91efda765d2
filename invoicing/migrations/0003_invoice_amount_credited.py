# Credit notes against an open invoice lower what is left to pay on it (issue 17, item 4).

import djmoney.models.fields
import djmoney.money
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_staff_groups'),
        ('invoicing', '0002_credit_note_reason_cycle_switch'),
        ('subscriptions', '0003_plan_switch_documents'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='invoice',
            name='invoice_amounts_in_invoice_currency',
        ),
        migrations.AddField(
            model_name='historicalinvoice',
            name='amount_credited',
            field=djmoney.models.fields.MoneyField(decimal_places=2, default=djmoney.money.Money(0, 'USD'), default_currency='USD', help_text='Credit notes issued while the invoice was open: they lower what is left to pay.', max_digits=14),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='historicalinvoice',
            name='amount_credited_currency',
            field=djmoney.models.fields.CurrencyField(choices=[('AUD', 'Australian Dollar'), ('GBP', 'British Pound'), ('CAD', 'Canadian Dollar'), ('DKK', 'Danish Krone'), ('EUR', 'Euro'), ('JPY', 'Japanese Yen'), ('NOK', 'Norwegian Krone'), ('PLN', 'Polish Zloty'), ('SEK', 'Swedish Krona'), ('CHF', 'Swiss Franc'), ('USD', 'US Dollar')], default='USD', editable=False, max_length=3),
        ),
        migrations.AddField(
            model_name='invoice',
            name='amount_credited',
            field=djmoney.models.fields.MoneyField(decimal_places=2, default=djmoney.money.Money(0, 'USD'), default_currency='USD', help_text='Credit notes issued while the invoice was open: they lower what is left to pay.', max_digits=14),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='invoice',
            name='amount_credited_currency',
            field=djmoney.models.fields.CurrencyField(choices=[('AUD', 'Australian Dollar'), ('GBP', 'British Pound'), ('CAD', 'Canadian Dollar'), ('DKK', 'Danish Krone'), ('EUR', 'Euro'), ('JPY', 'Japanese Yen'), ('NOK', 'Norwegian Krone'), ('PLN', 'Polish Zloty'), ('SEK', 'Swedish Krona'), ('CHF', 'Swiss Franc'), ('USD', 'US Dollar')], default='USD', editable=False, max_length=3),
        ),
        migrations.RunSQL(
            "UPDATE invoicing_invoice SET amount_credited_currency = currency",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE invoicing_historicalinvoice SET amount_credited_currency = currency",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.CheckConstraint(condition=models.Q(('amount_credited_currency', models.F('currency')), ('amount_due_currency', models.F('currency')), ('amount_paid_currency', models.F('currency')), ('credit_applied_currency', models.F('currency')), ('discount_currency', models.F('currency')), ('subtotal_currency', models.F('currency')), ('tax_currency', models.F('currency')), ('total_currency', models.F('currency'))), name='invoice_amounts_in_invoice_currency'),
        ),
    ]
