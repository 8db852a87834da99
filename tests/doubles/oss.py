"""An Aliyun OSS double: path-style object API with OSS V1 signature checks (header and presigned URL).

oss2 addresses an IP endpoint path-style (`http://127.0.0.1:<port>/<bucket>/<key>`; see oss2/api.py
`_determine_endpoint_type`), so that is what this double serves. Every request must carry a valid
V1 signature: `Authorization: OSS <id>:<base64 HMAC-SHA1>` over
`VERB\\nContent-MD5\\nContent-Type\\nDate\\n` + canonical `x-oss-*` headers + `/<bucket>/<key>[?subresources]`
(the Date within 15 minutes), or, for a presigned GET, `OSSAccessKeyId`, `Expires` (not passed) and
`Signature` query parameters over the same string with Expires in place of Date. Failures answer OSS's
XML error (`SignatureDoesNotMatch`, `AccessDenied`, `InvalidAccessKeyId`, `RequestTimeTooSkewed`, …).

Operations: PutObject, InitiateMultipartUpload (?uploads), UploadPart (?partNumber&uploadId),
CompleteMultipartUpload (?uploadId), ListParts (GET ?uploadId), GetObject, HeadObject, GetBucketInfo
(?bucketInfo). Scriptable: `http_errors[op]` (statuses answered first), `hang` (ops that never answer
until released).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request, Response
from oss2.utils import Crc64

from tests.doubles.serving import RecordedCalls, serve_double

#: Query parameters that are part of the signed resource (the subset of OSS's list that matters here).
SUBRESOURCES = {"acl", "uploads", "uploadId", "partNumber", "bucketInfo", "security-token", "x-oss-process",
                "response-content-type", "response-content-disposition", "response-cache-control",
                "response-content-encoding", "response-expires", "response-content-language", "objectMeta"}
MIN_PART_BYTES = 100 * 1024
MAX_SKEW_S = 15 * 60


class OssFailure(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: str):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def string_to_sign(method: str, headers: dict[str, str], date: str, resource: str) -> str:
    """The V1 string to sign (what oss2.auth.ProviderAuth signs)."""
    oss_headers = sorted((k.lower(), v) for k, v in headers.items() if k.lower().startswith("x-oss-"))
    canonical = "".join(f"{k}:{v}\n" for k, v in oss_headers)
    return "\n".join([method, headers.get("content-md5", ""), headers.get("content-type", ""), date,
                      canonical + resource])


def sign(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()).decode()


def crc64(data: bytes) -> str:
    crc = Crc64()
    crc.update(data)
    return str(crc.crc)


class OssDouble(RecordedCalls):
    """`calls` lists the operations that passed the signature check; `requests` counts every request."""

    def __init__(self, bucket: str = "story-media", key_id: str = "LTAI5tTestKeyId", secret: str = "test-secret"):
        super().__init__()
        self.bucket, self.key_id, self.secret = bucket, key_id, secret
        self.objects: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.part_calls: list[int] = []

    # ------------------------------------------------------------------ auth

    def verify(self, request: Request, bucket: str, key: str, query: dict[str, str]) -> None:
        """Raise OssFailure unless the request carries a valid V1 signature (header or presigned URL)."""
        resource = f"/{bucket}/{key}" + subresource_string(query)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if "Signature" in query:
            key_id, provided, date = query.get("OSSAccessKeyId", ""), query["Signature"], query.get("Expires", "")
            if not date.isdigit():
                raise OssFailure(403, "AccessDenied", "Expires must be a number of seconds")
            if int(date) < time.time():
                raise OssFailure(403, "AccessDenied", "Request has expired.", Expires=date,
                                 ServerTime=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))
        else:
            auth = headers.get("authorization", "")
            if not auth.startswith("OSS ") or ":" not in auth:
                raise OssFailure(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
            key_id, _, provided = auth[4:].partition(":")
            date = headers.get("x-oss-date") or headers.get("date", "")
            self._check_date(date)
        if key_id != self.key_id:
            raise OssFailure(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our "
                             "records.", OSSAccessKeyId=key_id)
        text = string_to_sign(request.method, headers, date, resource)
        if not hmac.compare_digest(sign(self.secret, text), provided):
            raise OssFailure(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                             "signature you provided. Check your key and signing method.", OSSAccessKeyId=key_id,
                             SignatureProvided=provided, StringToSign=text)

    @staticmethod
    def _check_date(date: str) -> None:
        try:
            sent = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            raise OssFailure(403, "AccessDenied", "Date header is missing or malformed") from None
        if abs(sent - time.time()) > MAX_SKEW_S:
            raise OssFailure(403, "RequestTimeTooSkewed", "The difference between the request time and the current "
                             "time is too large.")

    # ------------------------------------------------------------------ dispatch

    async def handle(self, request: Request) -> Response:
        raw = request.scope["raw_path"].decode()
        bucket, _, quoted_key = raw.lstrip("/").partition("/")
        key = unquote(quoted_key)
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        request_id = uuid.uuid4().hex.upper()[:24]
        self.requests += 1
        try:
            if bucket != self.bucket:
                raise OssFailure(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)
            self.verify(request, bucket, key, query)
            op = operation(request.method, key, query)
            await self._record(op)
            if (status := self._scripted_status(op)) is not None:
                raise OssFailure(status, "InternalError", f"scripted {status}")
            response = await getattr(self, f"op_{op}")(request, key, query)
        except OssFailure as exc:
            response = self.error(exc, request_id, request.method == "HEAD")
        response.headers["x-oss-request-id"] = request_id
        return response

    def error(self, exc: OssFailure, request_id: str, head: bool) -> Response:
        fields = {"Code": exc.code, "Message": exc.message, "RequestId": request_id,
                  "HostId": f"{self.bucket}.oss-cn-hangzhou.aliyuncs.com", **exc.extra}
        body = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields.items())
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'
        headers = {"x-oss-err": base64.b64encode(xml.encode()).decode()} if head else {}
        return Response(b"" if head else xml.encode(), status_code=exc.status, media_type="application/xml",
                        headers=headers)

    # ------------------------------------------------------------------ operations

    async def op_put(self, request: Request, key: str, _query: dict) -> Response:
        data = await request.body()
        md5 = request.headers.get("content-md5")
        if md5 and md5 != base64.b64encode(hashlib.md5(data).digest()).decode():
            raise OssFailure(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        etag = self._store(key, data, request.headers.get("content-type", "application/octet-stream"))
        return Response(headers={"ETag": etag, "x-oss-hash-crc64ecma": crc64(data)})

    async def op_init(self, request: Request, key: str, _query: dict) -> Response:
        upload_id = uuid.uuid4().hex.upper()
        self.uploads[upload_id] = {"key": key, "parts": {},
                                   "content_type": request.headers.get("content-type", "application/octet-stream")}
        return xml_response("InitiateMultipartUploadResult", Bucket=self.bucket, Key=key, UploadId=upload_id)

    async def op_part(self, request: Request, key: str, query: dict) -> Response:
        upload = self._upload(key, query)
        number = int(query["partNumber"]) if query["partNumber"].isdigit() else 0
        if not 1 <= number <= 10000:
            raise OssFailure(400, "InvalidArgument", "Part number must be an integer between 1 and 10000.")
        data = await request.body()
        upload["parts"][number] = data
        self.part_calls.append(number)
        return Response(headers={"ETag": md5_etag(data), "x-oss-hash-crc64ecma": crc64(data)})

    async def op_complete(self, request: Request, key: str, query: dict) -> Response:
        upload = self._upload(key, query)
        try:
            listed = [(int(p.findtext("PartNumber", "0")), p.findtext("ETag", "").strip('"'))
                      for p in ElementTree.fromstring(await request.body()).findall("Part")]
        except (ElementTree.ParseError, ValueError):
            raise OssFailure(400, "MalformedXML", "The XML you provided was not well-formed.") from None
        if not listed or [n for n, _ in listed] != sorted({n for n, _ in listed}):
            raise OssFailure(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        parts = upload["parts"]
        for number, etag in listed:
            if number not in parts or md5_etag(parts[number]).strip('"') != etag:
                raise OssFailure(400, "InvalidPart", "One or more of the specified parts could not be found.")
        if any(len(parts[n]) < MIN_PART_BYTES for n, _ in listed[:-1]):
            raise OssFailure(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
        data = b"".join(parts[n] for n, _ in listed)
        etag = self._store(key, data, upload["content_type"])
        del self.uploads[query["uploadId"]]
        return xml_response("CompleteMultipartUploadResult", Location=f"{self.base_url}/{self.bucket}/{key}",
                            Bucket=self.bucket, Key=key, ETag=etag, headers={"x-oss-hash-crc64ecma": crc64(data)})

    async def op_list_parts(self, _request: Request, key: str, query: dict) -> Response:
        upload = self._upload(key, query)
        parts = "".join(f"<Part><PartNumber>{n}</PartNumber><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
                        f"<ETag>{md5_etag(d)}</ETag><Size>{len(d)}</Size></Part>"
                        for n, d in sorted(upload["parts"].items()))
        xml = (f"<ListPartsResult><Bucket>{self.bucket}</Bucket><Key>{escape(key)}</Key>"
               f"<UploadId>{query['uploadId']}</UploadId><NextPartNumberMarker>{len(upload['parts'])}"
               f"</NextPartNumberMarker><MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>{parts}"
               "</ListPartsResult>")
        return Response(xml.encode(), media_type="application/xml")

    async def op_get(self, _request: Request, key: str, _query: dict) -> Response:
        obj = self._object(key)
        return Response(obj["data"], media_type=obj["content_type"], headers=self._object_headers(obj))

    async def op_head(self, _request: Request, key: str, _query: dict) -> Response:
        obj = self._object(key)
        headers = {**self._object_headers(obj), "Content-Type": obj["content_type"],
                   "Content-Length": str(len(obj["data"]))}
        return Response(headers=headers)

    async def op_bucket_info(self, _request: Request, _key: str, _query: dict) -> Response:
        xml = (f"<BucketInfo><Bucket><CreationDate>2026-01-01T00:00:00.000Z</CreationDate>"
               f"<ExtranetEndpoint>oss-cn-hangzhou.aliyuncs.com</ExtranetEndpoint>"
               f"<IntranetEndpoint>oss-cn-hangzhou-internal.aliyuncs.com</IntranetEndpoint>"
               f"<Location>oss-cn-hangzhou</Location><Name>{self.bucket}</Name><StorageClass>Standard</StorageClass>"
               f"<Owner><DisplayName>1234</DisplayName><ID>1234</ID></Owner>"
               f"<AccessControlList><Grant>private</Grant></AccessControlList></Bucket></BucketInfo>")
        return Response(xml.encode(), media_type="application/xml")

    # ------------------------------------------------------------------ helpers

    def _store(self, key: str, data: bytes, content_type: str) -> str:
        etag = md5_etag(data)
        self.objects[key] = {"data": data, "content_type": content_type, "etag": etag}
        return etag

    def _object(self, key: str) -> dict[str, Any]:
        if key not in self.objects:
            raise OssFailure(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return self.objects[key]

    def _upload(self, key: str, query: dict) -> dict[str, Any]:
        upload = self.uploads.get(query.get("uploadId", ""))
        if upload is None or upload["key"] != key:
            raise OssFailure(404, "NoSuchUpload", "The specified upload does not exist.")
        return upload

    @staticmethod
    def _object_headers(obj: dict[str, Any]) -> dict[str, str]:
        return {"ETag": obj["etag"], "x-oss-hash-crc64ecma": crc64(obj["data"]), "x-oss-object-type": "Normal"}

    @property
    def app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        app.add_api_route("/{path:path}", self.handle, methods=["GET", "HEAD", "PUT", "POST"])
        return app


def operation(method: str, key: str, query: dict[str, str]) -> str:
    """Which OSS operation a request is."""
    if method == "GET" and not key and "bucketInfo" in query:
        return "bucket_info"
    if not key:
        raise OssFailure(400, "NotImplemented", "This double serves object operations and GetBucketInfo only.")
    if method == "POST":
        return "init" if "uploads" in query else "complete"
    if method == "PUT":
        return "part" if "uploadId" in query else "put"
    if method == "GET":
        return "list_parts" if "uploadId" in query else "get"
    return "head"


def subresource_string(query: dict[str, str]) -> str:
    signed = sorted((k, v) for k, v in query.items() if k in SUBRESOURCES)
    return ("?" + "&".join(f"{k}={v}" if v else k for k, v in signed)) if signed else ""


def md5_etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest().upper()}"'


def xml_response(root: str, headers: dict[str, str] | None = None, **fields: str) -> Response:
    body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{body}</{root}>'.encode(),
                    media_type="application/xml", headers=headers)


@contextmanager
def serve_oss(**kwargs: str) -> Iterator[OssDouble]:
    """Run an OssDouble; yield it with `base_url` set (use it as the oss2 endpoint). Hangs end on exit."""
    double = OssDouble(**kwargs)
    with serve_double(double, double.app, health_path="/health") as served:
        served.requests = 0  # forget serve_in_thread's start-up probe
        yield served
