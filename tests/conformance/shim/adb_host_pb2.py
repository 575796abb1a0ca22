"""The two messages of AOSP adb's proto/adb_host.proto that test_device.py reads (Device, Devices).

Why hand-built: test_device.py imports `adb_host_pb2` (protoc output) and no protoc is
available here; a descriptor built with descriptor_pb2 gives the same wire format for the
fields used (`adb track-devices --proto-binary`). Field numbers and types follow the .proto.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto


def _file() -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(name="adb_host_shim.proto", package="adb.proto", syntax="proto3")
    for name, values in (
        (
            "ConnectionState",
            "ANY CONNECTING AUTHORIZING UNAUTHORIZED NOPERMISSION DETACHED OFFLINE BOOTLOADER DEVICE HOST "
            "RECOVERY SIDELOAD RESCUE",
        ),
        ("ConnectionType", "UNKNOWN USB SOCKET"),
    ):
        enum = fd.enum_type.add(name=name)
        for i, value in enumerate(values.split()):
            enum.value.add(name=value, number=i)
    device = fd.message_type.add(name="Device")
    fields = [
        ("serial", _F.TYPE_STRING, None),
        ("state", _F.TYPE_ENUM, ".adb.proto.ConnectionState"),
        ("bus_address", _F.TYPE_STRING, None),
        ("product", _F.TYPE_STRING, None),
        ("model", _F.TYPE_STRING, None),
        ("device", _F.TYPE_STRING, None),
        ("connection_type", _F.TYPE_ENUM, ".adb.proto.ConnectionType"),
        ("negotiated_speed", _F.TYPE_INT64, None),
        ("max_speed", _F.TYPE_INT64, None),
        ("transport_id", _F.TYPE_INT64, None),
    ]
    for number, (name, ftype, type_name) in enumerate(fields, start=1):
        field = device.field.add(name=name, number=number, type=ftype, label=_F.LABEL_OPTIONAL)
        if type_name:
            field.type_name = type_name
    devices = fd.message_type.add(name="Devices")
    devices.field.add(
        name="device", number=1, type=_F.TYPE_MESSAGE, label=_F.LABEL_REPEATED, type_name=".adb.proto.Device"
    )
    return fd


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_file())
Device = message_factory.GetMessageClass(_pool.FindMessageTypeByName("adb.proto.Device"))
Devices = message_factory.GetMessageClass(_pool.FindMessageTypeByName("adb.proto.Devices"))
