from django.core.management.base import BaseCommand

from pseudonymisation.reencryption import protected_models, reencrypt_model


class Command(BaseCommand):
    help = "Re-encrypt protected fields and blind indexes onto the current key versions, in batches (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **opts):
        total = 0
        for model in protected_models():
            total += reencrypt_model(model, batch_size=opts["batch_size"], progress=self.stdout.write)
        self.stdout.write(f"Re-encrypted {total} rows.")
