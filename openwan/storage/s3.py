"""S3 storage with boto3: multipart uploads, presigned GETs, configurable encryption."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from openwan.kit.filenames import content_disposition
from openwan.kit.io import return_lane, take_lane
from openwan.storage.base import ObjectNotFound, StorageError, check_key

MIN_PART = 5 * 1024 * 1024


class S3Writer:
    """Streams into a multipart upload; nothing is visible until ``commit``."""

    def __init__(self, storage: S3Storage, key: str, content_type: str,
                 hasher: Any = None) -> None:
        self._s3 = storage
        self._key = storage.full_key(key)
        self._content_type = content_type
        self._part_size = max(storage.part_size, MIN_PART)
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self._hasher = hasher
        self._hashed = 0  # bytes at the start of _buffer already hashed
        # A part is hashed on a thread of its own while it uploads.
        self._hashing: Future | None = None
        self._lane = take_lane() if hasher is not None else None

    def write(self, *chunks: bytes) -> None:
        for chunk in chunks:
            self._buffer += chunk
        while len(self._buffer) >= self._part_size:
            chunk = bytes(self._buffer[: self._part_size])
            del self._buffer[: self._part_size]
            self._hash(chunk[self._hashed:])
            self._hashed = 0
            self._upload_part(chunk)

    def _hash(self, data: bytes) -> None:
        if self._lane is not None and data:
            self._end_hashing()  # the last part's: done while that part uploaded
            self._hashing = self._lane.submit(self._hasher.update, data)

    def flush(self) -> None:
        """Hash what the buffer holds (uploaded at ``commit``) and wait for the hashing."""
        self._hash(bytes(self._buffer[self._hashed:]))
        self._hashed = len(self._buffer)
        self._end_hashing()

    def _end_hashing(self) -> None:
        if self._hashing is not None:
            pending, self._hashing = self._hashing, None
            pending.result()

    def _upload_part(self, chunk: bytes) -> None:
        client = self._s3.client
        try:
            if self._upload_id is None:
                self._upload_id = client.create_multipart_upload(
                    Bucket=self._s3.bucket, Key=self._key, ContentType=self._content_type,
                    **self._s3.encryption_args())["UploadId"]
            number = len(self._parts) + 1
            response = client.upload_part(Bucket=self._s3.bucket, Key=self._key,
                                          UploadId=self._upload_id, PartNumber=number, Body=chunk)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 upload failed: {exc}") from exc
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def commit(self) -> None:
        self.flush()
        self._release_lane()
        client = self._s3.client
        try:
            if self._upload_id is None:
                client.put_object(Bucket=self._s3.bucket, Key=self._key, Body=bytes(self._buffer),
                                  ContentType=self._content_type, **self._s3.encryption_args())
            else:
                if self._buffer:
                    self._upload_part(bytes(self._buffer))
                client.complete_multipart_upload(
                    Bucket=self._s3.bucket, Key=self._key, UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts})
        except (BotoCoreError, ClientError) as exc:
            self.abort()
            raise StorageError(f"S3 upload failed: {exc}") from exc
        self._buffer.clear()

    def _release_lane(self) -> None:
        if self._lane is not None:
            with suppress(Exception):
                self._end_hashing()
            return_lane(self._lane)
            self._lane = None

    def abort(self) -> None:
        self._release_lane()
        self._buffer.clear()
        if self._upload_id is not None:
            # If this fails too, the bucket's lifecycle rule removes incomplete multipart
            # uploads after 7 days.
            with suppress(BotoCoreError, ClientError):
                self._s3.client.abort_multipart_upload(
                    Bucket=self._s3.bucket, Key=self._key, UploadId=self._upload_id)
            self._upload_id = None


class S3Storage:
    def __init__(self, bucket: str, prefix: str = "", *, sse: str | None = None,
                 kms_key_id: str | None = None, part_size: int = 16 * 1024 * 1024,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.part_size = part_size
        self.client = client or boto3.client(
            "s3", config=Config(retries={"max_attempts": 5, "mode": "adaptive"},
                                signature_version="s3v4"))
        self._transfer = TransferConfig(multipart_threshold=max(part_size, MIN_PART),
                                        multipart_chunksize=max(part_size, MIN_PART))

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix})"

    def full_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def encryption_args(self) -> dict[str, str]:
        if not self.sse:
            return {}
        args = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args

    def open_writer(self, key: str, content_type: str = "application/octet-stream", *,
                    hasher: Any = None) -> S3Writer:
        return S3Writer(self, key, content_type, hasher)

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream",
                 *, move: bool = False) -> None:
        try:
            self.client.upload_file(str(path), self.bucket, self.full_key(key),
                                    ExtraArgs={"ContentType": content_type,
                                               **self.encryption_args()},
                                    Config=self._transfer)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 upload failed: {exc}") from exc
        except S3UploadFailedError as exc:
            # "Failed to upload {local path} to {bucket}/{key}: {why}": only the why, as the
            # message may reach an asset's media_error.
            raise StorageError(f"S3 upload failed: {str(exc).split(': ', 1)[-1]}") from exc
        if move:
            path.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes,
                  content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.full_key(key), Body=data,
                                   ContentType=content_type, **self.encryption_args())
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 upload failed: {exc}") from exc

    # A multipart upload spread over several requests (tus): the caller keeps the upload id
    # and the parts' ETags between them.

    def start_multipart(self, key: str, content_type: str = "application/octet-stream") -> str:
        try:
            return self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.full_key(key), ContentType=content_type,
                **self.encryption_args())["UploadId"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 upload failed: {exc}") from exc

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """Send part ``number`` (the same number again replaces it); returns its ETag."""
        try:
            return self.client.upload_part(Bucket=self.bucket, Key=self.full_key(key),
                                           UploadId=upload_id, PartNumber=number,
                                           Body=data)["ETag"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 upload failed: {exc}") from exc

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Make the listed parts the object; parts sent but not listed are dropped."""
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.full_key(key), UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 upload failed: {exc}") from exc

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.full_key(key),
                                               UploadId=upload_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchUpload":
                raise StorageError(f"S3 abort failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 abort failed: {exc}") from exc

    def read_bytes(self, key: str) -> bytes:
        body = self.open(key)
        try:
            return body.read()
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 read failed: {exc}") from exc
        finally:
            body.close()

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise ObjectNotFound(key) from exc
            raise StorageError(f"S3 read failed: {exc}") from exc

    @contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        suffix = Path(key).suffix
        with tempfile.TemporaryDirectory(prefix="openwan-s3-") as tmp:
            path = Path(tmp) / f"object{suffix}"
            try:
                self.client.download_file(self.bucket, self.full_key(key), str(path),
                                          Config=self._transfer)
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                    raise ObjectNotFound(key) from exc
                raise StorageError(f"S3 read failed: {exc}") from exc
            yield path

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                return None
            raise StorageError(f"S3 head failed: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise ObjectNotFound(key)
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))
        except ClientError as exc:
            raise StorageError(f"S3 delete failed: {exc}") from exc

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.list(prefix))
        for start in range(0, len(keys), 1000):
            batch = [{"Key": self.full_key(k)} for k in keys[start:start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
        return len(keys)

    def list(self, prefix: str) -> Iterator[str]:
        full = self.full_key(prefix.rstrip("/")) if prefix else self.prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            for item in page.get("Contents", []):
                yield item["Key"][strip:]

    def presigned_url(self, key: str, *, filename: str | None = None,
                      content_type: str | None = None, expires: int = 300) -> str | None:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.full_key(key)}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)

    def path_of(self, key: str) -> Path | None:
        return None

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 bucket {self.bucket} unreachable: {exc}") from exc
