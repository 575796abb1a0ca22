"""ADB transport packets, as the device side of the wire sees them.

Why this exists: the virtual phone must be indistinguishable from a real adbd to the
unmodified adb server, so the byte layout here follows AOSP's protocol.txt exactly:
a 24-byte little-endian header (command, arg0, arg1, data length, data checksum,
magic = command ^ 0xffffffff) followed by the payload. Everything that is pure
encoding/decoding (packets, banners, adb's custom RSA public-key format) lives here,
free of I/O, so that it can be checked in isolation and reused by the transport.
"""

from __future__ import annotations

import asyncio
import base64
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

# Commands (four ASCII letters read as a little-endian uint32).
A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453

COMMAND_NAMES: dict[int, str] = {
    A_SYNC: "SYNC",
    A_CNXN: "CNXN",
    A_AUTH: "AUTH",
    A_OPEN: "OPEN",
    A_OKAY: "OKAY",
    A_CLSE: "CLSE",
    A_WRTE: "WRTE",
    A_STLS: "STLS",
}

A_VERSION_MIN = 0x01000000
A_VERSION_SKIP_CHECKSUM = 0x01000001
A_VERSION = 0x01000001

MAX_PAYLOAD_V1 = 4 * 1024
MAX_PAYLOAD = 1024 * 1024

# AUTH packet arg0.
AUTH_TOKEN = 1
AUTH_SIGNATURE = 2
AUTH_RSAPUBLICKEY = 3
TOKEN_SIZE = 20

HEADER = struct.Struct("<6I")
HEADER_SIZE = HEADER.size  # 24

# Android's custom RSA public key ("adbkey.pub"): 2048-bit keys only.
ANDROID_PUBKEY_MODULUS_SIZE = 2048 // 8
ANDROID_PUBKEY_MODULUS_SIZE_WORDS = ANDROID_PUBKEY_MODULUS_SIZE // 4
_PUBKEY = struct.Struct(f"<II{ANDROID_PUBKEY_MODULUS_SIZE}s{ANDROID_PUBKEY_MODULUS_SIZE}sI")
ANDROID_PUBKEY_ENCODED_SIZE = _PUBKEY.size  # 524


class ProtocolError(Exception):
    """The peer sent something that is not an ADB packet; the connection must be dropped."""


@dataclass(frozen=True)
class Packet:
    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.command, f"0x{self.command:08x}")

    def __repr__(self) -> str:  # short, for logs
        return f"Packet({self.name}, {self.arg0}, {self.arg1}, {len(self.data)} bytes)"


def checksum(data: bytes) -> int:
    return sum(data) & 0xFFFFFFFF


def encode(packet: Packet, *, with_checksum: bool = True) -> bytes:
    """Header + payload. Hosts at A_VERSION_SKIP_CHECKSUM and later ignore the checksum."""
    check = checksum(packet.data) if with_checksum else 0
    header = HEADER.pack(
        packet.command,
        packet.arg0 & 0xFFFFFFFF,
        packet.arg1 & 0xFFFFFFFF,
        len(packet.data),
        check,
        packet.command ^ 0xFFFFFFFF,
    )
    return header + packet.data


@dataclass(frozen=True)
class Header:
    command: int
    arg0: int
    arg1: int
    data_length: int
    data_check: int


def decode_header(raw: bytes, *, max_payload: int = MAX_PAYLOAD) -> Header:
    """Validate and unpack a 24-byte header; anything malformed raises ProtocolError."""
    if len(raw) != HEADER_SIZE:
        raise ProtocolError(f"short header ({len(raw)} bytes)")
    command, arg0, arg1, length, check, magic = HEADER.unpack(raw)
    if magic != command ^ 0xFFFFFFFF:
        raise ProtocolError(f"bad magic 0x{magic:08x} for command 0x{command:08x}")
    if command not in COMMAND_NAMES:
        raise ProtocolError(f"unknown command 0x{command:08x}")
    if length > max_payload:
        raise ProtocolError(f"payload of {length} bytes exceeds the limit of {max_payload}")
    return Header(command, arg0, arg1, length, check)


async def read_packet(
    reader: asyncio.StreamReader, *, max_payload: int = MAX_PAYLOAD, verify_checksum: bool = False
) -> Packet:
    """Read one packet; EOF mid-packet raises asyncio.IncompleteReadError."""
    header = decode_header(await reader.readexactly(HEADER_SIZE), max_payload=max_payload)
    data = await reader.readexactly(header.data_length) if header.data_length else b""
    if verify_checksum and checksum(data) != header.data_check:
        raise ProtocolError("payload checksum mismatch")
    return Packet(header.command, header.arg0, header.arg1, data)


# -- banners ---------------------------------------------------------------------------------


def device_banner(props: dict[str, str], features: list[str] | tuple[str, ...]) -> bytes:
    """`device::ro.product.name=x;ro.product.model=y;ro.product.device=z;features=a,b`.

    ';' and '=' are the banner's separators, so they are stripped from values.
    """
    parts = []
    for key in ("ro.product.name", "ro.product.model", "ro.product.device"):
        if key in props:
            value = props[key].replace(";", "").replace("=", "")
            parts.append(f"{key}={value}")
    parts.append("features=" + ",".join(features))
    return ("device::" + ";".join(parts)).encode()


# -- adb's RSA public key format and AUTH signatures -------------------------------------------


def decode_adb_pubkey(text: bytes | str) -> rsa.RSAPublicKey:
    """Parse one line of adbkey.pub: base64(struct RSAPublicKey) optionally followed by ` user@host`.

    Raises ValueError when it is not such a key.
    """
    if isinstance(text, str):
        text = text.encode()
    token = text.strip().rstrip(b"\0").split(None, 1)
    if not token:
        raise ValueError("empty adb public key")
    try:
        raw = base64.b64decode(token[0], validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"adb public key is not base64: {exc}") from exc
    if len(raw) != ANDROID_PUBKEY_ENCODED_SIZE:
        raise ValueError(f"adb public key has {len(raw)} bytes, expected {ANDROID_PUBKEY_ENCODED_SIZE}")
    words, _n0inv, modulus_le, _rr, exponent = _PUBKEY.unpack(raw)
    if words != ANDROID_PUBKEY_MODULUS_SIZE_WORDS:
        raise ValueError(f"adb public key modulus has {words} words, expected 64")
    n = int.from_bytes(modulus_le, "little")
    if exponent < 3 or n.bit_length() < 2040:
        raise ValueError("adb public key has an implausible modulus or exponent")
    return rsa.RSAPublicNumbers(exponent, n).public_key()


def encode_adb_pubkey(key: rsa.RSAPublicKey, comment: str = "phonefarm@virtual") -> bytes:
    """The adbkey.pub form of a 2048-bit RSA public key (inverse of decode_adb_pubkey)."""
    numbers = key.public_numbers()
    n, e = numbers.n, numbers.e
    if n.bit_length() > 2048:
        raise ValueError("adb keys are 2048-bit RSA")
    r32 = 1 << 32
    n0inv = (-pow(n % r32, -1, r32)) % r32
    rr = pow(1 << 2048, 2, n)
    raw = _PUBKEY.pack(
        ANDROID_PUBKEY_MODULUS_SIZE_WORDS,
        n0inv,
        n.to_bytes(ANDROID_PUBKEY_MODULUS_SIZE, "little"),
        rr.to_bytes(ANDROID_PUBKEY_MODULUS_SIZE, "little"),
        e,
    )
    return base64.b64encode(raw) + b" " + comment.encode()


def same_key(a: rsa.RSAPublicKey, b: rsa.RSAPublicKey) -> bool:
    return a.public_numbers() == b.public_numbers()


def verify_auth_signature(key: rsa.RSAPublicKey, token: bytes, signature: bytes) -> bool:
    """adbd checks `RSA_verify(NID_sha1, token, ...)`: the 20-byte token is used as the SHA-1
    digest itself (no hashing), wrapped in the SHA-1 DigestInfo, PKCS#1 v1.5 padded."""
    if len(token) != TOKEN_SIZE:
        return False
    try:
        key.verify(signature, token, padding.PKCS1v15(), Prehashed(hashes.SHA1()))  # noqa: S303
    except (InvalidSignature, ValueError):
        return False
    return True
