"""Check a licence file the way an on-premise server does (licensing.verify)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from licensing import keys
from licensing.verify import LicenceInvalid, canonical, verify_licence


class Command(BaseCommand):
    help = "Verify a licence file's Ed25519 signature and expiry; prints the licence as JSON."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--public-key", help="A PEM or base64 public key file; default: the key of LICENCE_SIGNING_KEY."
        )

    def handle(self, *args, file, public_key=None, **options):
        try:
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        key = Path(public_key).read_bytes() if public_key else keys.public_key_pem()
        try:
            licence = verify_licence(data, key)
        except LicenceInvalid as exc:
            raise CommandError(f"Invalid licence: {exc}") from None
        self.stdout.write(canonical(licence).decode())
