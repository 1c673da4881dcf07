"""S3 storage against a moto server on 127.0.0.1."""

import hashlib
import os
import uuid

import boto3
import httpx
import pytest

from openwan.storage import make_storage
from openwan.storage.s3 import S3Storage


@pytest.fixture
def bucket(aws_env):
    name = f"openwan-media-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def test_multipart_upload_of_three_parts(bucket):
    storage = S3Storage(bucket, "media", part_size=5 * 1024 * 1024, sse="AES256")
    data = os.urandom(5 * 1024 * 1024 * 2 + 12345)  # three parts: 5 MiB, 5 MiB, the rest
    sha = hashlib.sha256()
    writer = storage.open_writer("original/video/2026/01/a.mp4", "video/mp4", hasher=sha)
    for start in range(0, len(data), 1024 * 1024):
        writer.write(data[start:start + 1024 * 1024])
    writer.flush()  # the digest is final before the object is visible
    assert sha.digest() == hashlib.sha256(data).digest()
    assert not storage.exists("original/video/2026/01/a.mp4")
    writer.commit()
    assert sha.digest() == hashlib.sha256(data).digest()  # the last part is not hashed twice
    assert len(writer._parts) == 3
    client = boto3.client("s3")
    head = client.head_object(Bucket=bucket, Key="media/original/video/2026/01/a.mp4")
    assert head["ContentLength"] == len(data)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "video/mp4"
    with storage.local_file("original/video/2026/01/a.mp4") as path:
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert not path.exists()  # the temporary copy is cleaned up


def test_abort_removes_the_multipart_upload(bucket):
    storage = S3Storage(bucket, part_size=5 * 1024 * 1024)
    writer = storage.open_writer("original/video/x.mp4")
    writer.write(os.urandom(6 * 1024 * 1024))
    writer.abort()
    client = boto3.client("s3")
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert not storage.exists("original/video/x.mp4")


def test_presigned_get_with_range_and_disposition(bucket):
    storage = make_storage(f"s3://{bucket}/p")
    storage.put_bytes("thumbnails/1/poster.jpg", b"0123456789", "image/jpeg")
    url = storage.presigned_url("thumbnails/1/poster.jpg", filename="夜景.jpg",
                                content_type="image/jpeg", expires=60)
    assert "X-Amz-Signature" in url and "/p/thumbnails/1/poster.jpg" in url
    response = httpx.get(url, headers={"Range": "bytes=2-4"})
    assert response.status_code == 206 and response.content == b"234"
    assert "UTF-8''%E5%A4%9C%E6%99%AF.jpg" in response.headers["content-disposition"]


def test_list_delete_and_ping(bucket):
    storage = S3Storage(bucket, "pre")
    for i in range(3):
        storage.put_bytes(f"preview/video/7/{i}.ts", b"x")
    assert sorted(storage.list("preview/video/7")) == [f"preview/video/7/{i}.ts" for i in range(3)]
    assert storage.delete_prefix("preview/video/7") == 3
    assert list(storage.list("preview/video/7")) == []
    storage.ping()
    with pytest.raises(Exception, match="unreachable"):
        S3Storage("no-such-bucket-openwan").ping()


def test_a_multipart_upload_across_requests(bucket):
    """tus keeps the upload id and the ETags between PATCHes; a part sent again replaces it."""
    storage = S3Storage(bucket, "media")
    key = "original/video/2026/01/b.mp4"
    upload_id = storage.start_multipart(key, "video/mp4")
    first = os.urandom(5 * 1024 * 1024)
    storage.upload_part(key, upload_id, 1, os.urandom(5 * 1024 * 1024))  # a failed PATCH's
    parts = [(1, storage.upload_part(key, upload_id, 1, first)),
             (2, storage.upload_part(key, upload_id, 2, b"end"))]
    storage.upload_part(key, upload_id, 3, b"never listed")
    assert not storage.exists(key)
    storage.complete_multipart(key, upload_id, parts)
    assert storage.read_bytes(key) == first + b"end"
    assert boto3.client("s3").head_object(Bucket=bucket, Key=f"media/{key}")["ContentType"] == \
        "video/mp4"
    other = storage.start_multipart("original/video/c.mp4")
    storage.abort_multipart("original/video/c.mp4", other)
    storage.abort_multipart("original/video/c.mp4", other)  # already gone: no error
    assert boto3.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
