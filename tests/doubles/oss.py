"""An Aliyun OSS double: path-style object API that checks V4 and V1 signatures (header and presigned URL).

oss2 addresses an IP endpoint path-style (`http://127.0.0.1:<port>/<bucket>/<key>`; see oss2/api.py
`_determine_endpoint_type`), so that is what this double serves. Rules, each with its source:

* **V4** (`OSS4-HMAC-SHA256`) — oss2/auth.py `ProviderAuthV4` and
  https://www.alibabacloud.com/help/en/oss/developer-reference/recommend-to-use-signature-version-4 :
  header `Authorization: OSS4-HMAC-SHA256 Credential=<id>/<yyyymmdd>/<region>/oss/aliyun_v4_request,
  [AdditionalHeaders=a;b,] Signature=<hex>` with `x-oss-date` (ISO 8601 basic, within 15 minutes) and
  `x-oss-content-sha256`; or a presigned URL with `x-oss-signature-version`, `x-oss-credential`, `x-oss-date`,
  `x-oss-expires` (≤ 604800 s, i.e. 7 days) and `x-oss-signature`. Canonical request = method, URI-encoded
  `/<bucket>/<key>` (slashes kept), every query parameter URI-encoded and sorted, the `x-oss-*`, `content-type`,
  `content-md5` and additional headers (lower-case, sorted), the additional header names, the payload hash;
  string to sign = `OSS4-HMAC-SHA256`, the date-time, the scope, the canonical request's SHA-256; key = HMAC-SHA256
  chain of `aliyun_v4<secret>` over date, region, `oss`, `aliyun_v4_request`. The scope's region must be the
  bucket's (`region`).
* **V1** (`OSS <id>:<HMAC-SHA1>`, or `OSSAccessKeyId`/`Expires`/`Signature` query) — oss2/auth.py `ProviderAuth`:
  `VERB\nContent-MD5\nContent-Type\nDate\n` + canonical `x-oss-*` headers + `/<bucket>/<key>[?subresources]`.
  Alibaba retires V1: not for new accounts from 2025-03-01, not for new buckets from 2025-09-01 (OSS
  announcement "Stop supporting signature V1"); `accept_v1=False` plays such a bucket and refuses every V1
  request with 403 AccessDenied (the wording of that refusal is ours, not confirmed).
* Errors are OSS's XML error (`SignatureDoesNotMatch`, `AccessDenied`, `InvalidAccessKeyId`,
  `RequestTimeTooSkewed`, …) — oss2/exceptions.py and the OSS error-code pages.

Operations: PutObject, InitiateMultipartUpload (?uploads), UploadPart (?partNumber&uploadId),
CompleteMultipartUpload (?uploadId), ListParts (GET ?uploadId), GetObject, HeadObject, GetBucketInfo
(?bucketInfo). `signatures` lists the version of every request that passed ("v4"/"v1"). Scriptable:
`http_errors[op]` (statuses answered first), `hang` (ops that never answer until released).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
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
V4 = "OSS4-HMAC-SHA256"
V4_MAX_EXPIRES_S = 7 * 24 * 3600
V4_SIGNED_HEADERS = ("content-type", "content-md5")


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


def v4_encode(text: str, *, keep_slash: bool) -> str:
    """V4's URI encoding: unreserved characters as they are, every other UTF-8 byte as %XX."""
    return quote(text, safe="/" if keep_slash else "")


def v4_canonical_request(method: str, uri: str, query: dict[str, str], headers: dict[str, str],
                         additional: list[str]) -> str:
    params = sorted((v4_encode(k, keep_slash=False), v4_encode(v, keep_slash=False)) for k, v in query.items())
    signed = sorted((k, v.strip()) for k, v in headers.items()
                    if k.startswith("x-oss-") or k in V4_SIGNED_HEADERS or k in additional)
    return "\n".join([method, v4_encode(uri, keep_slash=True), "&".join(f"{k}={v}" if v else k for k, v in params),
                      "".join(f"{k}:{v}\n" for k, v in signed), ";".join(sorted(additional)),
                      headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")])


def v4_signature(secret: str, stamp: str, region: str, canonical_request: str) -> tuple[str, str]:
    """(signature, string to sign) of a canonical request signed at `stamp` (yyyymmddThhmmssZ) in `region`."""
    scope = f"{stamp[:8]}/{region}/oss/aliyun_v4_request"
    text = f"{V4}\n{stamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    key = f"aliyun_v4{secret}".encode()
    for part in (stamp[:8], region, "oss", "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest(), text


def crc64(data: bytes) -> str:
    crc = Crc64()
    crc.update(data)
    return str(crc.crc)


class OssDouble(RecordedCalls):
    """`calls` lists the operations that passed the signature check; `requests` counts every request."""

    def __init__(self, bucket: str = "story-media", key_id: str = "LTAI5tTestKeyId", secret: str = "test-secret",
                 *, region: str = "cn-hangzhou", accept_v1: bool = True):
        super().__init__()
        self.bucket, self.key_id, self.secret = bucket, key_id, secret
        self.region, self.accept_v1 = region, accept_v1
        self.signatures: list[str] = []
        self.clock_offset_s = 0.0  # how far the server's clock is ahead (expires presigned URLs early)
        self.objects: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.part_calls: list[int] = []

    # ------------------------------------------------------------------ auth

    def verify(self, request: Request, bucket: str, key: str, query: dict[str, str]) -> None:
        """Raise OssFailure unless the request carries a valid V4 signature, or a V1 one the bucket accepts."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("authorization", "").startswith(f"{V4} ") or query.get("x-oss-signature-version") == V4:
            self.verify_v4(request.method, headers, bucket, key, query)
            self.signatures.append("v4")
            return
        if not self.accept_v1 and ("Signature" in query or headers.get("authorization", "").startswith("OSS ")):
            raise OssFailure(403, "AccessDenied", "This bucket does not accept signature version 1; sign the request "
                             "with OSS4-HMAC-SHA256 (signature version 4).")
        self.verify_v1(request, headers, bucket, key, query)
        self.signatures.append("v1")

    def verify_v4(self, method: str, headers: dict[str, str], bucket: str, key: str, query: dict[str, str]) -> None:
        if "x-oss-signature" in query:  # a presigned URL
            credential, provided = query.get("x-oss-credential", ""), query["x-oss-signature"]
            stamp, expires = query.get("x-oss-date", ""), query.get("x-oss-expires", "")
            additional = [h for h in query.get("x-oss-additional-headers", "").split(";") if h]
            if not expires.isdigit() or int(expires) > V4_MAX_EXPIRES_S:
                raise OssFailure(400, "InvalidArgument", "x-oss-expires must be 1 to 604800 seconds.",
                                 ArgumentName="x-oss-expires", ArgumentValue=expires)
            if self._v4_time(stamp) + int(expires) < time.time() + self.clock_offset_s:
                raise OssFailure(403, "AccessDenied", "Request has expired.", ServerTime=time.strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))
            signed_query = {k: v for k, v in query.items() if k != "x-oss-signature"}
        else:
            pairs = headers["authorization"][len(V4) + 1:].split(",")
            fields = dict(part.strip().partition("=")[::2] for part in pairs)
            credential, provided = fields.get("Credential", ""), fields.get("Signature", "")
            additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
            stamp = headers.get("x-oss-date", "")
            if abs(self._v4_time(stamp) - time.time()) > MAX_SKEW_S:
                raise OssFailure(403, "RequestTimeTooSkewed", "The difference between the request time and the "
                                 "current time is too large.")
            signed_query = query
        parts = credential.split("/")
        if len(parts) != 5 or parts[3:] != ["oss", "aliyun_v4_request"] or parts[1] != stamp[:8]:
            raise OssFailure(403, "AccessDenied", f"Invalid credential {credential!r} in the V4 signature.")
        if parts[0] != self.key_id:
            raise OssFailure(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our "
                             "records.", OSSAccessKeyId=parts[0])
        if parts[2] != self.region:
            raise OssFailure(403, "AccessDenied", f"Invalid signing region {parts[2]!r}: the bucket is in "
                             f"{self.region!r}.")
        canonical = v4_canonical_request(method, f"/{bucket}/{key}", signed_query, headers, additional)
        expected, text = v4_signature(self.secret, stamp, self.region, canonical)
        if not hmac.compare_digest(expected, provided):
            raise OssFailure(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                             "signature you provided. Check your key and signing method.", OSSAccessKeyId=parts[0],
                             SignatureProvided=provided, StringToSign=text, CanonicalRequest=canonical)

    @staticmethod
    def _v4_time(stamp: str) -> float:
        try:
            return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise OssFailure(403, "AccessDenied", "x-oss-date is missing or malformed") from None

    def verify_v1(self, request: Request, headers: dict[str, str], bucket: str, key: str,
                  query: dict[str, str]) -> None:
        resource = f"/{bucket}/{key}" + subresource_string(query)
        if "Signature" in query:
            key_id, provided, date = query.get("OSSAccessKeyId", ""), query["Signature"], query.get("Expires", "")
            if not date.isdigit():
                raise OssFailure(403, "AccessDenied", "Expires must be a number of seconds")
            if int(date) < time.time() + self.clock_offset_s:
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
                  "HostId": f"{self.bucket}.oss-{self.region}.aliyuncs.com", **exc.extra}
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
               f"<ExtranetEndpoint>oss-{self.region}.aliyuncs.com</ExtranetEndpoint>"
               f"<IntranetEndpoint>oss-{self.region}-internal.aliyuncs.com</IntranetEndpoint>"
               f"<Location>oss-{self.region}</Location><Name>{self.bucket}</Name><StorageClass>Standard</StorageClass>"
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
def serve_oss(**kwargs: Any) -> Iterator[OssDouble]:
    """Run an OssDouble; yield it with `base_url` set (use it as the oss2 endpoint). Hangs end on exit."""
    double = OssDouble(**kwargs)
    with serve_double(double, double.app, health_path="/health") as served:
        served.requests = 0  # forget serve_in_thread's start-up probe
        yield served
