"""IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051): the wire layer.

This package holds the response framer and parser, the typed responses and
the command encoder (issue 5), and the client (issue 6): the sans-I/O
``Connection``, the blocking ``Client`` and the asyncio ``AsyncClient``.

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

import importlib

# Not typing's TYPE_CHECKING: importing typing costs more than this lazy
# package should (performance.md W6); mypy treats the name the same.
TYPE_CHECKING = False
if TYPE_CHECKING:  # the names below, for type checkers; loaded on first use
    from typing import Any

    from mailwire._flow import NEED_DATA
    from mailwire.imap import search

    # The client (issue 6).
    from mailwire.imap._append import AppendPart, RecordedCommand, StreamedAppend
    from mailwire.imap._flows import Done
    from mailwire.imap._flows_mailbox import Opened
    from mailwire.imap._flows_message import Appended, FetchResult
    from mailwire.imap._frames import (
        Frame,
        FrameReader,
        StreamedLiteral,
    )
    from mailwire.imap._parser import (
        parse_response,
    )
    from mailwire.imap._reader import (
        ResponseReader,
        parse_responses,
    )
    from mailwire.imap._replay import ReplayStep, replay
    from mailwire.imap._seqset import (
        SequenceSet,
    )
    from mailwire.imap._session import Alert, Capabilities, SelectedMailbox
    from mailwire.imap._sinks import FileSink, file_sinks
    from mailwire.imap._state import State
    from mailwire.imap._utf7 import (
        decode_mailbox_name,
        encode_mailbox_name,
    )
    from mailwire.imap._writer import (
        Encoded,
        EncodeOptions,
        Segment,
    )
    from mailwire.imap.aio import AsyncClient, AsyncIdleSession
    from mailwire.imap.client import Client, IdleSession
    from mailwire.imap.commands import (
        Append,
        Authenticate,
        Capability,
        Check,
        Close,
        Command,
        Compress,
        Copy,
        Create,
        Delete,
        DeleteAcl,
        Enable,
        Examine,
        Expunge,
        Fetch,
        GetAcl,
        GetMetadata,
        GetQuota,
        GetQuotaRoot,
        Id,
        Idle,
        List,
        ListRights,
        Login,
        Logout,
        Lsub,
        Move,
        MyRights,
        Namespace,
        Noop,
        Notify,
        NotifyGroup,
        QResync,
        Rename,
        Search,
        Select,
        SetAcl,
        SetMetadata,
        SetQuota,
        Sort,
        StartTLS,
        Status,
        Store,
        StoreAnnotation,
        Subscribe,
        Thread,
        Unselect,
        Unsubscribe,
        annotation_item,
        body_section,
        partial_range,
    )
    from mailwire.imap.connection import Connection, ConnectionClosed, Event
    from mailwire.imap.events import (
        AclData,
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
        ListRightsData,
        MetadataData,
        MyRightsData,
        NamespaceData,
        NamespaceInfo,
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
    from mailwire.imap.structures import (
        Address,
        BodyStructure,
        Envelope,
    )

# Importing the package is cheap: each name is imported from its module the
# first time it is used (PEP 562), so a program pays for the parser, the
# encoder or the search builder only when it uses them.
_WHERE: dict[str, str] = {
    "NEED_DATA": "mailwire._flow",
    "Frame": "mailwire.imap._frames",
    "FrameReader": "mailwire.imap._frames",
    "StreamedLiteral": "mailwire.imap._frames",
    "parse_response": "mailwire.imap._parser",
    "ResponseReader": "mailwire.imap._reader",
    "parse_responses": "mailwire.imap._reader",
    "SequenceSet": "mailwire.imap._seqset",
    "decode_mailbox_name": "mailwire.imap._utf7",
    "encode_mailbox_name": "mailwire.imap._utf7",
    "Encoded": "mailwire.imap._writer",
    "EncodeOptions": "mailwire.imap._writer",
    "Segment": "mailwire.imap._writer",
    "Append": "mailwire.imap.commands",
    "Authenticate": "mailwire.imap.commands",
    "Capability": "mailwire.imap.commands",
    "Check": "mailwire.imap.commands",
    "Close": "mailwire.imap.commands",
    "Command": "mailwire.imap.commands",
    "Compress": "mailwire.imap.commands",
    "Copy": "mailwire.imap.commands",
    "Create": "mailwire.imap.commands",
    "Delete": "mailwire.imap.commands",
    "Enable": "mailwire.imap.commands",
    "Examine": "mailwire.imap.commands",
    "Expunge": "mailwire.imap.commands",
    "Fetch": "mailwire.imap.commands",
    "GetMetadata": "mailwire.imap.commands",
    "GetQuota": "mailwire.imap.commands",
    "GetQuotaRoot": "mailwire.imap.commands",
    "Id": "mailwire.imap.commands",
    "Idle": "mailwire.imap.commands",
    "List": "mailwire.imap.commands",
    "Login": "mailwire.imap.commands",
    "Logout": "mailwire.imap.commands",
    "Lsub": "mailwire.imap.commands",
    "Move": "mailwire.imap.commands",
    "Namespace": "mailwire.imap.commands",
    "Noop": "mailwire.imap.commands",
    "QResync": "mailwire.imap.commands",
    "Rename": "mailwire.imap.commands",
    "Search": "mailwire.imap.commands",
    "Select": "mailwire.imap.commands",
    "SetMetadata": "mailwire.imap.commands",
    "SetQuota": "mailwire.imap.commands",
    "Sort": "mailwire.imap.commands",
    "StartTLS": "mailwire.imap.commands",
    "Status": "mailwire.imap.commands",
    "Store": "mailwire.imap.commands",
    "Subscribe": "mailwire.imap.commands",
    "Thread": "mailwire.imap.commands",
    "Unselect": "mailwire.imap.commands",
    "Unsubscribe": "mailwire.imap.commands",
    "body_section": "mailwire.imap.commands",
    "DeleteAcl": "mailwire.imap.commands",
    "GetAcl": "mailwire.imap.commands",
    "ListRights": "mailwire.imap.commands",
    "MyRights": "mailwire.imap.commands",
    "Notify": "mailwire.imap.commands",
    "NotifyGroup": "mailwire.imap.commands",
    "SetAcl": "mailwire.imap.commands",
    "StoreAnnotation": "mailwire.imap.commands",
    "annotation_item": "mailwire.imap.commands",
    "partial_range": "mailwire.imap.commands",
    "AppendUid": "mailwire.imap.events",
    "CapabilityData": "mailwire.imap.events",
    "Continuation": "mailwire.imap.events",
    "CopyUid": "mailwire.imap.events",
    "Defect": "mailwire.imap.events",
    "Enabled": "mailwire.imap.events",
    "ESearchData": "mailwire.imap.events",
    "Exists": "mailwire.imap.events",
    "ExpungeData": "mailwire.imap.events",
    "FetchData": "mailwire.imap.events",
    "Flags": "mailwire.imap.events",
    "IdData": "mailwire.imap.events",
    "ListData": "mailwire.imap.events",
    "MetadataData": "mailwire.imap.events",
    "NamespaceData": "mailwire.imap.events",
    "NamespaceInfo": "mailwire.imap.events",
    "Quota": "mailwire.imap.events",
    "QuotaResource": "mailwire.imap.events",
    "QuotaRoot": "mailwire.imap.events",
    "Recent": "mailwire.imap.events",
    "Response": "mailwire.imap.events",
    "ResponseCode": "mailwire.imap.events",
    "SearchData": "mailwire.imap.events",
    "SortData": "mailwire.imap.events",
    "StatusData": "mailwire.imap.events",
    "StatusResponse": "mailwire.imap.events",
    "Tagged": "mailwire.imap.events",
    "ThreadData": "mailwire.imap.events",
    "UntaggedData": "mailwire.imap.events",
    "Vanished": "mailwire.imap.events",
    "AclData": "mailwire.imap.events",
    "ListRightsData": "mailwire.imap.events",
    "MyRightsData": "mailwire.imap.events",
    "Address": "mailwire.imap.structures",
    "BodyStructure": "mailwire.imap.structures",
    "Envelope": "mailwire.imap.structures",
    # The client (issue 6).
    "Client": "mailwire.imap.client",
    "IdleSession": "mailwire.imap.client",
    "AsyncClient": "mailwire.imap.aio",
    "AsyncIdleSession": "mailwire.imap.aio",
    "Connection": "mailwire.imap.connection",
    "ConnectionClosed": "mailwire.imap.connection",
    "Event": "mailwire.imap.connection",
    "State": "mailwire.imap._state",
    "Capabilities": "mailwire.imap._session",
    "SelectedMailbox": "mailwire.imap._session",
    "Alert": "mailwire.imap._session",
    "FileSink": "mailwire.imap._sinks",
    "file_sinks": "mailwire.imap._sinks",
    "AppendPart": "mailwire.imap._append",
    "StreamedAppend": "mailwire.imap._append",
    "RecordedCommand": "mailwire.imap._append",
    "replay": "mailwire.imap._replay",
    "ReplayStep": "mailwire.imap._replay",
    "FetchResult": "mailwire.imap._flows_message",
    "Appended": "mailwire.imap._flows_message",
    "Done": "mailwire.imap._flows",
    "Opened": "mailwire.imap._flows_mailbox",
}


def __getattr__(name: str) -> Any:
    if name == "search":
        value: Any = importlib.import_module("mailwire.imap.search")
    else:
        where = _WHERE.get(name)
        if where is None:
            raise AttributeError(f"module 'mailwire.imap' has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


#: IDLE ends with this line (RFC 2177 §3); it carries no tag.
DONE = b"DONE\r\n"

__all__ = [
    "DONE",
    "NEED_DATA",
    "AclData",
    "Address",
    "Alert",
    "Append",
    "AppendPart",
    "AppendUid",
    "Appended",
    "AsyncClient",
    "AsyncIdleSession",
    "Authenticate",
    "BodyStructure",
    "Capabilities",
    "Capability",
    "CapabilityData",
    "Check",
    "Client",
    "Close",
    "Command",
    "Compress",
    "Connection",
    "ConnectionClosed",
    "Continuation",
    "Copy",
    "CopyUid",
    "Create",
    "Defect",
    "Delete",
    "DeleteAcl",
    "Done",
    "ESearchData",
    "Enable",
    "Enabled",
    "EncodeOptions",
    "Encoded",
    "Envelope",
    "Event",
    "Examine",
    "Exists",
    "Expunge",
    "ExpungeData",
    "Fetch",
    "FetchData",
    "FetchResult",
    "FileSink",
    "Flags",
    "Frame",
    "FrameReader",
    "GetAcl",
    "GetMetadata",
    "GetQuota",
    "GetQuotaRoot",
    "Id",
    "IdData",
    "Idle",
    "IdleSession",
    "List",
    "ListData",
    "ListRights",
    "ListRightsData",
    "Login",
    "Logout",
    "Lsub",
    "MetadataData",
    "Move",
    "MyRights",
    "MyRightsData",
    "Namespace",
    "NamespaceData",
    "NamespaceInfo",
    "Noop",
    "Notify",
    "NotifyGroup",
    "Opened",
    "QResync",
    "Quota",
    "QuotaResource",
    "QuotaRoot",
    "Recent",
    "RecordedCommand",
    "Rename",
    "ReplayStep",
    "Response",
    "ResponseCode",
    "ResponseReader",
    "Search",
    "SearchData",
    "Segment",
    "Select",
    "SelectedMailbox",
    "SequenceSet",
    "SetAcl",
    "SetMetadata",
    "SetQuota",
    "Sort",
    "SortData",
    "StartTLS",
    "State",
    "Status",
    "StatusData",
    "StatusResponse",
    "Store",
    "StoreAnnotation",
    "StreamedAppend",
    "StreamedLiteral",
    "Subscribe",
    "Tagged",
    "Thread",
    "ThreadData",
    "Unselect",
    "Unsubscribe",
    "UntaggedData",
    "Vanished",
    "annotation_item",
    "body_section",
    "decode_mailbox_name",
    "encode_mailbox_name",
    "file_sinks",
    "parse_response",
    "parse_responses",
    "partial_range",
    "replay",
    "search",
]
