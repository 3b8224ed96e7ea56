"""The S3-compatible bucket behind FILE_STORAGE=s3 (imported only then: one machine needs no boto3)."""

from django.utils.deconstruct import deconstructible
from storages.backends.s3 import S3Storage

from .files import no_url


@deconstructible
class PrivateS3Storage(S3Storage):
    """A private bucket: objects carry no ACL that grants a read, and no URL is handed out."""

    def url(self, name, parameters=None, expire=None, http_method=None):
        return no_url(name)
