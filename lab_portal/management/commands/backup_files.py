"""`manage.py backup_files DIR`: copy every uploaded file from the file storage into DIR."""

from pathlib import Path

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand

from lab_portal.files import PrivateFileSystemStorage, copy_storage


class Command(BaseCommand):
    help = "Copy every uploaded file (drafts, photos, slides) from the file storage into a directory."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="where the copy goes (created if missing)")

    def handle(self, *args, directory: Path, **options):
        directory.mkdir(parents=True, exist_ok=True)
        copied = copy_storage(default_storage, PrivateFileSystemStorage(location=directory))
        self.stdout.write(f"Copied {copied} files into {directory}.")
