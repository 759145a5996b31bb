"""IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051): the wire layer.

Work in progress: this package holds the response framer and parser, the
typed responses, and the command encoder (issue 5); the connection, flows and
clients come with issue 6.

Extensions understood by the parser: LITERAL+/LITERAL- (RFC 7888), BINARY
(RFC 3516), UIDPLUS (RFC 4315), CONDSTORE/QRESYNC (RFC 7162), ENABLE (RFC
5161), ID (RFC 2971), NAMESPACE (RFC 2342), LIST-EXTENDED (RFC 5258),
LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154), ESEARCH (RFC 4731), SORT and
THREAD (RFC 5256), QUOTA (RFC 9208), METADATA (RFC 5464), OBJECTID (RFC
8474), SAVEDATE (RFC 8514), PREVIEW (RFC 8970), STATUS=SIZE (RFC 8438),
APPENDLIMIT (RFC 7889), PARTIAL (RFC 9394), the response codes of RFC 5530,
and Gmail's X-GM-EXT-1.
"""

from __future__ import annotations

from mailwire._flow import NEED_DATA
from mailwire.imap._frames import Frame, FrameReader, StreamedLiteral
from mailwire.imap._parser import parse_response
from mailwire.imap._reader import ResponseReader, parse_responses
from mailwire.imap._seqset import SequenceSet
from mailwire.imap._utf7 import decode_mailbox_name, encode_mailbox_name
from mailwire.imap.events import (
    AppendUid,
    CapabilityData,
    Continuation,
    CopyUid,
    Defect,
    Enabled,
    ESearchData,
    Exists,
    ExpungeData,
    FetchData,
    Flags,
    IdData,
    ListData,
    MetadataData,
    Namespace,
    NamespaceData,
    Quota,
    QuotaResource,
    QuotaRoot,
    Recent,
    Response,
    ResponseCode,
    SearchData,
    SortData,
    StatusData,
    StatusResponse,
    Tagged,
    ThreadData,
    UntaggedData,
    Vanished,
)
from mailwire.imap.structures import Address, BodyStructure, Envelope

__all__ = [
    "NEED_DATA",
    "Address",
    "AppendUid",
    "BodyStructure",
    "CapabilityData",
    "Continuation",
    "CopyUid",
    "Defect",
    "ESearchData",
    "Enabled",
    "Envelope",
    "Exists",
    "ExpungeData",
    "FetchData",
    "Flags",
    "Frame",
    "FrameReader",
    "IdData",
    "ListData",
    "MetadataData",
    "Namespace",
    "NamespaceData",
    "Quota",
    "QuotaResource",
    "QuotaRoot",
    "Recent",
    "Response",
    "ResponseCode",
    "ResponseReader",
    "SearchData",
    "SequenceSet",
    "SortData",
    "StatusData",
    "StatusResponse",
    "StreamedLiteral",
    "Tagged",
    "ThreadData",
    "UntaggedData",
    "Vanished",
    "decode_mailbox_name",
    "encode_mailbox_name",
    "parse_response",
    "parse_responses",
]
