"""Write a development licence signing key to .env, unless one is configured already."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from licensing import keys


class Command(BaseCommand):
    help = "Generate an Ed25519 LICENCE_SIGNING_KEY into .env if none is set (development only; never commit .env)."

    def add_arguments(self, parser):
        parser.add_argument("--env-file", default=str(Path(settings.BASE_DIR) / ".env"))

    def handle(self, *args, env_file, **options):
        path = Path(env_file)
        existing = path.read_text() if path.exists() else ""
        if settings.LICENCE_SIGNING_KEY or any(
            line.startswith("LICENCE_SIGNING_KEY=") for line in existing.splitlines()
        ):
            self.stdout.write("A licence signing key is already configured; nothing to do.")
            return
        prefix = "" if not existing or existing.endswith("\n") else "\n"
        with path.open("a") as f:
            f.write(f"{prefix}LICENCE_SIGNING_KEY={keys.generate()}\n")
        path.chmod(0o600)
        self.stdout.write(f"Wrote a new development LICENCE_SIGNING_KEY to {path}.")
