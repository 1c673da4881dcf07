"""``POST /api/v1/assets``: a multipart upload streamed straight into storage."""

from __future__ import annotations

from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from openwan.assets.ingest import StreamingIngest
from openwan.config import Settings
from openwan.kit.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from openwan.storage import Storage

MAX_FIELD = 64 * 1024
# Room for the multipart envelope and the small form fields around the file.
ENVELOPE = 1024 * 1024


class FormUpload:
    """Parses the multipart body as it arrives: the ``file`` part goes to a StreamingIngest,
    small fields (``title``, ``category_id``, ``keep_duplicate``) are kept in memory."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings
        self.fields: dict[str, str] = {}
        self.ingest: StreamingIngest | None = None
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._part: str | None = None  # "file", a field name, or None (ignored)
        self._field_value = bytearray()
        self._file_chunks: list[bytes] = []
        self._file_parts = 0
        self._ended = False

    def _callbacks(self) -> dict:
        def on_part_begin() -> None:
            self._headers = {}
            self._part = None

        def on_header_field(data: bytes, start: int, end: int) -> None:
            self._header_field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self._header_value += data[start:end]

        def on_header_end() -> None:
            self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
            self._header_field.clear()
            self._header_value.clear()

        def on_headers_finished() -> None:
            _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
            name = options.get(b"name", b"").decode("utf-8", "replace")
            if name == "file":
                self._file_parts += 1
                if self._file_parts > 1:
                    raise BadRequest("only one file per upload request")
                raw = options.get(b"filename", b"")
                filename = raw.decode("utf-8", "replace")
                self.ingest = StreamingIngest(self.storage, filename,
                                              self.settings.upload.max_size)
                self._part = "file"
            elif name in ("title", "category_id", "keep_duplicate"):
                self._part = name
                self._field_value.clear()

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if self._part == "file":
                self._file_chunks.append(data[start:end])
            elif self._part is not None:
                self._field_value += data[start:end]
                if len(self._field_value) > MAX_FIELD:
                    raise Unprocessable(f"form field {self._part!r} is too long",
                                        field=self._part)

        def on_part_end() -> None:
            if self._part not in (None, "file"):
                value = self._field_value.decode("utf-8", "replace")
                if "\x00" in value:
                    raise Unprocessable(f"form field {self._part!r} contains a NUL character",
                                        field=self._part)
                self.fields[self._part] = value

        def on_end() -> None:
            self._ended = True

        return {"on_part_begin": on_part_begin, "on_header_field": on_header_field,
                "on_header_value": on_header_value, "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
                "on_part_end": on_part_end, "on_end": on_end}

    async def receive(self, request: Request) -> None:
        content_type, params = parse_options_header(request.headers.get("content-type", ""))
        if content_type != b"multipart/form-data" or not params.get(b"boundary"):
            raise UnsupportedMediaType("send the file as multipart/form-data with a 'file' part "
                                       "(or use tus resumable uploads at /api/v1/uploads)")
        declared = request.headers.get("content-length")
        limit = self.settings.upload.max_size + ENVELOPE
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(
                f"upload of {declared} bytes exceeds the maximum of "
                f"{self.settings.upload.max_size} bytes")
        # Long file names (10,000 characters happen) arrive in a part header: allow 64 KiB.
        parser = MultipartParser(params[b"boundary"], self._callbacks(),
                                 max_header_size=MAX_FIELD)
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                if self._file_chunks:
                    assert self.ingest is not None
                    for piece in self._file_chunks:
                        await self.ingest.feed(piece)
                    self._file_chunks.clear()
        except MultipartParseError as exc:
            raise BadRequest(f"malformed multipart body: {exc}") from exc
        except ClientDisconnect as exc:
            raise BadRequest("the upload was interrupted before the body was complete") from exc
        parser.finalize()
        if not self._ended:
            raise BadRequest("the multipart body is truncated (no closing boundary)")
        if self.ingest is None:
            raise Unprocessable("the form has no 'file' part", field="file")

    async def abort(self) -> None:
        if self.ingest is not None:
            await self.ingest.abort()
