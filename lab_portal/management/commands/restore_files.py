"""`manage.py restore_files DIR`: copy a backup_files directory back into the file storage."""

from pathlib import Path

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from lab_portal.files import PrivateFileSystemStorage, copy_storage


class Command(BaseCommand):
    help = "Copy the uploaded files in a backup directory (from backup_files) into the file storage."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="a directory written by backup_files")

    def handle(self, *args, directory: Path, **options):
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory: give the one backup_files wrote.")
        copied = copy_storage(PrivateFileSystemStorage(location=directory), default_storage)
        self.stdout.write(f"Restored {copied} files from {directory}.")
